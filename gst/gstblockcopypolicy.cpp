/**
 * SECTION:element-blockcopypolicy
 * @title: blockcopypolicy
 * @see_also: cbinferconv, sparseinferoverlay
 *
 * Runs a convolutional network (an ONNX file) on a grid of blocks over each
 * frame and computes only the blocks a gate picks (BlockCopy, Verelst &
 * Tuytelaars 2021, §3.1). Every layer computes the executed blocks only,
 * reading the halo from its neighbours' stored features; the other blocks
 * keep the features of their last execution. The first frame of a stream
 * executes every block.
 *
 * The model's description (MODEL.onnx.json beside it, or its metadata_props)
 * gives the preprocessing and the decoder, as for cbinferconv; the mean and
 * std properties override the description's when they are set. Without a
 * description, the properties alone apply.
 *
 * The gate "change" executes a block when its pixels moved: the largest
 * difference over the block between the frame and the input the block was
 * last executed on exceeds "threshold" (on the normalized input scale). The
 * last executed input only changes where blocks execute, so slow drifts add
 * up until they fire.
 *
 * The gate "policy" is BlockCopy's learned policy (§3.2-3.5): a small network
 * on S_t (the frame, the frame state the blocks last ran on, the previous
 * decoded output and the previous decisions, §3.3) picks the blocks, and is trained online (REINFORCE, RMSprop) with
 * the information gain of the new output over the previous one as reward and a cost reward that steers the executed
 * fraction towards "cost-target" (τ, which may move while playing). "learning-rate", "update-interval" and "train" set
 * the training; with "policy-file", the policy starts from that file when it exists and is written there at stop, so a
 * camera keeps what it learned. It needs a model description with a detection or segmentation decoder.
 *
 * Results ride on the buffer as #GstSparseinferTensorMeta (the output
 * tensors; a detector's decoded boxes as the tensor "detections" [N, 6] of
 * x1, y1, x2, y2 in frame pixels, confidence and class id; a segmentation's
 * class map as "class_map" [1, h, w]), as #GstVideoRegionOfInterestMeta (one
 * per detection, named after its class, with a "detection" parameter), and
 * as #GstSparseinferStreamMeta, whose mask is the executed grid
 * (one value per block, 1 = executed): sparseinferoverlay change-mask=true
 * draws it. With emit-stats, each frame posts an element message
 * "sparseinfer-block-stats" with executed-fraction, mac-fraction, gate-ms,
 * process-ms and dense-frame; with gate=policy also policy-ms (forward,
 * information gain, backward and update), information-gain (mean over the
 * blocks), reward (the last update's mean), cost and running-cost.
 *
 * With latency-budget (milliseconds, gate=change) each frame's processing
 * time moves a factor on the threshold so that about 95% of frames fit the
 * budget (docs/latency-budget.md); emit-stats then adds the threshold each
 * frame ran with. It may change while playing; 0 turns it off.
 *
 * The stream state is reset, and the next frame executes every block, on a
 * new stream-id, a FLUSH_STOP and new caps.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=/usr/share/doc/opencv-doc/examples/data/vtest.avi ! decodebin ! \
 *     videoconvert ! video/x-raw,format=RGB ! \
 *     blockcopypolicy model=ssdlite_mbv2_pedestrian_dyn.onnx block-size=32 threshold=0.2 \
 *       mean="<0.5,0.5,0.5>" std="<0.5,0.5,0.5>" emit-stats=true ! \
 *     sparseinferoverlay change-mask=true ! videoconvert ! autovideosink
 * ]| Runs the SSDLite pedestrian detector on the executed 32-pixel blocks of a surveillance clip and draws
 * the executed grid.
 * |[
 * gst-launch-1.0 -m filesrc location=/usr/share/doc/opencv-doc/examples/data/vtest.avi ! decodebin ! \
 *     videoconvert ! video/x-raw,format=RGB ! \
 *     blockcopypolicy model=ssdlite_mbv2_pedestrian_300.onnx block-size=32 gate=policy cost-target=0.3 \
 *       policy-file=pedestrian.policy emit-stats=true ! \
 *     sparseinferoverlay ! videoconvert ! autovideosink
 * ]| Lets the learned policy pick the blocks, aiming at 30% of them, trains it online, draws the pedestrians
 * it finds, and keeps the policy in pedestrian.policy for the next run.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "blockcopy_driver.h"
#include "element_support.h"
#include "gstblockcopypolicy.h"
#include "gstsparseinferelements.h"
#include "sparseinfer-meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_block_copy_policy_debug);
#define GST_CAT_DEFAULT gst_block_copy_policy_debug

namespace si = sparseinfer;
namespace sg = sparseinfer::gst;

#define DEFAULT_BLOCK_SIZE 32
#define MAX_BLOCK_SIZE 1024
#define DEFAULT_GATE GST_BLOCK_COPY_POLICY_GATE_CHANGE
#define DEFAULT_THRESHOLD 0.1f
#define MAX_THRESHOLD 1000.0f
#define DEFAULT_THREADS 0
#define MAX_THREADS 1024
#define DEFAULT_INPUT_SIZE 0
#define MAX_INPUT_SIZE 16384
#define DEFAULT_EMIT_STATS FALSE
#define DEFAULT_COST_TARGET 0.3
#define DEFAULT_LEARNING_RATE 1e-4
#define DEFAULT_UPDATE_INTERVAL 4
#define MAX_UPDATE_INTERVAL 1000000
#define DEFAULT_TRAIN TRUE
#define DEFAULT_LATENCY_BUDGET 0.0
#define MAX_LATENCY_BUDGET 60000.0
static const gdouble DEFAULT_MEAN[3] = {0.0, 0.0, 0.0};  // on values in [0, 1]
static const gdouble DEFAULT_STD[3] = {1.0, 1.0, 1.0};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_BLOCK_SIZE,
  PROP_GATE,
  PROP_THRESHOLD,
  PROP_THREADS,
  PROP_INPUT_WIDTH,
  PROP_INPUT_HEIGHT,
  PROP_MEAN,
  PROP_STD,
  PROP_EMIT_STATS,
  PROP_COST_TARGET,
  PROP_LEARNING_RATE,
  PROP_UPDATE_INTERVAL,
  PROP_TRAIN,
  PROP_POLICY_FILE,
  PROP_LATENCY_BUDGET,
};

struct _GstBlockCopyPolicy {
  GstSparseinferElement parent;

  /* Under the object lock. */
  sg::BlockCopySettings settings;

  /* Streaming thread. */
  sg::BlockCopyDriver *driver;
};

#define gst_block_copy_policy_parent_class parent_class
G_DEFINE_TYPE(GstBlockCopyPolicy, gst_block_copy_policy, GST_TYPE_SPARSEINFER_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(blockcopypolicy, "blockcopypolicy", GST_RANK_NONE, GST_TYPE_BLOCK_COPY_POLICY);

static GType gst_block_copy_policy_gate_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_BLOCK_COPY_POLICY_GATE_CHANGE, "Execute the blocks whose input changed beyond the threshold", "change"},
      {GST_BLOCK_COPY_POLICY_GATE_POLICY,
       "The learned policy (BlockCopy 3.2-3.5), trained online on the information gain of the decoded output; "
       "needs a model description with a decoder",
       "policy"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstBlockCopyPolicyGate", values));
  return type;
}

static void gst_block_copy_policy_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_block_copy_policy_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_block_copy_policy_finalize(GObject *object);
static gboolean gst_block_copy_policy_open(GstSparseinferElement *element);
static void gst_block_copy_policy_close(GstSparseinferElement *element);
static gboolean gst_block_copy_policy_configure(GstSparseinferElement *element, const GstVideoInfo *info);
static void gst_block_copy_policy_reset(GstSparseinferElement *element);
static GstFlowReturn gst_block_copy_policy_process(GstSparseinferElement *element, GstBuffer *buf, guint64 frame_index);

static void gst_block_copy_policy_class_init(GstBlockCopyPolicyClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstSparseinferElementClass *base_class = GST_SPARSEINFER_ELEMENT_CLASS(klass);
  const auto ready = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto playing = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  gobject_class->set_property = gst_block_copy_policy_set_property;
  gobject_class->get_property = gst_block_copy_policy_get_property;
  gobject_class->finalize = gst_block_copy_policy_finalize;

  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model", "ONNX file of the network (one 1 x 3 x H x W input)", nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_BLOCK_SIZE,
      g_param_spec_int("block-size", "Block size", "Side of a block, in network-input pixels", 1, MAX_BLOCK_SIZE,
                       DEFAULT_BLOCK_SIZE, ready));
  g_object_class_install_property(gobject_class, PROP_GATE,
                                  g_param_spec_enum("gate", "Gate", "Who picks the blocks to execute",
                                                    gst_block_copy_policy_gate_get_type(), DEFAULT_GATE, ready));
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_float("threshold", "Threshold",
                         "Change gate: execute a block when its largest input change since its last execution "
                         "exceeds this (normalized input scale; 0: any change)",
                         0.0f, MAX_THRESHOLD, DEFAULT_THRESHOLD, playing));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "CPU cores to use (0: all)", 0, MAX_THREADS, DEFAULT_THREADS, ready));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_WIDTH,
      g_param_spec_int("input-width", "Input width",
                       "Network input width (0: the model's, else the frame's); frames are resized to it", 0,
                       MAX_INPUT_SIZE, DEFAULT_INPUT_SIZE, ready));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_HEIGHT,
      g_param_spec_int("input-height", "Input height", "Network input height (0: the model's, else the frame's)", 0,
                       MAX_INPUT_SIZE, DEFAULT_INPUT_SIZE, ready));
  g_object_class_install_property(
      gobject_class, PROP_MEAN,
      sg::value_array_spec("mean", "Mean",
                           "Per-channel mean subtracted from pixels scaled to [0, 1] (default <0,0,0>)"));
  g_object_class_install_property(
      gobject_class, PROP_STD,
      sg::value_array_spec("std", "Std", "Per-channel divisor after the mean (default <1,1,1>)"));
  g_object_class_install_property(
      gobject_class, PROP_EMIT_STATS,
      g_param_spec_boolean("emit-stats", "Emit statistics",
                           "Post an element message \"sparseinfer-block-stats\" per frame: executed-fraction, "
                           "mac-fraction, gate-ms, process-ms, dense-frame; with gate=policy also policy-ms, "
                           "information-gain, reward, cost and running-cost",
                           DEFAULT_EMIT_STATS, playing));
  g_object_class_install_property(
      gobject_class, PROP_COST_TARGET,
      g_param_spec_double("cost-target", "Cost target",
                          "Policy gate: target fraction of executed blocks (tau, BlockCopy eq. 12); a change while "
                          "playing applies from the next frame",
                          0.0, 1.0, DEFAULT_COST_TARGET, playing));
  g_object_class_install_property(
      gobject_class, PROP_LEARNING_RATE,
      g_param_spec_double("learning-rate", "Learning rate", "Policy gate: RMSprop learning rate of the online training",
                          0.0, 1.0, DEFAULT_LEARNING_RATE, ready));
  g_object_class_install_property(
      gobject_class, PROP_UPDATE_INTERVAL,
      g_param_spec_int("update-interval", "Update interval", "Policy gate: a weight update every this many frames", 1,
                       MAX_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL, ready));
  g_object_class_install_property(
      gobject_class, PROP_TRAIN,
      g_param_spec_boolean("train", "Train", "Policy gate: train the policy online (false: decide only)", DEFAULT_TRAIN,
                           ready));
  g_object_class_install_property(
      gobject_class, PROP_POLICY_FILE,
      g_param_spec_string("policy-file", "Policy file",
                          "Policy gate: start from this file when it exists, and write the policy to it at stop",
                          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_LATENCY_BUDGET,
      g_param_spec_double("latency-budget", "Latency budget",
                          "Change gate: milliseconds a frame may take; each frame's measured time moves a factor on "
                          "the threshold so that 95% of frames fit (0: off; docs/latency-budget.md)",
                          0.0, MAX_LATENCY_BUDGET, DEFAULT_LATENCY_BUDGET, playing));

  gst_element_class_set_static_metadata(element_class, "Block-sparse CNN inference", "Filter/Analyzer/Video",
                                        "Runs an ONNX network on the changed blocks of video frames, copying the "
                                        "features of the others (BlockCopy), and attaches the results as metas",
                                        "sparseinfer developers");

  base_class->open = GST_DEBUG_FUNCPTR(gst_block_copy_policy_open);
  base_class->close = GST_DEBUG_FUNCPTR(gst_block_copy_policy_close);
  base_class->configure = GST_DEBUG_FUNCPTR(gst_block_copy_policy_configure);
  base_class->reset = GST_DEBUG_FUNCPTR(gst_block_copy_policy_reset);
  base_class->process = GST_DEBUG_FUNCPTR(gst_block_copy_policy_process);

  gst_type_mark_as_plugin_api(gst_block_copy_policy_gate_get_type(), (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_block_copy_policy_debug, "blockcopypolicy", 0, "block-sparse CNN inference");
}

static void gst_block_copy_policy_init(GstBlockCopyPolicy *self) {
  sg::BlockCopySettings *s = new (&self->settings) sg::BlockCopySettings();
  s->block_size = DEFAULT_BLOCK_SIZE;
  s->threshold = DEFAULT_THRESHOLD;
  s->threads = DEFAULT_THREADS;
  s->input_width = s->input_height = DEFAULT_INPUT_SIZE;
  for (int c = 0; c < 3; ++c) {
    s->mean[c] = DEFAULT_MEAN[c];
    s->std[c] = DEFAULT_STD[c];
  }
  s->emit_stats = DEFAULT_EMIT_STATS;
  s->latency_budget_ms = DEFAULT_LATENCY_BUDGET;
  s->cost_target = DEFAULT_COST_TARGET;
  s->learning_rate = DEFAULT_LEARNING_RATE;
  s->update_interval = DEFAULT_UPDATE_INTERVAL;
  s->train = DEFAULT_TRAIN;
  self->driver = new sg::BlockCopyDriver();
}

static void gst_block_copy_policy_finalize(GObject *object) {
  GstBlockCopyPolicy *self = GST_BLOCK_COPY_POLICY(object);
  delete self->driver;
  self->settings.~BlockCopySettings();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_block_copy_policy_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstBlockCopyPolicy *self = GST_BLOCK_COPY_POLICY(object);
  GST_OBJECT_LOCK(self);
  sg::BlockCopySettings &s = self->settings;
  switch (prop_id) {
    case PROP_MODEL:
      s.model_path = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_BLOCK_SIZE:
      s.block_size = g_value_get_int(value);
      break;
    case PROP_GATE:
      s.gate = g_value_get_enum(value) == GST_BLOCK_COPY_POLICY_GATE_POLICY ? sg::BlockGateKind::Policy
                                                                            : sg::BlockGateKind::Change;
      break;
    case PROP_THRESHOLD:
      s.threshold = g_value_get_float(value);
      break;
    case PROP_THREADS:
      s.threads = g_value_get_int(value);
      break;
    case PROP_INPUT_WIDTH:
      s.input_width = g_value_get_int(value);
      break;
    case PROP_INPUT_HEIGHT:
      s.input_height = g_value_get_int(value);
      break;
    case PROP_MEAN:
      sg::set_value_array(value, s.mean);
      s.set.mean = true;
      break;
    case PROP_STD:
      sg::set_value_array(value, s.std);
      s.set.std = true;
      break;
    case PROP_EMIT_STATS:
      s.emit_stats = g_value_get_boolean(value);
      break;
    case PROP_COST_TARGET:
      s.cost_target = g_value_get_double(value);
      break;
    case PROP_LEARNING_RATE:
      s.learning_rate = g_value_get_double(value);
      break;
    case PROP_UPDATE_INTERVAL:
      s.update_interval = g_value_get_int(value);
      break;
    case PROP_TRAIN:
      s.train = g_value_get_boolean(value);
      break;
    case PROP_POLICY_FILE:
      s.policy_file = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_LATENCY_BUDGET:
      s.latency_budget_ms = g_value_get_double(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_block_copy_policy_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstBlockCopyPolicy *self = GST_BLOCK_COPY_POLICY(object);
  GST_OBJECT_LOCK(self);
  const sg::BlockCopySettings &s = self->settings;
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, s.model_path.empty() ? nullptr : s.model_path.c_str());
      break;
    case PROP_BLOCK_SIZE:
      g_value_set_int(value, s.block_size);
      break;
    case PROP_GATE:
      g_value_set_enum(value, s.gate == sg::BlockGateKind::Policy ? GST_BLOCK_COPY_POLICY_GATE_POLICY
                                                                  : GST_BLOCK_COPY_POLICY_GATE_CHANGE);
      break;
    case PROP_THRESHOLD:
      g_value_set_float(value, s.threshold);
      break;
    case PROP_THREADS:
      g_value_set_int(value, s.threads);
      break;
    case PROP_INPUT_WIDTH:
      g_value_set_int(value, s.input_width);
      break;
    case PROP_INPUT_HEIGHT:
      g_value_set_int(value, s.input_height);
      break;
    case PROP_MEAN:
      sg::get_value_array(value, s.mean);
      break;
    case PROP_STD:
      sg::get_value_array(value, s.std);
      break;
    case PROP_EMIT_STATS:
      g_value_set_boolean(value, s.emit_stats);
      break;
    case PROP_COST_TARGET:
      g_value_set_double(value, s.cost_target);
      break;
    case PROP_LEARNING_RATE:
      g_value_set_double(value, s.learning_rate);
      break;
    case PROP_UPDATE_INTERVAL:
      g_value_set_int(value, s.update_interval);
      break;
    case PROP_TRAIN:
      g_value_set_boolean(value, s.train);
      break;
    case PROP_POLICY_FILE:
      g_value_set_string(value, s.policy_file.empty() ? nullptr : s.policy_file.c_str());
      break;
    case PROP_LATENCY_BUDGET:
      g_value_set_double(value, s.latency_budget_ms);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_block_copy_policy_open(GstSparseinferElement *element) {
  GstBlockCopyPolicy *self = GST_BLOCK_COPY_POLICY(element);
  GST_OBJECT_LOCK(self);
  const sg::BlockCopySettings settings = self->settings;
  GST_OBJECT_UNLOCK(self);
  const std::string name = sg::base_name(settings.model_path);
  gst_sparseinfer_element_set_models(element, ("model \"" + settings.model_path + "\"").c_str(),
                                     ("model \"" + name + "\"").c_str());
  if (!sg::check_model_file(GST_ELEMENT(self), settings.model_path, "model")) return FALSE;
  for (int c = 0; c < 3; ++c)
    if (settings.std[c] == 0.0) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid property 'std': a value is 0."), (nullptr));
      return FALSE;
    }
  if (settings.latency_budget_ms > 0 && settings.gate != sg::BlockGateKind::Change) {
    GST_ELEMENT_ERROR(
        self, LIBRARY, SETTINGS,
        ("Invalid property 'latency-budget': it moves the change gate's threshold and needs gate=change."), (nullptr));
    return FALSE;
  }
  try {
    self->driver->open(settings);
  } catch (const sg::DescriptionError &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid model description of \"%s\": %s", name.c_str(), e.what()),
                      ("%s", e.what()));
    return FALSE;
  }
  const si::ModelDescription &description = self->driver->description();
  if (settings.gate == sg::BlockGateKind::Policy &&
      (description.decoder == si::DecoderKind::None || description.decoder == si::DecoderKind::Classification)) {
    // The policy's reward is the information gain of the decoded output (§3.4).
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("Invalid property 'gate': gate=policy needs a model description with a detection or "
                       "segmentation decoder, and \"%s\" has %s.",
                       name.c_str(), description.present ? "a classification decoder or none" : "no description"),
                      (nullptr));
    return FALSE;
  }
  return TRUE;
}

static void gst_block_copy_policy_close(GstSparseinferElement *element) {
  GstBlockCopyPolicy *self = GST_BLOCK_COPY_POLICY(element);
  GST_OBJECT_LOCK(self);
  const std::string file = self->settings.policy_file;
  GST_OBJECT_UNLOCK(self);
  try {
    self->driver->save_policy();
  } catch (const sg::PolicyFileError &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                      ("Cannot write property 'policy-file' (\"%s\"): %s", file.c_str(), e.what()), ("%s", e.what()));
  }
  self->driver->close();
}

static gboolean gst_block_copy_policy_configure(GstSparseinferElement *element, const GstVideoInfo *info) {
  GstBlockCopyPolicy *self = GST_BLOCK_COPY_POLICY(element);
  bool rebuilt = false;
  try {
    rebuilt = self->driver->configure(GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info));
  } catch (const sg::PolicyFileError &e) {
    GST_OBJECT_LOCK(self);
    const std::string file = self->settings.policy_file;
    GST_OBJECT_UNLOCK(self);
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Cannot read property 'policy-file' (\"%s\"): %s", file.c_str(), e.what()),
                      ("%s", e.what()));
    return FALSE;
  }
  if (rebuilt)
    GST_INFO_OBJECT(self, "block engine compiled for %dx%d network input", self->driver->network_width(),
                    self->driver->network_height());
  return TRUE;
}

static void gst_block_copy_policy_reset(GstSparseinferElement *element) {
  GST_BLOCK_COPY_POLICY(element)->driver->reset();
}

using SharedData = std::shared_ptr<const std::vector<uint8_t>>;

static void release_shared_data(gpointer data) {
  delete static_cast<SharedData *>(data);
}

static GstFlowReturn gst_block_copy_policy_process(GstSparseinferElement *element, GstBuffer *buf,
                                                   guint64 frame_index) {
  GstBlockCopyPolicy *self = GST_BLOCK_COPY_POLICY(element);
  sg::BlockCopyDriver &driver = *self->driver;
  GST_OBJECT_LOCK(self);
  const sg::BlockCopySettings settings = self->settings;
  GST_OBJECT_UNLOCK(self);
  driver.update(settings);

  sg::FrameView view;
  if (!gst_sparseinfer_element_map_frame(element, buf, &view)) return GST_FLOW_ERROR;
  const sg::BlockCopyFrameStats frame = driver.infer(view);
  gst_sparseinfer_element_add_processing_time(
      element, frame.dense_frame ? GST_SPARSEINFER_FRAME_FULL : GST_SPARSEINFER_FRAME_INCREMENTAL, frame.process_ms);

  const si::DecoderKind decoder = driver.description().decoder;
  const bool detects = decoder == si::DecoderKind::Ssd || decoder == si::DecoderKind::Centernet;
  const GstSparseinferTask task = detects                                      ? GST_SPARSEINFER_TASK_DETECTION
                                  : decoder == si::DecoderKind::Segmentation   ? GST_SPARSEINFER_TASK_SEGMENTATION
                                  : decoder == si::DecoderKind::Classification ? GST_SPARSEINFER_TASK_CLASSIFICATION
                                                                               : GST_SPARSEINFER_TASK_UNKNOWN;
  GstSparseinferTensorMeta *meta = gst_buffer_add_sparseinfer_tensor_meta(buf, driver.model_name().c_str(), task);
  sg::set_meta_labels(meta, driver.labels());
  for (const sg::BlockCopyTensor &t : driver.outputs()) {
    auto *ref = new SharedData(t.data);
    GBytes *bytes = g_bytes_new_with_free_func((*ref)->data(), (*ref)->size(), release_shared_data, ref);
    const std::vector<gint64> dims(t.dims.begin(), t.dims.end());
    gst_sparseinfer_tensor_meta_add_tensor_bytes(meta, t.name.c_str(), GST_SPARSEINFER_DTYPE_FLOAT32,
                                                 guint(dims.size()), dims.data(), bytes);
    g_bytes_unref(bytes);
  }
  if (detects) {
    sg::add_detections_tensor(meta, driver.detections());
    sg::attach_detections(buf, driver.detections(), driver.labels(), driver.frame_width(), driver.frame_height());
  }
  if (driver.class_map()) {
    auto *ref = new SharedData(driver.class_map());
    GBytes *bytes = g_bytes_new_with_free_func((*ref)->data(), (*ref)->size(), release_shared_data, ref);
    const gint64 dims[3] = {1, driver.class_map_height(), driver.class_map_width()};
    gst_sparseinfer_tensor_meta_add_tensor_bytes(meta, "class_map", GST_SPARSEINFER_DTYPE_UINT8, 3, dims, bytes);
    g_bytes_unref(bytes);
    meta->background_class = 0;  // as cbinferconv: a segmentation's class 0 is the background
  }
  // The executed grid A_t rides as the stream meta's mask (one value per block).
  GstSparseinferFrameStats *stats = gst_sparseinfer_frame_stats_new(gst_sparseinfer_element_get_stream_id(element), 0);
  stats->frame_index = frame_index;
  stats->inferred = TRUE;
  stats->dense_frame = frame.dense_frame;
  stats->changed_fraction = frame.executed_fraction;
  stats->mac_fraction = frame.mac_fraction;
  stats->macs_executed = frame.macs_executed;
  stats->macs_dense = frame.macs_dense;
  stats->process_ms = frame.process_ms;
  stats->state_bytes = frame.state_bytes;
  gst_buffer_add_sparseinfer_stream_meta(buf, stats, frame.grid, guint(frame.grid_cols), guint(frame.grid_rows));
  gst_sparseinfer_frame_stats_unref(stats);

  GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": executed %.3f of the blocks, %.2f ms", frame_index,
                 frame.executed_fraction, frame.process_ms);
  if (settings.emit_stats) {
    GstStructure *st = gst_structure_new(
        "sparseinfer-block-stats", "frame-index", G_TYPE_UINT64, frame_index, "dense-frame", G_TYPE_BOOLEAN,
        frame.dense_frame, "executed-fraction", G_TYPE_DOUBLE, frame.executed_fraction, "mac-fraction", G_TYPE_DOUBLE,
        frame.mac_fraction, "gate-ms", G_TYPE_DOUBLE, frame.gate_ms, "process-ms", G_TYPE_DOUBLE, frame.process_ms,
        "block-size", G_TYPE_INT, frame.block_size, "grid-cols", G_TYPE_INT, frame.grid_cols, "grid-rows", G_TYPE_INT,
        frame.grid_rows, nullptr);
    // The policy's own figures (PolicyBlockGate::last_times, its trainer's last step).
    if (frame.policy)
      gst_structure_set(st, "policy-ms", G_TYPE_DOUBLE, frame.policy_ms, "information-gain", G_TYPE_DOUBLE,
                        frame.information_gain, "reward", G_TYPE_DOUBLE, frame.reward, "cost", G_TYPE_DOUBLE,
                        frame.cost, "running-cost", G_TYPE_DOUBLE, frame.running_cost, nullptr);
    else
      gst_structure_set(st, "threshold", G_TYPE_DOUBLE, frame.threshold, nullptr);
    gst_sparseinfer_element_post_stats(element, st);
  }
  return GST_FLOW_OK;
}

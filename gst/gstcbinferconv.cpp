/**
 * SECTION:element-cbinferconv
 * @title: cbinferconv
 * @see_also: sparseinferoverlay
 *
 * Runs a convolutional network (an ONNX file) on every video frame and
 * attaches the results to the frame as metas, leaving the pixels untouched.
 * In change mode (CBinfer, Cavigelli & Benini 2017) every spatial convolution
 * compares its input with the state it kept from earlier frames, and only the
 * output pixels reached by a change above the threshold are recomputed: on a
 * static camera most of the network is skipped, at the price of an error
 * bounded by the threshold. Threshold 0 gives the dense result.
 *
 * A model description beside the model (MODEL.onnx.json, or the same JSON
 * in the ONNX file's metadata_props; docs/models.md) says how the network
 * wants its input (colour order, stretch or letterbox, scale, mean, std),
 * names its classes and picks its decoder (ssd, centernet, segmentation,
 * classification) with the decoder's parameters. The properties mean, std,
 * channel-order, task, score-threshold, nms-threshold and max-detections
 * override the description when they are set; left unset, the description's
 * values hold. A description that cannot be read stops the element at start
 * with an error naming the file and the field. A model without a description
 * is read as before: the properties' defaults, the task guessed from the
 * outputs.
 *
 * Results ride on the buffer as #GstSparseinferTensorMeta (the output
 * tensors, the model name, the class names and a task hint) and
 * #GstSparseinferStreamMeta (stream id, frame index, the frame's statistics
 * and the change mask of the first layer). A detector's boxes, in frame
 * pixels, are attached as #GstVideoRegionOfInterestMeta whose type is the
 * class name, with a "detection" parameter (label_id, confidence and the box
 * normalized to the frame, as DL Streamer writes it), and as the tensor
 * "detections" [N, 6]. A described segmentation adds the tensor "class_map"
 * (uint8 [1, H, W], a class per frame pixel) and names its background class
 * on the meta. Applications read them with the sparseinfer-meta-1.0 library.
 *
 * The per-stream state is reset, and the next frame computed in full (dense),
 * on a new stream-id (STREAM_START), a FLUSH_STOP (flushing seeks), caps that
 * describe other frames (size, format) and, when "reset-gap" is set, a jump
 * in running time longer than it. Dropped frames do not reset: a leaky queue
 * or a live source marks the frame after a drop DISCONT, but every layer
 * compares its input with the state of the last frame it processed (the
 * closed loop), so a gap only means more pixels changed. A scene cut needs no
 * reset either: nearly every pixel changes and is recomputed, at about the
 * cost of a dense frame.
 *
 * Latency and QoS keep one processing time per kind of frame, dense and
 * change. The reported latency covers the slowest kind the element produces
 * in steady state, with headroom: the change frames, and the refreshes too
 * when refresh-interval makes them recur (or the dense frames in dense mode).
 * The one dense frame after a reset is left out, so a cold start does not
 * delay every later frame; it may reach a synchronised sink late once. For
 * the latency to absorb a slow frame a thread boundary must buffer it (a
 * queue, or a live source that captures ahead); a leaky queue upstream needs
 * max-size-time of at least the latency, or it drops frames while the sink
 * waits. QoS: frames already late are dropped; a frame that would be late
 * after inference, predicted with the cost of its kind, keeps the last
 * results instead (qos-skipped-frames). While frames are skipped the
 * prediction shrinks, and after 15 skips in a row one frame is inferred
 * anyway to measure again, so QoS never stops inference for good.
 *
 * With latency-budget (milliseconds, change mode) each frame's processing
 * time moves a factor on threshold-scale: a frame above the controller's set
 * point raises the thresholds at once, frames below it lower them slowly, and
 * the set point sits under the budget by the spread of recent frames, so
 * that about 95% of frames fit (docs/latency-budget.md). It may change while
 * playing; 0 turns it off and the thresholds return to threshold-scale.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! video/x-raw,width=320,height=240 ! videoconvert ! \
 *     cbinferconv model=segnet_small.onnx threshold=0.1 ! sparseinferoverlay ! videoconvert ! autovideosink
 * ]| Segments a test pattern and draws the classes over it.
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! videoscale ! \
 *     video/x-raw,format=RGB,width=384,height=288 ! \
 *     cbinferconv model=detnet_small.onnx score-threshold=0.6 emit-stats=true ! fakesink -m
 * ]| Runs a detector on a surveillance clip and prints each frame's statistics.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! cbinferconv model=cbinfer_scenelabel.onnx \
 *     thresholds-file=scenelabel.thresholds.json refresh-interval=250 ! sparseinferoverlay ! \
 *     videoconvert ! autovideosink
 * ]| A dashcam with calibrated per-layer thresholds and a refresh every 250 frames.
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
 *     cbinferconv model=ssdlite_mbv2_pedestrian_dyn.onnx ! sparseinferoverlay ! videoconvert ! autovideosink
 * ]| Pedestrians found by a pretrained SSD, read as its model description says.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! queue max-size-buffers=2 leaky=downstream ! \
 *     cbinferconv model=cbinfer_personlabel.onnx thresholds-file=personlabel.thresholds.json ! \
 *     sparseinferoverlay ! videoconvert ! autovideosink
 * ]| A CCTV camera that drops frames when inference falls behind: the frames that get through stay in
 * change mode.
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
 *     cbinferconv model=cbinfer_personlabel.onnx thresholds-file=personlabel.thresholds.json \
 *     latency-budget=40 emit-stats=true ! fakesink
 * ]| Keeps 95% of frames within 40 ms by raising the thresholds when frames get slow.
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
 *     cbinferconv model=cbinfer_personlabel.onnx gate=output-norm-4x4 threshold=100 ! fakesink
 * ]| Skip-Convolutions' structured output-norm gate instead of CBinfer's threshold gate (docs/gates.md).
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
 *     cbinferconv model=cbinfer_personlabel.onnx threshold=0.1 target-sparsity=0.8 emit-stats=true ! fakesink -m
 * ]| Online thresholds (SparseTem): each gated layer's threshold follows a binary search so that 80% of
 * its output pixels are not recomputed (docs/sparsetem.md).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "cbinfer_driver.h"
#include "element_support.h"
#include "gate_property.h"
#include "gstcbinferconv.h"
#include "gstsparseinferelements.h"
#include "sparseinfer-meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_cbinfer_conv_debug);
#define GST_CAT_DEFAULT gst_cbinfer_conv_debug

namespace si = sparseinfer;
namespace sg = sparseinfer::gst;

#define DEFAULT_MODE GST_CBINFER_CONV_MODE_CHANGE
#define DEFAULT_BACKEND GST_SPARSEINFER_BACKEND_AUTO
#define DEFAULT_CHANNEL_ORDER GST_CBINFER_CONV_CHANNEL_ORDER_RGB
#define DEFAULT_TASK GST_CBINFER_CONV_TASK_AUTO
#define DEFAULT_THRESHOLD 0.1f
#define MAX_THRESHOLD 1000.0f
#define DEFAULT_THRESHOLD_SCALE 1.0f
#define MAX_THRESHOLD_SCALE 1000.0f
#define DEFAULT_REFRESH_INTERVAL 0
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_THREADS 0
#define MAX_THREADS 1024
#define DEFAULT_INPUT_SIZE 0
#define MAX_INPUT_SIZE 16384
#define DEFAULT_SCORE_THRESHOLD 0.5f
#define DEFAULT_NMS_THRESHOLD 0.5f
#define DEFAULT_MAX_DETECTIONS 100
#define MAX_MAX_DETECTIONS 10000
#define DEFAULT_EMIT_STATS FALSE
#define DEFAULT_LATENCY_BUDGET 0.0
#define MAX_LATENCY_BUDGET 60000.0
#define DEFAULT_TARGET_SPARSITY 0.0
#define MAX_TARGET_SPARSITY 0.99
static const gdouble DEFAULT_MEAN[3] = {0.485, 0.456, 0.406};  // ImageNet, on values in [0, 1]
static const gdouble DEFAULT_STD[3] = {0.229, 0.224, 0.225};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_MODE,
  PROP_THRESHOLD,
  PROP_THRESHOLDS_FILE,
  PROP_GATES_FILE,
  PROP_THRESHOLD_SCALE,
  PROP_REFRESH_INTERVAL,
  PROP_INFERENCE_INTERVAL,
  PROP_BACKEND,
  PROP_THREADS,
  PROP_INPUT_WIDTH,
  PROP_INPUT_HEIGHT,
  PROP_MEAN,
  PROP_STD,
  PROP_CHANNEL_ORDER,
  PROP_TASK,
  PROP_SCORE_THRESHOLD,
  PROP_NMS_THRESHOLD,
  PROP_MAX_DETECTIONS,
  PROP_STATS,
  PROP_EMIT_STATS,
  PROP_LATENCY_BUDGET,
  PROP_GATE,
  PROP_TARGET_SPARSITY,
};

struct _GstCbinferConv {
  GstSparseinferElement parent;

  /* Under the object lock. */
  sg::CbinferSettings settings;
  sg::CbinferTotals totals;  // since start

  /* Streaming thread. */
  sg::CbinferDriver *driver;
};

#define gst_cbinfer_conv_parent_class parent_class
G_DEFINE_TYPE(GstCbinferConv, gst_cbinfer_conv, GST_TYPE_SPARSEINFER_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(cbinferconv, "cbinferconv", GST_RANK_NONE, GST_TYPE_CBINFER_CONV);

static GType gst_cbinfer_conv_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_CBINFER_CONV_MODE_DENSE, "Every layer in full on every frame", "dense"},
      {GST_CBINFER_CONV_MODE_CHANGE, "Recompute only what changed (CBinfer)", "change"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstCbinferConvMode", values));
  return type;
}

static GType gst_cbinfer_conv_channel_order_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_CBINFER_CONV_CHANNEL_ORDER_RGB, "Red, green, blue planes", "rgb"},
      {GST_CBINFER_CONV_CHANNEL_ORDER_BGR, "Blue, green, red planes", "bgr"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstCbinferConvChannelOrder", values));
  return type;
}

static GType gst_cbinfer_conv_task_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_CBINFER_CONV_TASK_AUTO, "The model description's decoder, else a guess from the outputs", "auto"},
      {GST_CBINFER_CONV_TASK_UNKNOWN, "Tensors only", "unknown"},
      {GST_CBINFER_CONV_TASK_SEGMENTATION, "Per-pixel class scores [1,C,h,w]", "segmentation"},
      {GST_CBINFER_CONV_TASK_CLASSIFICATION, "Class logits [1,C]", "classification"},
      {GST_CBINFER_CONV_TASK_DETECTION,
       "The description's ssd or centernet decoder, else heatmap [1,K,h,w] + boxes [1,4,h,w]", "detection"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstCbinferConvTask", values));
  return type;
}

static void gst_cbinfer_conv_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_cbinfer_conv_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_cbinfer_conv_finalize(GObject *object);
static gboolean gst_cbinfer_conv_open(GstSparseinferElement *element);
static void gst_cbinfer_conv_close(GstSparseinferElement *element);
static gboolean gst_cbinfer_conv_configure(GstSparseinferElement *element, const GstVideoInfo *info);
static void gst_cbinfer_conv_reset(GstSparseinferElement *element);
static GstFlowReturn gst_cbinfer_conv_process(GstSparseinferElement *element, GstBuffer *buf, guint64 frame_index);

static void gst_cbinfer_conv_class_init(GstCbinferConvClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstSparseinferElementClass *base_class = GST_SPARSEINFER_ELEMENT_CLASS(klass);
  const auto ready = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto playing = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  gobject_class->set_property = gst_cbinfer_conv_set_property;
  gobject_class->get_property = gst_cbinfer_conv_get_property;
  gobject_class->finalize = gst_cbinfer_conv_finalize;

  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model", "ONNX file of the network (one N x 3 x H x W input)", nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "Execution mode", gst_cbinfer_conv_mode_get_type(), DEFAULT_MODE, ready));
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_float("threshold", "Threshold",
                         "Change-detection threshold of every detecting layer, on the normalized input scale "
                         "(0: exact, the dense result)",
                         0.0f, MAX_THRESHOLD, DEFAULT_THRESHOLD, playing));
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLDS_FILE,
      g_param_spec_string("thresholds-file", "Thresholds file",
                          "Per-layer thresholds written by 'sparseinfer calibrate' (JSON); they override "
                          "'threshold' for the layers they list",
                          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_GATES_FILE,
      g_param_spec_string("gates-file", "Gumbel gates file",
                          "Skip-Conv Gumbel gates trained by examples/models/train_gumbel_gates.py (JSON); they "
                          "replace the threshold gate (mode=change, CPU), 'threshold' then being the logit cut "
                          "(0: the paper's)",
                          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD_SCALE,
      g_param_spec_float("threshold-scale", "Threshold scale",
                         "Factor on every threshold: trade accuracy for speed at run time without recalibrating", 0.0f,
                         MAX_THRESHOLD_SCALE, DEFAULT_THRESHOLD_SCALE, playing));
  g_object_class_install_property(
      gobject_class, PROP_REFRESH_INTERVAL,
      g_param_spec_uint(
          "refresh-interval", "Refresh interval",
          "Every Nth frame gets a dense frame's result, clearing the error thresholds let build up (0: never). "
          "Change mode runs that frame at threshold 0 over every layer's whole input, so it costs what moved "
          "since each layer last computed, not a dense frame; batched streams and dense mode compute it densely. "
          "The reported latency covers these frames",
          0, G_MAXUINT, DEFAULT_REFRESH_INTERVAL, playing));
  g_object_class_install_property(
      gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint("inference-interval", "Inference interval",
                        "Run the network on every Nth frame only; the frames between carry the last results", 1,
                        G_MAXUINT, DEFAULT_INFERENCE_INTERVAL, playing));
  g_object_class_install_property(gobject_class, PROP_BACKEND,
                                  g_param_spec_enum("backend", "Backend", "Where the network runs",
                                                    GST_TYPE_SPARSEINFER_BACKEND, DEFAULT_BACKEND, ready));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "CPU threads (0: one per core)", 0, MAX_THREADS, DEFAULT_THREADS, ready));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_WIDTH,
      g_param_spec_int("input-width", "Input width",
                       "Network input width the frame is resized to (0: the model's, or the frame's own for fully "
                       "convolutional models)",
                       0, MAX_INPUT_SIZE, DEFAULT_INPUT_SIZE, ready));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_HEIGHT,
      g_param_spec_int("input-height", "Input height",
                       "Network input height the frame is resized to (0: the model's, or the frame's own for fully "
                       "convolutional models)",
                       0, MAX_INPUT_SIZE, DEFAULT_INPUT_SIZE, ready));
  g_object_class_install_property(
      gobject_class, PROP_MEAN,
      sg::value_array_spec("mean", "Mean",
                           "Per-channel mean subtracted from pixel values scaled to [0, 1], in network channel order; "
                           "overrides the model description's (default without one <0.485, 0.456, 0.406>)"));
  g_object_class_install_property(
      gobject_class, PROP_STD,
      sg::value_array_spec("std", "Standard deviation",
                           "Per-channel divisor applied after the mean, in network channel order; overrides the model "
                           "description's (default without one <0.229, 0.224, 0.225>)"));
  g_object_class_install_property(
      gobject_class, PROP_CHANNEL_ORDER,
      g_param_spec_enum("channel-order", "Channel order",
                        "Colour plane order the network expects; overrides the model description's",
                        gst_cbinfer_conv_channel_order_get_type(), DEFAULT_CHANNEL_ORDER, ready));
  g_object_class_install_property(gobject_class, PROP_TASK,
                                  g_param_spec_enum("task", "Task",
                                                    "How the outputs are read; auto: the model description's decoder, "
                                                    "else guessed from the outputs",
                                                    gst_cbinfer_conv_task_get_type(), DEFAULT_TASK, ready));
  g_object_class_install_property(
      gobject_class, PROP_SCORE_THRESHOLD,
      g_param_spec_float("score-threshold", "Score threshold",
                         "Detection: lowest score that becomes a box; overrides the model description's", 0.0f, 1.0f,
                         DEFAULT_SCORE_THRESHOLD, playing));
  g_object_class_install_property(
      gobject_class, PROP_NMS_THRESHOLD,
      g_param_spec_float("nms-threshold", "NMS threshold",
                         "Detection: a box overlapping a better one of its class by more than this IoU is dropped; "
                         "overrides the model description's",
                         0.0f, 1.0f, DEFAULT_NMS_THRESHOLD, playing));
  g_object_class_install_property(
      gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_uint("max-detections", "Max detections",
                        "Detection: most boxes attached per frame; overrides the model description's", 0,
                        MAX_MAX_DETECTIONS, DEFAULT_MAX_DETECTIONS, playing));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed(
          "stats", "Statistics",
          "Totals since start: frames, inferred-frames, dense-frames, refresh-frames, qos-skipped-frames, "
          "mean-changed-fraction, mean-mac-fraction, mean-ms (over inferred frames), latency-ms",
          GST_TYPE_STRUCTURE, (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_EMIT_STATS,
      g_param_spec_boolean("emit-stats", "Emit statistics",
                           "Post an element message \"sparseinfer-frame-stats\" with each frame's statistics",
                           DEFAULT_EMIT_STATS, playing));
  g_object_class_install_property(
      gobject_class, PROP_LATENCY_BUDGET,
      g_param_spec_double("latency-budget", "Latency budget",
                          "Change mode: milliseconds a frame may take; each frame's measured time moves a factor on "
                          "threshold-scale so that 95% of frames fit (0: off). emit-stats then reports "
                          "threshold-scale per frame (docs/latency-budget.md)",
                          0.0, MAX_LATENCY_BUDGET, DEFAULT_LATENCY_BUDGET, playing));
  g_object_class_install_property(
      gobject_class, PROP_GATE,
      g_param_spec_enum("gate", "Gate",
                        "Change mode: which input pixels each layer recomputes (threshold: CBinfer; input-norm, "
                        "output-norm and their KxK structured forms: Skip-Convolutions; docs/gates.md). The "
                        "threshold properties set the gate's threshold",
                        GST_TYPE_SPARSEINFER_GATE, 0, ready));
  g_object_class_install_property(
      gobject_class, PROP_TARGET_SPARSITY,
      g_param_spec_double("target-sparsity", "Target sparsity",
                          "Change mode: adjust each gated layer's threshold online (SparseTem binary search, re-run "
                          "every cycle) so that this share of its output pixels is not recomputed, within +-0.02; "
                          "starts from threshold/thresholds-file (0: off, the thresholds stay as set)",
                          0.0, MAX_TARGET_SPARSITY, DEFAULT_TARGET_SPARSITY, playing));

  gst_element_class_set_static_metadata(element_class, "Change-based CNN inference", "Filter/Analyzer/Video",
                                        "Runs an ONNX network on video frames, recomputing only what changed "
                                        "(CBinfer), and attaches the results as metas",
                                        "sparseinfer developers");

  base_class->open = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_open);
  base_class->close = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_close);
  base_class->configure = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_configure);
  base_class->reset = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_reset);
  base_class->process = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_process);

  gst_type_mark_as_plugin_api(gst_cbinfer_conv_mode_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_cbinfer_conv_channel_order_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_cbinfer_conv_task_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(GST_TYPE_SPARSEINFER_GATE, (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_cbinfer_conv_debug, "cbinferconv", 0, "change-based CNN inference");
}

static void gst_cbinfer_conv_init(GstCbinferConv *self) {
  sg::CbinferSettings *s = new (&self->settings) sg::CbinferSettings();
  s->mode = DEFAULT_MODE == GST_CBINFER_CONV_MODE_DENSE ? si::Mode::Dense : si::Mode::Change;
  s->backend = sg::core_backend(DEFAULT_BACKEND);
  s->threads = DEFAULT_THREADS;
  s->input_width = s->input_height = DEFAULT_INPUT_SIZE;
  for (int c = 0; c < 3; ++c) {
    s->mean[c] = DEFAULT_MEAN[c];
    s->std[c] = DEFAULT_STD[c];
  }
  s->rgb = DEFAULT_CHANNEL_ORDER == GST_CBINFER_CONV_CHANNEL_ORDER_RGB;
  s->task.reset();  // DEFAULT_TASK: auto
  s->threshold = DEFAULT_THRESHOLD;
  s->threshold_scale = DEFAULT_THRESHOLD_SCALE;
  s->refresh_interval = DEFAULT_REFRESH_INTERVAL;
  s->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  s->detection.score_threshold = DEFAULT_SCORE_THRESHOLD;
  s->detection.iou_threshold = DEFAULT_NMS_THRESHOLD;
  s->detection.max_detections = DEFAULT_MAX_DETECTIONS;
  s->emit_stats = DEFAULT_EMIT_STATS;
  s->latency_budget_ms = DEFAULT_LATENCY_BUDGET;
  new (&self->totals) sg::CbinferTotals();
  self->driver = new sg::CbinferDriver();
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_cbinfer_conv_finalize(GObject *object) {
  GstCbinferConv *self = GST_CBINFER_CONV(object);
  delete self->driver;
  self->totals.~CbinferTotals();
  self->settings.~CbinferSettings();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

// Call with the object lock held.
static GstStructure *stats_structure(GstCbinferConv *self) {
  const sg::CbinferTotals &t = self->totals;
  const GstClockTime latency = gst_sparseinfer_element_get_latency_unlocked(GST_SPARSEINFER_ELEMENT(self));
  const double n = t.inferred ? double(t.inferred) : 1.0;
  return gst_structure_new("sparseinfer-stats", "frames", G_TYPE_UINT64, t.frames, "inferred-frames", G_TYPE_UINT64,
                           t.inferred, "dense-frames", G_TYPE_UINT64, t.dense, "refresh-frames", G_TYPE_UINT64,
                           t.refresh, "qos-skipped-frames", G_TYPE_UINT64, t.qos_skipped, "mean-changed-fraction",
                           G_TYPE_DOUBLE, t.changed_fraction / n, "mean-mac-fraction", G_TYPE_DOUBLE,
                           t.mac_fraction / n, "mean-ms", G_TYPE_DOUBLE, t.ms / n, "latency-ms", G_TYPE_DOUBLE,
                           double(latency) / GST_MSECOND, nullptr);
}

static void gst_cbinfer_conv_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstCbinferConv *self = GST_CBINFER_CONV(object);
  sg::CbinferSettings &s = self->settings;
  // Set while the other controller runs: ignored with a warning (posted once the lock is released).
  const char *ignored = nullptr;
  GST_OBJECT_LOCK(self);
  const bool running = GST_STATE(self) > GST_STATE_READY;
  switch (prop_id) {
    case PROP_MODEL:
      s.model_path = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_MODE:
      s.mode = g_value_get_enum(value) == GST_CBINFER_CONV_MODE_DENSE ? si::Mode::Dense : si::Mode::Change;
      break;
    case PROP_GATE:
      s.gate = sg::gate_name_of(g_value_get_enum(value));
      break;
    case PROP_THRESHOLD:
      s.threshold = g_value_get_float(value);
      break;
    case PROP_THRESHOLDS_FILE:
      s.thresholds_file = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_GATES_FILE:
      s.gates_file = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_THRESHOLD_SCALE:
      s.threshold_scale = g_value_get_float(value);
      break;
    case PROP_LATENCY_BUDGET:
      if (running && g_value_get_double(value) > 0 && s.target_sparsity > 0)
        ignored = "latency-budget";
      else
        s.latency_budget_ms = g_value_get_double(value);
      break;
    case PROP_REFRESH_INTERVAL:
      s.refresh_interval = g_value_get_uint(value);
      break;
    case PROP_INFERENCE_INTERVAL:
      s.inference_interval = g_value_get_uint(value);
      break;
    case PROP_BACKEND:
      s.backend = sg::core_backend((GstSparseinferBackend)g_value_get_enum(value));
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
      s.mean_count = sg::set_value_array(value, s.mean);
      s.set.mean = true;
      break;
    case PROP_STD:
      s.std_count = sg::set_value_array(value, s.std);
      s.set.std = true;
      break;
    case PROP_CHANNEL_ORDER:
      s.rgb = g_value_get_enum(value) == GST_CBINFER_CONV_CHANNEL_ORDER_RGB;
      s.set.channel_order = true;
      break;
    case PROP_TASK:
      if (g_value_get_enum(value) == GST_CBINFER_CONV_TASK_AUTO)
        s.task.reset();
      else
        s.task = GstSparseinferTask(g_value_get_enum(value) - GST_CBINFER_CONV_TASK_UNKNOWN);
      break;
    case PROP_SCORE_THRESHOLD:
      s.detection.score_threshold = g_value_get_float(value);
      s.set.score_threshold = true;
      break;
    case PROP_NMS_THRESHOLD:
      s.detection.iou_threshold = g_value_get_float(value);
      s.set.nms_threshold = true;
      break;
    case PROP_MAX_DETECTIONS:
      s.detection.max_detections = int(g_value_get_uint(value));
      s.set.max_detections = true;
      break;
    case PROP_EMIT_STATS:
      s.emit_stats = g_value_get_boolean(value);
      break;
    case PROP_TARGET_SPARSITY:
      if (running && g_value_get_double(value) > 0 && s.latency_budget_ms > 0)
        ignored = "target-sparsity";
      else
        s.target_sparsity = g_value_get_double(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
  if (ignored)
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("'%s' ignored: %s", ignored, sg::kBudgetOrTargetProblem),
                        ("turn the other one off (0) first"));
}

static void gst_cbinfer_conv_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstCbinferConv *self = GST_CBINFER_CONV(object);
  const sg::CbinferSettings &s = self->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, s.model_path.empty() ? nullptr : s.model_path.c_str());
      break;
    case PROP_MODE:
      g_value_set_enum(value, s.mode == si::Mode::Dense ? GST_CBINFER_CONV_MODE_DENSE : GST_CBINFER_CONV_MODE_CHANGE);
      break;
    case PROP_GATE:
      g_value_set_enum(value, sg::gate_value_of(s.gate));
      break;
    case PROP_THRESHOLD:
      g_value_set_float(value, s.threshold);
      break;
    case PROP_THRESHOLDS_FILE:
      g_value_set_string(value, s.thresholds_file.empty() ? nullptr : s.thresholds_file.c_str());
      break;
    case PROP_GATES_FILE:
      g_value_set_string(value, s.gates_file.empty() ? nullptr : s.gates_file.c_str());
      break;
    case PROP_THRESHOLD_SCALE:
      g_value_set_float(value, s.threshold_scale);
      break;
    case PROP_LATENCY_BUDGET:
      g_value_set_double(value, s.latency_budget_ms);
      break;
    case PROP_REFRESH_INTERVAL:
      g_value_set_uint(value, s.refresh_interval);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint(value, s.inference_interval);
      break;
    case PROP_BACKEND:
      g_value_set_enum(value, sg::backend_property(s.backend));
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
    case PROP_CHANNEL_ORDER:
      g_value_set_enum(value, s.rgb ? GST_CBINFER_CONV_CHANNEL_ORDER_RGB : GST_CBINFER_CONV_CHANNEL_ORDER_BGR);
      break;
    case PROP_TASK:
      g_value_set_enum(value,
                       s.task ? int(GST_CBINFER_CONV_TASK_UNKNOWN) + int(*s.task) : int(GST_CBINFER_CONV_TASK_AUTO));
      break;
    case PROP_SCORE_THRESHOLD:
      g_value_set_float(value, s.detection.score_threshold);
      break;
    case PROP_NMS_THRESHOLD:
      g_value_set_float(value, s.detection.iou_threshold);
      break;
    case PROP_MAX_DETECTIONS:
      g_value_set_uint(value, guint(s.detection.max_detections));
      break;
    case PROP_STATS:
      g_value_take_boxed(value, stats_structure(self));
      break;
    case PROP_EMIT_STATS:
      g_value_set_boolean(value, s.emit_stats);
      break;
    case PROP_TARGET_SPARSITY:
      g_value_set_double(value, s.target_sparsity);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

// A property the network cannot run with, named in the message.
static void post_setting_error(GstCbinferConv *self, const sg::SettingError &e) {
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid property '%s': %s.", e.property().c_str(), e.what()),
                    ("%s", e.what()));
}

static gboolean gst_cbinfer_conv_open(GstSparseinferElement *element) {
  GstCbinferConv *self = GST_CBINFER_CONV(element);
  GST_OBJECT_LOCK(self);
  sg::CbinferSettings settings = self->settings;
  self->totals = sg::CbinferTotals();
  GST_OBJECT_UNLOCK(self);
  gchar *instance_id = gst_sparseinfer_element_dup_model_instance_id(element);
  settings.model_instance_id = instance_id;
  g_free(instance_id);
  const GstClockTime timeout = gst_sparseinfer_element_get_batch_timeout(element);
  settings.batch_timeout_us = timeout > 0 ? std::max<gint64>(1, gint64(timeout / GST_USECOND)) : 0;
  if (settings.target_sparsity > 0 && settings.batch_timeout_us > 0 && !settings.model_instance_id.empty())
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                        ("'target-sparsity' has no effect with 'batch-timeout': the batch's thresholds are shared."),
                        (nullptr));
  if (settings.batch_timeout_us > 0 && settings.model_instance_id.empty())
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                        ("'batch-timeout' has no effect without 'model-instance-id': this stream runs alone."),
                        (nullptr));

  const std::string name = sg::base_name(settings.model_path);
  gst_sparseinfer_element_set_models(element, ("model \"" + settings.model_path + "\"").c_str(),
                                     ("model \"" + name + "\"").c_str());
  if (!sg::check_model_file(GST_ELEMENT(self), settings.model_path, "model")) return FALSE;
  try {
    self->driver->open(settings);
  } catch (const sg::SettingError &e) {
    post_setting_error(self, e);
    return FALSE;
  } catch (const sg::DescriptionError &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid model description of \"%s\": %s", name.c_str(), e.what()),
                      ("%s", e.what()));
    return FALSE;
  }
  const si::ModelDescription &description = self->driver->description();
  if (description.present)
    GST_INFO_OBJECT(self, "model description %s: decoder %s, running %s", description.source.c_str(),
                    si::decoder_kind_name(description.decoder), si::decoder_kind_name(self->driver->decoder()));
  GST_INFO_OBJECT(self, "loaded %s (%s, task %s)", settings.model_path.c_str(), si::mode_name(settings.mode),
                  gst_sparseinfer_task_to_string(self->driver->task()));
  return TRUE;
}

static void gst_cbinfer_conv_close(GstSparseinferElement *element) {
  GST_CBINFER_CONV(element)->driver->close();
}

// A frame size the network cannot take (its Concats or Adds do not line up):
// the error says which properties resize the frames, and to what.
static std::string with_input_size_hint(const sg::CbinferDriver &driver, int width, int height,
                                        const std::exception &e) {
  std::string text = e.what();
  if (!driver.input_follows_frame()) return text;
  text += "; the network cannot take this frame size: set the properties input-width and input-height";
  if (auto size = driver.suggest_input_size(width, height))
    text += " (e.g. input-width=" + std::to_string(size->first) + " input-height=" + std::to_string(size->second) + ")";
  return text + " to have the frames resized, or scale the video to such a size";
}

static gboolean gst_cbinfer_conv_configure(GstSparseinferElement *element, const GstVideoInfo *info) {
  GstCbinferConv *self = GST_CBINFER_CONV(element);
  bool rebuilt = false;
  try {
    rebuilt = self->driver->configure(GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info));
  } catch (const std::exception &e) {
    throw si::Error(with_input_size_hint(*self->driver, GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info), e));
  }
  if (rebuilt)
    GST_INFO_OBJECT(self, "engine compiled for %dx%d network input", self->driver->network_width(),
                    self->driver->network_height());
  return TRUE;
}

static void gst_cbinfer_conv_reset(GstSparseinferElement *element) {
  GST_CBINFER_CONV(element)->driver->reset();
}

using SharedData = std::shared_ptr<const std::vector<uint8_t>>;

static void release_shared_data(gpointer data) {
  delete static_cast<SharedData *>(data);
}

// Data the driver holds, shared with the metas without a copy.
static GBytes *shared_bytes(const SharedData &data) {
  auto *ref = new SharedData(data);
  return g_bytes_new_with_free_func((*ref)->data(), (*ref)->size(), release_shared_data, ref);
}

// The held results on a frame: the output tensors, the decoded detections and
// a described segmentation's class map.
static void attach_held_tensors(GstBuffer *buf, const sg::CbinferDriver &driver) {
  GstSparseinferTensorMeta *meta =
      gst_buffer_add_sparseinfer_tensor_meta(buf, driver.model_name().c_str(), driver.task());
  sg::set_meta_labels(meta, driver.labels());
  for (const sg::HeldTensor &t : driver.held_tensors()) {
    GBytes *bytes = shared_bytes(t.data);
    const std::vector<gint64> dims(t.dims.begin(), t.dims.end());
    gst_sparseinfer_tensor_meta_add_tensor_bytes(
        meta, t.name.c_str(), t.dtype == si::DType::Int64 ? GST_SPARSEINFER_DTYPE_INT64 : GST_SPARSEINFER_DTYPE_FLOAT32,
        guint(dims.size()), dims.data(), bytes);
    g_bytes_unref(bytes);
  }
  if (driver.task() == GST_SPARSEINFER_TASK_DETECTION && driver.has_results())
    sg::add_detections_tensor(meta, driver.held_detections());
  // A classifier described as giving probabilities: the overlay shows them as
  // they are ("probabilities") instead of a softmax of them.
  const si::ModelDescription &description = driver.description();
  if (driver.decoder() == si::DecoderKind::Classification && !description.classification.softmax) {
    const std::vector<sg::HeldTensor> &held = driver.held_tensors();
    const sg::HeldTensor *scores = held.empty() ? nullptr : &held[0];
    for (const sg::HeldTensor &t : held)
      if (t.name == description.classification.output) scores = &t;
    if (scores && scores->dtype == si::DType::Float32 && scores->name != "probabilities") {
      GBytes *bytes = shared_bytes(scores->data);
      const std::vector<gint64> dims(scores->dims.begin(), scores->dims.end());
      gst_sparseinfer_tensor_meta_add_tensor_bytes(meta, "probabilities", GST_SPARSEINFER_DTYPE_FLOAT32,
                                                   guint(dims.size()), dims.data(), bytes);
      g_bytes_unref(bytes);
    }
  }
  if (driver.held_class_map()) {
    GBytes *bytes = shared_bytes(driver.held_class_map());
    const gint64 dims[3] = {1, driver.class_map_height(), driver.class_map_width()};
    gst_sparseinfer_tensor_meta_add_tensor_bytes(meta, "class_map", GST_SPARSEINFER_DTYPE_UINT8, 3, dims, bytes);
    g_bytes_unref(bytes);
    meta->background_class = driver.background_class();
  }
}

static GstSparseinferFrameStats *frame_stats(const gchar *stream_id, guint64 frame_index,
                                             const sg::CbinferFrameStats &f) {
  GstSparseinferFrameStats *stats = gst_sparseinfer_frame_stats_new(stream_id, guint(f.layer_changed_fractions.size()));
  stats->frame_index = frame_index;
  stats->inferred = f.inferred;
  stats->dense_frame = f.dense_frame;
  stats->refresh_frame = f.refresh_frame;
  stats->changed_fraction = f.changed_fraction;
  stats->mac_fraction = f.mac_fraction;
  stats->macs_executed = f.macs_executed;
  stats->macs_dense = f.macs_dense;
  stats->process_ms = f.process_ms;
  stats->state_bytes = f.state_bytes;
  for (guint i = 0; i < stats->n_layers; ++i) stats->layer_changed_fractions[i] = f.layer_changed_fractions[i];
  return stats;
}

static GstSparseinferFrameKind kind_of(bool dense) {
  return dense ? GST_SPARSEINFER_FRAME_FULL : GST_SPARSEINFER_FRAME_INCREMENTAL;
}

static GstFlowReturn gst_cbinfer_conv_process(GstSparseinferElement *element, GstBuffer *buf, guint64 frame_index) {
  GstCbinferConv *self = GST_CBINFER_CONV(element);
  sg::CbinferDriver &driver = *self->driver;
  GST_OBJECT_LOCK(self);
  const sg::CbinferSettings settings = self->settings;
  GST_OBJECT_UNLOCK(self);
  driver.update(settings);
  // Full frames (dense, or change mode's refreshes) bound the latency when they
  // recur (refresh-interval, dense mode); the single dense one after a reset
  // may be late rather than delay every frame.
  gst_sparseinfer_element_set_latency_covers(element, GST_SPARSEINFER_FRAME_FULL,
                                             settings.refresh_interval > 0 || settings.mode == si::Mode::Dense);

  // Frames between inferences, and frames that would be late after inference, keep the last results.
  // QoS predicts with the cost of the kind of frame it would be: dense or change.
  bool qos_skip = false;
  const bool late = driver.has_results() && driver.due(frame_index) &&
                    gst_sparseinfer_element_would_be_late(element, buf, kind_of(driver.next_is_dense(frame_index)));
  sg::CbinferFrameStats frame;
  if (driver.should_infer(frame_index, late, &qos_skip)) {
    sg::FrameView view;
    if (!gst_sparseinfer_element_map_frame(element, buf, &view)) return GST_FLOW_ERROR;
    frame = driver.infer(frame_index, view);
    // A refresh is timed as the kind it stands for: the frames whose result is dense's.
    gst_sparseinfer_element_add_processing_time(element, kind_of(frame.dense_frame || frame.refresh_frame),
                                                frame.process_ms);
  } else {
    frame = driver.hold(qos_skip);
  }

  attach_held_tensors(buf, driver);
  if (driver.task() == GST_SPARSEINFER_TASK_DETECTION) {
    sg::attach_detections(buf, driver.held_detections(), driver.labels(), driver.frame_width(), driver.frame_height());
  }
  GstSparseinferFrameStats *stats = frame_stats(gst_sparseinfer_element_get_stream_id(element), frame_index, frame);
  gst_buffer_add_sparseinfer_stream_meta(buf, stats, frame.mask, guint(frame.mask_width), guint(frame.mask_height));

  GST_OBJECT_LOCK(self);
  self->totals.add(frame);
  GST_OBJECT_UNLOCK(self);

  GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": inferred %d dense %d changed %.3f macs %.3f %.2f ms",
                 stats->frame_index, stats->inferred, stats->dense_frame, stats->changed_fraction, stats->mac_fraction,
                 stats->process_ms);
  if (settings.emit_stats) {
    GstStructure *st = sg::frame_stats_structure(GST_BASE_TRANSFORM(self), buf, stats);
    // The scale this frame's thresholds ran with: threshold-scale times the latency budget's factor.
    if (frame.inferred && frame.threshold_scale > 0)
      gst_structure_set(st, "threshold-scale", G_TYPE_DOUBLE, frame.threshold_scale, nullptr);
    if (frame.gated_sparsity >= 0)
      gst_structure_set(st, "target-sparsity", G_TYPE_DOUBLE, settings.target_sparsity, "gated-sparsity", G_TYPE_DOUBLE,
                        frame.gated_sparsity, "sparsity-in-band", G_TYPE_DOUBLE, frame.sparsity_in_band, nullptr);
    gst_sparseinfer_element_post_stats(element, st);
  }
  gst_sparseinfer_frame_stats_unref(stats);
  return GST_FLOW_OK;
}

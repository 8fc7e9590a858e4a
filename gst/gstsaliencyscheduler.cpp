/**
 * SECTION:element-saliencyscheduler
 * @title: saliencyscheduler
 * @see_also: cbinferconv, sparseinferoverlay
 *
 * Classifies every video frame with two networks (saliency dual-stream
 * inference): a large model runs on some frames and emits saliency maps from
 * its gates; a small model at half the resolution runs on the frames between,
 * fusing the maps of the last large run decayed by exp(-k/decay-tau), where k
 * counts the frames since that run. The models follow the contract of
 * examples/models/saliency (large: input "frame", outputs "logits",
 * "saliency_a", "saliency_b"; small: inputs "frame", "saliency_a",
 * "saliency_b", "decay", output "logits"; three classes).
 *
 * With schedule=fixed the large model runs every period frames. With
 * schedule=adaptive it runs earlier when the scene changed a lot since its last
 * run or the small model was unsure (top-1 minus top-2 probability), later
 * while the scene is still, and a cost budget keeps the average MACs per frame
 * under max-cost times the large model's (change-trigger, margin-trigger and
 * change-pixel-threshold tune when it runs early). The small model can run in change
 * mode (CBinfer) on top.
 *
 * The large model's description (MODEL.onnx.json beside it, or its
 * metadata_props; docs/models.md) gives the preprocessing of both networks
 * and the class names; a small model's description must ask for the same
 * preprocessing. A description that cannot be used stops the element at
 * start with an error naming the file and the field. Without one, the
 * ImageNet mean and std on [0, 1] pixels and the model's "labels" metadata apply.
 *
 * Each frame carries a #GstSparseinferTensorMeta (task classification) with
 * the tensors "probabilities" (float [1,3]), "stream" (int64 [1]: 0 large,
 * 1 small), "delay" (int64 [1]: k) and "macs" (int64 [1]: multiply-accumulates
 * spent on the frame), and a #GstSparseinferStreamMeta whose saliency state
 * holds the maps of the last large run and its frame index. A new stream, a
 * flush, a caps change and a jump in time beyond "reset-gap" reset the stream:
 * the next frame runs the large model (dropped frames alone do not). Pixels pass through untouched. The element answers
 * the latency query with the large model's smoothed processing time, the
 * longest a frame is held.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=60 ! video/x-raw,format=RGB,width=256,height=128 ! \
 *     saliencyscheduler large-model=saliency_large.onnx small-model=saliency_small.onnx period=3 ! \
 *     sparseinferoverlay ! videoconvert ! autovideosink
 * ]| The paper's fixed schedule, drawn over the frames. The tensor meta carries the class names of the
 * large model's "labels" metadata, which the overlay shows.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=256,height=128 ! \
 *     saliencyscheduler large-model=saliency_large.onnx small-model=saliency_small.onnx \
 *     schedule=adaptive max-cost=0.3 emit-stats=true ! fakesink -m
 * ]| A dashcam under a cost ceiling, printing each frame's statistics.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/video.h>

#include <new>
#include <string>

#include "element_support.h"
#include "engine_cache.h"
#include "gstsaliencyscheduler.h"
#include "gstsparseinferelements.h"
#include "saliency_driver.h"
#include "sparseinfer-meta.h"
#include "sparseinfer/dual_stream.h"

GST_DEBUG_CATEGORY_STATIC(gst_saliency_scheduler_debug);
#define GST_CAT_DEFAULT gst_saliency_scheduler_debug

namespace si = sparseinfer;
namespace sg = sparseinfer::gst;

#define DEFAULT_PERIOD 3
#define MAX_PERIOD 10000
#define DEFAULT_DECAY_TAU 10.0f
#define MIN_DECAY_TAU 0.01f
#define MAX_DECAY_TAU 1e6f
#define DEFAULT_SCHEDULE GST_SALIENCY_SCHEDULER_SCHEDULE_FIXED
#define DEFAULT_MAX_COST 0.35
#define MIN_MAX_COST 0.001
/* The adaptive triggers default to the core's values. */
static const gdouble DEFAULT_CHANGE_TRIGGER = si::ScheduleOptions{}.change_trigger;
static const gdouble DEFAULT_MARGIN_TRIGGER = si::ScheduleOptions{}.margin_trigger;
static const gfloat DEFAULT_CHANGE_PIXEL_THRESHOLD = si::DualStreamOptions{}.change_pixel_threshold;
#define DEFAULT_SMALL_MODE GST_SALIENCY_SCHEDULER_SMALL_MODE_DENSE
#define DEFAULT_SMALL_THRESHOLD 0.05f
#define MAX_SMALL_THRESHOLD 1000.0f
#define DEFAULT_BACKEND GST_SPARSEINFER_BACKEND_AUTO
#define DEFAULT_THREADS 0
#define MAX_THREADS 1024
#define DEFAULT_EMIT_STATS FALSE

enum {
  PROP_0,
  PROP_LARGE_MODEL,
  PROP_SMALL_MODEL,
  PROP_PERIOD,
  PROP_DECAY_TAU,
  PROP_SCHEDULE,
  PROP_MAX_COST,
  PROP_CHANGE_TRIGGER,
  PROP_MARGIN_TRIGGER,
  PROP_CHANGE_PIXEL_THRESHOLD,
  PROP_SMALL_MODE,
  PROP_SMALL_THRESHOLD,
  PROP_BACKEND,
  PROP_THREADS,
  PROP_EMIT_STATS,
};

struct _GstSaliencyScheduler {
  GstSparseinferElement parent;

  /* Under the object lock. */
  sg::SaliencySettings settings;

  /* Streaming thread. */
  sg::SaliencyDriver *driver;
  // The maps of the last large run as the stream meta shares them (one object per large run).
  GstSparseinferSaliencyState *saliency;
};

#define gst_saliency_scheduler_parent_class parent_class
G_DEFINE_TYPE(GstSaliencyScheduler, gst_saliency_scheduler, GST_TYPE_SPARSEINFER_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(saliencyscheduler, "saliencyscheduler", GST_RANK_NONE, GST_TYPE_SALIENCY_SCHEDULER);

static GType gst_saliency_scheduler_schedule_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SALIENCY_SCHEDULER_SCHEDULE_FIXED, "Large model every period frames (the paper)", "fixed"},
      {GST_SALIENCY_SCHEDULER_SCHEDULE_ADAPTIVE,
       "Large model earlier on scene change or an unsure small model, later while still, under max-cost", "adaptive"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSaliencySchedulerSchedule", values));
  return type;
}

static GType gst_saliency_scheduler_small_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SALIENCY_SCHEDULER_SMALL_MODE_DENSE, "Small model in full on its frames", "dense"},
      {GST_SALIENCY_SCHEDULER_SMALL_MODE_CHANGE, "Small model recomputes only what changed (CBinfer)", "change"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSaliencySchedulerSmallMode", values));
  return type;
}

static void gst_saliency_scheduler_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_saliency_scheduler_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_saliency_scheduler_finalize(GObject *object);
static gboolean gst_saliency_scheduler_open(GstSparseinferElement *element);
static void gst_saliency_scheduler_close(GstSparseinferElement *element);
static void gst_saliency_scheduler_reset(GstSparseinferElement *element);
static GstFlowReturn gst_saliency_scheduler_process(GstSparseinferElement *element, GstBuffer *buf,
                                                    guint64 frame_index);

static void gst_saliency_scheduler_class_init(GstSaliencySchedulerClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstSparseinferElementClass *base_class = GST_SPARSEINFER_ELEMENT_CLASS(klass);
  const auto ready = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto playing = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  gobject_class->set_property = gst_saliency_scheduler_set_property;
  gobject_class->get_property = gst_saliency_scheduler_get_property;
  gobject_class->finalize = gst_saliency_scheduler_finalize;

  g_object_class_install_property(
      gobject_class, PROP_LARGE_MODEL,
      g_param_spec_string("large-model", "Large model",
                          "ONNX file of the large network (Phi): input 'frame', outputs 'logits', 'saliency_a', "
                          "'saliency_b'",
                          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_SMALL_MODEL,
      g_param_spec_string("small-model", "Small model",
                          "ONNX file of the small network (Phi'): inputs 'frame' (half resolution), 'saliency_a', "
                          "'saliency_b', 'decay', output 'logits'",
                          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_PERIOD,
      g_param_spec_uint("period", "Period",
                        "T: the large model runs every T frames (fixed), or about that often (adaptive); 1: always", 1,
                        MAX_PERIOD, DEFAULT_PERIOD, ready));
  g_object_class_install_property(
      gobject_class, PROP_DECAY_TAU,
      g_param_spec_float("decay-tau", "Decay tau",
                         "tau of the decay exp(-k/tau) applied to the saliency maps k frames after the large run",
                         MIN_DECAY_TAU, MAX_DECAY_TAU, DEFAULT_DECAY_TAU, ready));
  g_object_class_install_property(
      gobject_class, PROP_SCHEDULE,
      g_param_spec_enum("schedule", "Schedule", "When the large model runs", gst_saliency_scheduler_schedule_get_type(),
                        DEFAULT_SCHEDULE, ready));
  g_object_class_install_property(
      gobject_class, PROP_MAX_COST,
      g_param_spec_double("max-cost", "Max cost",
                          "Adaptive: ceiling on the average MACs per frame, as a fraction of the large model's "
                          "(at least the small model's own fraction)",
                          MIN_MAX_COST, 1.0, DEFAULT_MAX_COST, ready));
  g_object_class_install_property(
      gobject_class, PROP_CHANGE_TRIGGER,
      g_param_spec_double("change-trigger", "Change trigger",
                          "Adaptive: run the large model early when this share of pixels changed since its last run "
                          "(see change-pixel-threshold)",
                          0.0, 1.0, DEFAULT_CHANGE_TRIGGER, ready));
  g_object_class_install_property(
      gobject_class, PROP_MARGIN_TRIGGER,
      g_param_spec_double("margin-trigger", "Margin trigger",
                          "Adaptive: run the large model early when the small model's top-1 minus top-2 probability "
                          "on the previous frame is below this",
                          0.0, 1.0, DEFAULT_MARGIN_TRIGGER, ready));
  g_object_class_install_property(
      gobject_class, PROP_CHANGE_PIXEL_THRESHOLD,
      g_param_spec_float("change-pixel-threshold", "Change pixel threshold",
                         "A pixel counts as changed since the large model's last run when one of its channels moved "
                         "by more than this (0-1, of the full pixel range; at the small model's resolution)",
                         0.0f, 1.0f, DEFAULT_CHANGE_PIXEL_THRESHOLD, ready));
  g_object_class_install_property(
      gobject_class, PROP_SMALL_MODE,
      g_param_spec_enum("small-mode", "Small mode", "Execution mode of the small model",
                        gst_saliency_scheduler_small_mode_get_type(), DEFAULT_SMALL_MODE, ready));
  g_object_class_install_property(
      gobject_class, PROP_SMALL_THRESHOLD,
      g_param_spec_float("small-threshold", "Small threshold",
                         "small-mode=change: change-detection threshold of the small model's layers, on the "
                         "normalized input scale (0: exact)",
                         0.0f, MAX_SMALL_THRESHOLD, DEFAULT_SMALL_THRESHOLD, ready));
  g_object_class_install_property(gobject_class, PROP_BACKEND,
                                  g_param_spec_enum("backend", "Backend", "Where the networks run",
                                                    GST_TYPE_SPARSEINFER_BACKEND, DEFAULT_BACKEND, ready));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "CPU threads (0: one per core)", 0, MAX_THREADS, DEFAULT_THREADS, ready));
  g_object_class_install_property(
      gobject_class, PROP_EMIT_STATS,
      g_param_spec_boolean("emit-stats", "Emit statistics",
                           "Post an element message \"sparseinfer-frame-stats\" with each frame's statistics and "
                           "stream, delay, reason, label, margin",
                           DEFAULT_EMIT_STATS, playing));

  gst_element_class_set_static_metadata(element_class, "Saliency dual-stream classification", "Filter/Analyzer/Video",
                                        "Classifies frames with a large network every few frames and a small one "
                                        "fusing its decayed saliency maps in between; results as metas",
                                        "sparseinfer developers");

  base_class->open = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_open);
  base_class->close = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_close);
  base_class->reset = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_reset);
  base_class->process = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_process);

  gst_type_mark_as_plugin_api(gst_saliency_scheduler_schedule_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_saliency_scheduler_small_mode_get_type(), (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_saliency_scheduler_debug, "saliencyscheduler", 0, "saliency dual-stream classification");
}

static void gst_saliency_scheduler_init(GstSaliencyScheduler *self) {
  sg::SaliencySettings *s = new (&self->settings) sg::SaliencySettings();
  si::DualStreamOptions &o = s->options;
  o.schedule.period = DEFAULT_PERIOD;
  o.decay_tau = DEFAULT_DECAY_TAU;
  o.schedule.kind = DEFAULT_SCHEDULE == GST_SALIENCY_SCHEDULER_SCHEDULE_ADAPTIVE ? si::ScheduleKind::Adaptive
                                                                                 : si::ScheduleKind::Fixed;
  o.schedule.max_cost = DEFAULT_MAX_COST;
  o.schedule.change_trigger = DEFAULT_CHANGE_TRIGGER;
  o.schedule.margin_trigger = DEFAULT_MARGIN_TRIGGER;
  o.change_pixel_threshold = DEFAULT_CHANGE_PIXEL_THRESHOLD;
  o.small_mode = DEFAULT_SMALL_MODE == GST_SALIENCY_SCHEDULER_SMALL_MODE_CHANGE ? si::Mode::Change : si::Mode::Dense;
  o.small_threshold = DEFAULT_SMALL_THRESHOLD;
  o.backend = sg::core_backend(DEFAULT_BACKEND);
  o.threads = DEFAULT_THREADS;
  s->emit_stats = DEFAULT_EMIT_STATS;
  self->driver = new sg::SaliencyDriver();
  self->saliency = nullptr;
}

static void drop_saliency(GstSaliencyScheduler *self) {
  if (self->saliency) gst_sparseinfer_saliency_state_unref(self->saliency);
  self->saliency = nullptr;
}

static void gst_saliency_scheduler_finalize(GObject *object) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(object);
  drop_saliency(self);
  delete self->driver;
  self->settings.~SaliencySettings();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_saliency_scheduler_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(object);
  si::DualStreamOptions &o = self->settings.options;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LARGE_MODEL:
      o.large_model = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_SMALL_MODEL:
      o.small_model = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    case PROP_PERIOD:
      o.schedule.period = int(g_value_get_uint(value));
      break;
    case PROP_DECAY_TAU:
      o.decay_tau = g_value_get_float(value);
      break;
    case PROP_SCHEDULE:
      o.schedule.kind = g_value_get_enum(value) == GST_SALIENCY_SCHEDULER_SCHEDULE_ADAPTIVE ? si::ScheduleKind::Adaptive
                                                                                            : si::ScheduleKind::Fixed;
      break;
    case PROP_MAX_COST:
      o.schedule.max_cost = g_value_get_double(value);
      break;
    case PROP_CHANGE_TRIGGER:
      o.schedule.change_trigger = g_value_get_double(value);
      break;
    case PROP_MARGIN_TRIGGER:
      o.schedule.margin_trigger = g_value_get_double(value);
      break;
    case PROP_CHANGE_PIXEL_THRESHOLD:
      o.change_pixel_threshold = g_value_get_float(value);
      break;
    case PROP_SMALL_MODE:
      o.small_mode =
          g_value_get_enum(value) == GST_SALIENCY_SCHEDULER_SMALL_MODE_CHANGE ? si::Mode::Change : si::Mode::Dense;
      break;
    case PROP_SMALL_THRESHOLD:
      o.small_threshold = g_value_get_float(value);
      break;
    case PROP_BACKEND:
      o.backend = sg::core_backend((GstSparseinferBackend)g_value_get_enum(value));
      break;
    case PROP_THREADS:
      o.threads = g_value_get_int(value);
      break;
    case PROP_EMIT_STATS:
      self->settings.emit_stats = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_saliency_scheduler_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(object);
  const si::DualStreamOptions &o = self->settings.options;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LARGE_MODEL:
      g_value_set_string(value, o.large_model.empty() ? nullptr : o.large_model.c_str());
      break;
    case PROP_SMALL_MODEL:
      g_value_set_string(value, o.small_model.empty() ? nullptr : o.small_model.c_str());
      break;
    case PROP_PERIOD:
      g_value_set_uint(value, guint(o.schedule.period));
      break;
    case PROP_DECAY_TAU:
      g_value_set_float(value, o.decay_tau);
      break;
    case PROP_SCHEDULE:
      g_value_set_enum(value, o.schedule.kind == si::ScheduleKind::Adaptive ? GST_SALIENCY_SCHEDULER_SCHEDULE_ADAPTIVE
                                                                            : GST_SALIENCY_SCHEDULER_SCHEDULE_FIXED);
      break;
    case PROP_MAX_COST:
      g_value_set_double(value, o.schedule.max_cost);
      break;
    case PROP_CHANGE_TRIGGER:
      g_value_set_double(value, o.schedule.change_trigger);
      break;
    case PROP_MARGIN_TRIGGER:
      g_value_set_double(value, o.schedule.margin_trigger);
      break;
    case PROP_CHANGE_PIXEL_THRESHOLD:
      g_value_set_float(value, o.change_pixel_threshold);
      break;
    case PROP_SMALL_MODE:
      g_value_set_enum(value, o.small_mode == si::Mode::Change ? GST_SALIENCY_SCHEDULER_SMALL_MODE_CHANGE
                                                               : GST_SALIENCY_SCHEDULER_SMALL_MODE_DENSE);
      break;
    case PROP_SMALL_THRESHOLD:
      g_value_set_float(value, o.small_threshold);
      break;
    case PROP_BACKEND:
      g_value_set_enum(value, sg::backend_property(o.backend));
      break;
    case PROP_THREADS:
      g_value_set_int(value, o.threads);
      break;
    case PROP_EMIT_STATS:
      g_value_set_boolean(value, self->settings.emit_stats);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_saliency_scheduler_open(GstSparseinferElement *element) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(element);
  GST_OBJECT_LOCK(self);
  sg::SaliencySettings settings = self->settings;
  GST_OBJECT_UNLOCK(self);
  gchar *instance_id = gst_sparseinfer_element_dup_model_instance_id(element);
  settings.model_instance_id = instance_id;
  g_free(instance_id);

  const si::DualStreamOptions &o = settings.options;
  gst_sparseinfer_element_set_models(
      element, ("models \"" + o.large_model + "\" and \"" + o.small_model + "\"").c_str(),
      ("models \"" + sg::base_name(o.large_model) + "\" and \"" + sg::base_name(o.small_model) + "\"").c_str());
  if (!sg::check_model_file(GST_ELEMENT(self), o.large_model, "large-model") ||
      !sg::check_model_file(GST_ELEMENT(self), o.small_model, "small-model"))
    return FALSE;
  try {
    self->driver->open(settings);
  } catch (const sg::DescriptionError &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid model description: %s", e.what()), ("%s", e.what()));
    return FALSE;
  } catch (const sg::InstanceMismatch &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid property '%s': %s.", e.property().c_str(), e.what()),
                      ("%s", e.what()));
    return FALSE;
  }
  const si::DualStreamRunner &runner = self->driver->runner();
  GST_INFO_OBJECT(self, "loaded %s (%dx%d, %" G_GINT64_FORMAT " MACs) and %s (%" G_GINT64_FORMAT " MACs, %s), %s T=%d",
                  o.large_model.c_str(), runner.input_width(), runner.input_height(), runner.large_macs(),
                  o.small_model.c_str(), runner.small_macs_dense(), si::mode_name(o.small_mode),
                  si::schedule_kind_name(o.schedule.kind), o.schedule.period);
  return TRUE;
}

static void gst_saliency_scheduler_close(GstSparseinferElement *element) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(element);
  drop_saliency(self);
  self->driver->close();
}

static void gst_saliency_scheduler_reset(GstSparseinferElement *element) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(element);
  self->driver->reset();
  drop_saliency(self);
}

// A new shared snapshot of the maps the large model just emitted.
static GstSparseinferSaliencyState *saliency_snapshot(const si::DualStreamState &state) {
  const std::vector<si::Tensor> &maps = state.saliency_maps();
  GstSparseinferSaliencyState *snap =
      gst_sparseinfer_saliency_state_new(guint64(state.last_large_frame()), guint(maps.size()));
  for (size_t i = 0; i < maps.size(); ++i) {
    const si::Tensor &t = maps[i];
    gst_sparseinfer_saliency_state_set_map(snap, guint(i), i < 2 ? si::kSaliencyMapNames[i] : "saliency",
                                           guint(t.dim(3)), guint(t.dim(2)), t.f32());
  }
  return snap;
}

static void attach_results(GstBuffer *buf, const sg::SaliencyDriver &driver, const si::DualStreamResult &r) {
  GstSparseinferTensorMeta *meta = gst_buffer_add_sparseinfer_tensor_meta(buf, driver.model_name(r.stream).c_str(),
                                                                          GST_SPARSEINFER_TASK_CLASSIFICATION);
  sg::set_meta_labels(meta, driver.labels());
  const gint64 prob_dims[2] = {1, si::kSaliencyClasses};
  const gint64 one[1] = {1};
  const gint64 stream = gint64(r.stream), delay = r.k, macs = r.macs;
  gst_sparseinfer_tensor_meta_add_tensor(meta, "probabilities", GST_SPARSEINFER_DTYPE_FLOAT32, 2, prob_dims,
                                         r.probabilities.data(), sizeof(float) * si::kSaliencyClasses);
  gst_sparseinfer_tensor_meta_add_tensor(meta, "stream", GST_SPARSEINFER_DTYPE_INT64, 1, one, &stream, sizeof stream);
  gst_sparseinfer_tensor_meta_add_tensor(meta, "delay", GST_SPARSEINFER_DTYPE_INT64, 1, one, &delay, sizeof delay);
  gst_sparseinfer_tensor_meta_add_tensor(meta, "macs", GST_SPARSEINFER_DTYPE_INT64, 1, one, &macs, sizeof macs);
}

static GstFlowReturn gst_saliency_scheduler_process(GstSparseinferElement *element, GstBuffer *buf, guint64) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(element);
  sg::SaliencyDriver &driver = *self->driver;
  GST_OBJECT_LOCK(self);
  const gboolean emit = self->settings.emit_stats;
  GST_OBJECT_UNLOCK(self);

  sg::FrameView view;
  if (!gst_sparseinfer_element_map_frame(element, buf, &view)) return GST_FLOW_ERROR;
  const si::DualStreamResult r = driver.run(view);

  // One snapshot per large run; the small frames after it share it. Only the
  // large model bounds the latency (the small one is faster).
  if (r.stream == si::DualStream::Large) {
    drop_saliency(self);
    self->saliency = saliency_snapshot(driver.state());
    gst_sparseinfer_element_update_latency(element, r.ms);
  }

  attach_results(buf, driver, r);
  GstSparseinferFrameStats *stats = gst_sparseinfer_frame_stats_new(gst_sparseinfer_element_get_stream_id(element), 0);
  stats->frame_index = guint64(r.frame_index);
  stats->inferred = TRUE;
  stats->dense_frame = r.stream == si::DualStream::Large;
  stats->changed_fraction = r.change_fraction;
  stats->mac_fraction = r.cost;
  stats->macs_executed = r.macs;
  stats->macs_dense = driver.runner().large_macs();
  stats->process_ms = r.ms;
  stats->state_bytes = driver.state().state_bytes();
  GstSparseinferStreamMeta *smeta = gst_buffer_add_sparseinfer_stream_meta(buf, stats, nullptr, 0, 0);
  if (smeta) gst_sparseinfer_stream_meta_set_saliency(smeta, self->saliency);

  GST_LOG_OBJECT(self, "frame %" G_GINT64_FORMAT ": %s (%s) k=%" G_GINT64_FORMAT " label %d p=%.3f macs %.3f %.2f ms",
                 r.frame_index, si::dual_stream_name(r.stream), si::schedule_reason_name(r.reason), r.k, r.label,
                 double(r.probabilities[size_t(r.label)]), r.cost, r.ms);
  if (emit) {
    GstStructure *st = sg::frame_stats_structure(GST_BASE_TRANSFORM(self), buf, stats);
    gst_structure_set(st, "stream", G_TYPE_STRING, si::dual_stream_name(r.stream), "reason", G_TYPE_STRING,
                      si::schedule_reason_name(r.reason), "delay", G_TYPE_INT64, gint64(r.k), "label", G_TYPE_INT,
                      r.label, "probability", G_TYPE_DOUBLE, double(r.probabilities[size_t(r.label)]), "margin",
                      G_TYPE_DOUBLE, r.margin, nullptr);
    gst_sparseinfer_element_post_stats(element, st);
  }
  gst_sparseinfer_frame_stats_unref(stats);
  return GST_FLOW_OK;
}

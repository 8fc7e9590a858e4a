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
 * Each frame carries a #GstSparseinferTensorMeta (task classification) with
 * the tensors "probabilities" (float [1,3]), "stream" (int64 [1]: 0 large,
 * 1 small), "delay" (int64 [1]: k) and "macs" (int64 [1]: multiply-accumulates
 * spent on the frame), and a #GstSparseinferStreamMeta whose saliency state
 * holds the maps of the last large run and its frame index. A new stream, a
 * flush, a caps change and a discontinuity reset the stream: the next frame
 * runs the large model. Pixels pass through untouched. The element answers
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

#include <memory>
#include <string>

#include "element_support.h"
#include "gstsaliencyscheduler.h"
#include "gstsparseinferelements.h"
#include "sparseinfer-meta.h"
#include "sparseinfer/dual_stream.h"
#include "sparseinfer/error.h"

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
#define DEFAULT_BACKEND GST_SALIENCY_SCHEDULER_BACKEND_AUTO
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

#define VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, RGBA, BGRA, GRAY8 }"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));

namespace {

// What the streaming thread owns (and stop() clears).
struct Streaming {
  std::unique_ptr<si::DualStreamRunner> runner;
  std::unique_ptr<si::DualStreamState> state;
  GstVideoInfo info;
  gboolean have_info = FALSE;
  std::string stream_id;
  std::string large_name, small_name;
  // The maps of the last large run as the stream meta shares them (one object per large run).
  GstSparseinferSaliencyState *saliency = nullptr;
  sg::LatencyEstimate latency;  // processing time of the large frames (the small ones are faster)

  void drop_saliency() {
    if (saliency) gst_sparseinfer_saliency_state_unref(saliency);
    saliency = nullptr;
  }
  ~Streaming() { drop_saliency(); }
};

}  // namespace

struct _GstSaliencyScheduler {
  GstBaseTransform parent;

  /* Settings, under the object lock. */
  gchar *large_model, *small_model;
  guint period;
  gfloat decay_tau;
  GstSaliencySchedulerSchedule schedule;
  gdouble max_cost;
  gdouble change_trigger, margin_trigger;
  gfloat change_pixel_threshold;
  GstSaliencySchedulerSmallMode small_mode;
  gfloat small_threshold;
  GstSaliencySchedulerBackend backend;
  gint threads;
  gboolean emit_stats;

  GstClockTime latency; /* reported to the pipeline, under the object lock */
  Streaming *streaming;
};

#define gst_saliency_scheduler_parent_class parent_class
G_DEFINE_TYPE(GstSaliencyScheduler, gst_saliency_scheduler, GST_TYPE_BASE_TRANSFORM);
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

static GType gst_saliency_scheduler_backend_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SALIENCY_SCHEDULER_BACKEND_AUTO, "Best available (CPU in this build)", "auto"},
      {GST_SALIENCY_SCHEDULER_BACKEND_CPU, "CPU", "cpu"},
      {GST_SALIENCY_SCHEDULER_BACKEND_CUDA, "NVIDIA GPU (CUDA)", "cuda"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstSaliencySchedulerBackend", values));
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
static gboolean gst_saliency_scheduler_start(GstBaseTransform *trans);
static gboolean gst_saliency_scheduler_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query);
static gboolean gst_saliency_scheduler_stop(GstBaseTransform *trans);
static gboolean gst_saliency_scheduler_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps);
static gboolean gst_saliency_scheduler_sink_event(GstBaseTransform *trans, GstEvent *event);
static GstFlowReturn gst_saliency_scheduler_transform_ip(GstBaseTransform *trans, GstBuffer *buf);

static void gst_saliency_scheduler_class_init(GstSaliencySchedulerClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
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
                                                    gst_saliency_scheduler_backend_get_type(), DEFAULT_BACKEND, ready));
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
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_start);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_query);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_saliency_scheduler_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api(gst_saliency_scheduler_schedule_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_saliency_scheduler_backend_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_saliency_scheduler_small_mode_get_type(), (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_saliency_scheduler_debug, "saliencyscheduler", 0, "saliency dual-stream classification");
}

static void gst_saliency_scheduler_init(GstSaliencyScheduler *self) {
  self->large_model = self->small_model = nullptr;
  self->period = DEFAULT_PERIOD;
  self->decay_tau = DEFAULT_DECAY_TAU;
  self->schedule = DEFAULT_SCHEDULE;
  self->max_cost = DEFAULT_MAX_COST;
  self->change_trigger = DEFAULT_CHANGE_TRIGGER;
  self->margin_trigger = DEFAULT_MARGIN_TRIGGER;
  self->change_pixel_threshold = DEFAULT_CHANGE_PIXEL_THRESHOLD;
  self->small_mode = DEFAULT_SMALL_MODE;
  self->small_threshold = DEFAULT_SMALL_THRESHOLD;
  self->backend = DEFAULT_BACKEND;
  self->threads = DEFAULT_THREADS;
  self->emit_stats = DEFAULT_EMIT_STATS;
  self->latency = 0;
  self->streaming = nullptr;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_saliency_scheduler_finalize(GObject *object) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(object);
  delete self->streaming;
  g_free(self->large_model);
  g_free(self->small_model);
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_saliency_scheduler_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LARGE_MODEL:
      g_free(self->large_model);
      self->large_model = g_value_dup_string(value);
      break;
    case PROP_SMALL_MODEL:
      g_free(self->small_model);
      self->small_model = g_value_dup_string(value);
      break;
    case PROP_PERIOD:
      self->period = g_value_get_uint(value);
      break;
    case PROP_DECAY_TAU:
      self->decay_tau = g_value_get_float(value);
      break;
    case PROP_SCHEDULE:
      self->schedule = (GstSaliencySchedulerSchedule)g_value_get_enum(value);
      break;
    case PROP_MAX_COST:
      self->max_cost = g_value_get_double(value);
      break;
    case PROP_CHANGE_TRIGGER:
      self->change_trigger = g_value_get_double(value);
      break;
    case PROP_MARGIN_TRIGGER:
      self->margin_trigger = g_value_get_double(value);
      break;
    case PROP_CHANGE_PIXEL_THRESHOLD:
      self->change_pixel_threshold = g_value_get_float(value);
      break;
    case PROP_SMALL_MODE:
      self->small_mode = (GstSaliencySchedulerSmallMode)g_value_get_enum(value);
      break;
    case PROP_SMALL_THRESHOLD:
      self->small_threshold = g_value_get_float(value);
      break;
    case PROP_BACKEND:
      self->backend = (GstSaliencySchedulerBackend)g_value_get_enum(value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int(value);
      break;
    case PROP_EMIT_STATS:
      self->emit_stats = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_saliency_scheduler_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LARGE_MODEL:
      g_value_set_string(value, self->large_model);
      break;
    case PROP_SMALL_MODEL:
      g_value_set_string(value, self->small_model);
      break;
    case PROP_PERIOD:
      g_value_set_uint(value, self->period);
      break;
    case PROP_DECAY_TAU:
      g_value_set_float(value, self->decay_tau);
      break;
    case PROP_SCHEDULE:
      g_value_set_enum(value, self->schedule);
      break;
    case PROP_MAX_COST:
      g_value_set_double(value, self->max_cost);
      break;
    case PROP_CHANGE_TRIGGER:
      g_value_set_double(value, self->change_trigger);
      break;
    case PROP_MARGIN_TRIGGER:
      g_value_set_double(value, self->margin_trigger);
      break;
    case PROP_CHANGE_PIXEL_THRESHOLD:
      g_value_set_float(value, self->change_pixel_threshold);
      break;
    case PROP_SMALL_MODE:
      g_value_set_enum(value, self->small_mode);
      break;
    case PROP_SMALL_THRESHOLD:
      g_value_set_float(value, self->small_threshold);
      break;
    case PROP_BACKEND:
      g_value_set_enum(value, self->backend);
      break;
    case PROP_THREADS:
      g_value_set_int(value, self->threads);
      break;
    case PROP_EMIT_STATS:
      g_value_set_boolean(value, self->emit_stats);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_saliency_scheduler_start(GstBaseTransform *trans) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(trans);
  si::DualStreamOptions o;
  GST_OBJECT_LOCK(self);
  o.large_model = self->large_model ? self->large_model : "";
  o.small_model = self->small_model ? self->small_model : "";
  o.schedule.period = int(self->period);
  o.schedule.kind =
      self->schedule == GST_SALIENCY_SCHEDULER_SCHEDULE_ADAPTIVE ? si::ScheduleKind::Adaptive : si::ScheduleKind::Fixed;
  o.schedule.max_cost = self->max_cost;
  o.schedule.change_trigger = self->change_trigger;
  o.schedule.margin_trigger = self->margin_trigger;
  o.change_pixel_threshold = self->change_pixel_threshold;
  o.decay_tau = self->decay_tau;
  o.small_mode = self->small_mode == GST_SALIENCY_SCHEDULER_SMALL_MODE_CHANGE ? si::Mode::Change : si::Mode::Dense;
  o.small_threshold = self->small_threshold;
  o.backend = self->backend == GST_SALIENCY_SCHEDULER_BACKEND_CUDA  ? si::Backend::Cuda
              : self->backend == GST_SALIENCY_SCHEDULER_BACKEND_CPU ? si::Backend::Cpu
                                                                    : si::Backend::Auto;
  o.threads = self->threads;
  GST_OBJECT_UNLOCK(self);

  if (!sg::check_model_file(GST_ELEMENT(self), o.large_model, "large-model") ||
      !sg::check_model_file(GST_ELEMENT(self), o.small_model, "small-model"))
    return FALSE;
  auto streaming = std::make_unique<Streaming>();
  try {
    streaming->runner = std::make_unique<si::DualStreamRunner>(o);
    streaming->state = streaming->runner->new_stream();
  } catch (...) {
    sg::post_load_error(GST_ELEMENT(self), "models \"" + o.large_model + "\" and \"" + o.small_model + "\"");
    return FALSE;
  }
  streaming->large_name = sg::base_name(o.large_model);
  streaming->small_name = sg::base_name(o.small_model);
  GST_INFO_OBJECT(self, "loaded %s (%dx%d, %" G_GINT64_FORMAT " MACs) and %s (%" G_GINT64_FORMAT " MACs, %s), %s T=%d",
                  o.large_model.c_str(), streaming->runner->input_width(), streaming->runner->input_height(),
                  streaming->runner->large_macs(), o.small_model.c_str(), streaming->runner->small_macs_dense(),
                  si::mode_name(o.small_mode), si::schedule_kind_name(o.schedule.kind), o.schedule.period);
  delete self->streaming;
  self->streaming = streaming.release();
  GST_OBJECT_LOCK(self);
  self->latency = 0;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_saliency_scheduler_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(trans);
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query);
  if (!GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query)) return FALSE;
  sg::add_latency(GST_ELEMENT(self), query, &self->latency);
  return TRUE;
}

static gboolean gst_saliency_scheduler_stop(GstBaseTransform *trans) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(trans);
  delete self->streaming;
  self->streaming = nullptr;
  return TRUE;
}

// Forget the stream's past: the next frame runs the large model.
static void reset_stream(GstSaliencyScheduler *self, const char *why) {
  Streaming *s = self->streaming;
  if (!s) return;
  GST_DEBUG_OBJECT(self, "resetting stream state: %s", why);
  s->state->reset();
  s->drop_saliency();
}

static gboolean gst_saliency_scheduler_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(trans);
  Streaming *s = self->streaming;
  if (!s) return FALSE;
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_ERROR_OBJECT(self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  s->info = info;
  s->have_info = TRUE;
  reset_stream(self, "caps change");
  return TRUE;
}

static gboolean gst_saliency_scheduler_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START:
      if (self->streaming && sg::starts_new_stream(event, self->streaming->stream_id)) reset_stream(self, "new stream");
      break;
    case GST_EVENT_FLUSH_STOP:
      reset_stream(self, "flush");
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

// A new shared snapshot of the maps the large model just emitted.
static GstSparseinferSaliencyState *saliency_snapshot(const si::DualStreamState &state) {
  const std::vector<si::Tensor> &maps = state.saliency_maps();
  GstSparseinferSaliencyState *snap =
      gst_sparseinfer_saliency_state_new(guint64(state.last_large_frame()), guint(maps.size()));
  for (size_t i = 0; i < maps.size(); ++i) {
    const si::Tensor &t = maps[i];
    gst_sparseinfer_saliency_state_set_map(snap, guint(i), i < 2 ? si::kSaliencyMapNames[i] : "saliency", guint(t.dim(3)),
                                           guint(t.dim(2)), t.f32());
  }
  return snap;
}

static void attach_results(GstBuffer *buf, const Streaming *s, const si::DualStreamResult &r) {
  GstSparseinferTensorMeta *meta = gst_buffer_add_sparseinfer_tensor_meta(
      buf, (r.stream == si::DualStream::Large ? s->large_name : s->small_name).c_str(),
      GST_SPARSEINFER_TASK_CLASSIFICATION);
  sg::set_meta_labels(meta, s->runner->labels());
  const gint64 prob_dims[2] = {1, si::kSaliencyClasses};
  const gint64 one[1] = {1};
  const gint64 stream = gint64(r.stream), delay = r.k, macs = r.macs;
  gst_sparseinfer_tensor_meta_add_tensor(meta, "probabilities", GST_SPARSEINFER_DTYPE_FLOAT32, 2, prob_dims,
                                         r.probabilities.data(), sizeof(float) * si::kSaliencyClasses);
  gst_sparseinfer_tensor_meta_add_tensor(meta, "stream", GST_SPARSEINFER_DTYPE_INT64, 1, one, &stream, sizeof stream);
  gst_sparseinfer_tensor_meta_add_tensor(meta, "delay", GST_SPARSEINFER_DTYPE_INT64, 1, one, &delay, sizeof delay);
  gst_sparseinfer_tensor_meta_add_tensor(meta, "macs", GST_SPARSEINFER_DTYPE_INT64, 1, one, &macs, sizeof macs);
}

static GstFlowReturn gst_saliency_scheduler_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstSaliencyScheduler *self = GST_SALIENCY_SCHEDULER(trans);
  Streaming *s = self->streaming;
  if (!s || !s->have_info) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No caps were negotiated before the first frame."), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT) && s->state->frame_index() > 0)
    reset_stream(self, "discontinuity");

  GST_OBJECT_LOCK(self);
  const gboolean emit = self->emit_stats;
  GST_OBJECT_UNLOCK(self);

  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &s->info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map the video frame for reading."), (nullptr));
    return GST_FLOW_ERROR;
  }
  si::DualStreamResult r;
  try {
    r = s->runner->run(*s->state, static_cast<const uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)),
                       GST_VIDEO_FRAME_WIDTH(&frame), GST_VIDEO_FRAME_HEIGHT(&frame),
                       GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0), sg::pixel_format(GST_VIDEO_FRAME_FORMAT(&frame)));
  } catch (const std::exception &e) {
    gst_video_frame_unmap(&frame);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Inference failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  gst_video_frame_unmap(&frame);

  // One snapshot per large run; the small frames after it share it.
  if (r.stream == si::DualStream::Large) {
    s->drop_saliency();
    s->saliency = saliency_snapshot(*s->state);
    sg::update_latency(GST_ELEMENT(self), s->latency, &self->latency, r.ms);
  }

  attach_results(buf, s, r);
  GstSparseinferFrameStats *stats = gst_sparseinfer_frame_stats_new(s->stream_id.c_str(), 0);
  stats->frame_index = guint64(r.frame_index);
  stats->inferred = TRUE;
  stats->dense_frame = r.stream == si::DualStream::Large;
  stats->changed_fraction = r.change_fraction;
  stats->mac_fraction = r.cost;
  stats->macs_executed = r.macs;
  stats->macs_dense = s->runner->large_macs();
  stats->process_ms = r.ms;
  stats->state_bytes = s->state->state_bytes();
  GstSparseinferStreamMeta *smeta = gst_buffer_add_sparseinfer_stream_meta(buf, stats, nullptr, 0, 0);
  if (smeta) gst_sparseinfer_stream_meta_set_saliency(smeta, s->saliency);

  GST_LOG_OBJECT(self, "frame %" G_GINT64_FORMAT ": %s (%s) k=%" G_GINT64_FORMAT " label %d p=%.3f macs %.3f %.2f ms",
                 r.frame_index, si::dual_stream_name(r.stream), si::schedule_reason_name(r.reason), r.k, r.label,
                 double(r.probabilities[size_t(r.label)]), r.cost, r.ms);
  if (emit) {
    GstStructure *st = sg::frame_stats_structure(trans, buf, stats);
    gst_structure_set(st, "stream", G_TYPE_STRING, si::dual_stream_name(r.stream), "reason", G_TYPE_STRING,
                      si::schedule_reason_name(r.reason), "delay", G_TYPE_INT64, gint64(r.k), "label", G_TYPE_INT,
                      r.label, "probability", G_TYPE_DOUBLE, double(r.probabilities[size_t(r.label)]), "margin",
                      G_TYPE_DOUBLE, r.margin, nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
  }
  gst_sparseinfer_frame_stats_unref(stats);
  return GST_FLOW_OK;
}

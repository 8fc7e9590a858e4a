/**
 * SECTION:gstsparseinferelement
 * @title: GstSparseinferElement
 * @short_description: Base class of the sparseinfer inference elements
 * @see_also: cbinferconv, saliencyscheduler
 *
 * An in-place #GstBaseTransform on packed raw video (RGB, BGR, RGBx, BGRx,
 * RGBA, BGRA, GRAY8) whose pixels pass through untouched while the results
 * ride on the buffers as metas. The base class keeps the per-stream
 * bookkeeping every element needs the same way: the stream is reset, and its
 * next frame starts afresh, on a STREAM_START with a new stream-id, a
 * FLUSH_STOP, caps that describe other frames (size, format) and, when the
 * "reset-gap" property is set, a jump in running time longer than it. A
 * DISCONT buffer alone does not reset: a leaky queue or a live source that
 * dropped frames marks the next one DISCONT, and the stream state is compared
 * with the last frame processed, so a gap needs no reset (resetting there
 * would make every frame after a drop a slow full one, and drop more).
 *
 * The latency query adds the processing time of the slowest kind of frame the
 * element produces in steady state, with headroom, not a mean of all frames,
 * so those frames reach a synchronised sink in time; a subclass may leave out
 * a kind it produces only once after a reset
 * (gst_sparseinfer_element_set_latency_covers()). A LATENCY message is posted
 * when it moves. QoS keeps the earliest
 * time of upstream QoS events and predicts each frame with the cost of its own
 * kind for gst_sparseinfer_element_would_be_late(); while frames are skipped
 * the prediction shrinks, and after a run of skips one frame is processed to
 * measure again, so a stale estimate cannot stop processing for good.
 *
 * Subclasses load their models in open(), follow the frame size in
 * configure(), forget the stream in reset() and handle frames in process().
 * C++ exceptions thrown by the core in these become element errors a person
 * can act on.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <exception>
#include <new>
#include <string>

#include "element_support.h"
#include "gstsparseinferelement.h"

GST_DEBUG_CATEGORY_STATIC(gst_sparseinfer_element_debug);
#define GST_CAT_DEFAULT gst_sparseinfer_element_debug

namespace sg = sparseinfer::gst;

#define DEFAULT_RESET_GAP 0
#define DEFAULT_BATCH_TIMEOUT 0
#define MAX_BATCH_TIMEOUT (10 * GST_SECOND)

enum {
  PROP_0,
  PROP_RESET_GAP,
  PROP_MODEL_INSTANCE_ID,
  PROP_BATCH_TIMEOUT,
};

#define VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, RGBA, BGRA, GRAY8 }"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));

struct _GstSparseinferElementPrivate {
  // How errors name the models: paths while loading, file names afterwards.
  std::string files, names;
  gboolean opened = FALSE;          // open() succeeded, until stop()
  GstCaps *refused_caps = nullptr;  // the last caps configure() refused, so their error is posted once

  /* Streaming thread. */
  GstVideoInfo info;
  gboolean have_info = FALSE;
  std::string stream_id;
  guint64 frame_index = 0;  // frames since the last stream reset
  GstVideoFrame frame;
  gboolean mapped = FALSE;
  sg::LatencyEstimate estimate;                          // processing time per kind of frame
  GstClockTime last_running_time = GST_CLOCK_TIME_NONE;  // of the last frame processed

  /* Under the object lock. */
  GstClockTime latency = 0;                            // last reported to the pipeline
  GstClockTime qos_earliest = GST_CLOCK_TIME_NONE;     // from the last QoS event
  GstClockTime reset_gap = DEFAULT_RESET_GAP;          // "reset-gap"
  std::string model_instance_id;                       // "model-instance-id"
  GstClockTime batch_timeout = DEFAULT_BATCH_TIMEOUT;  // "batch-timeout"
};
typedef struct _GstSparseinferElementPrivate GstSparseinferElementPrivate;
using Private = GstSparseinferElementPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE(GstSparseinferElement, gst_sparseinfer_element, GST_TYPE_BASE_TRANSFORM);
#define parent_class gst_sparseinfer_element_parent_class

static Private *get_priv(GstSparseinferElement *self) {
  return static_cast<Private *>(gst_sparseinfer_element_get_instance_private(self));
}

GType gst_sparseinfer_backend_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SPARSEINFER_BACKEND_AUTO, "Best available (CPU in this build)", "auto"},
      {GST_SPARSEINFER_BACKEND_CPU, "CPU", "cpu"},
      {GST_SPARSEINFER_BACKEND_CUDA, "NVIDIA GPU (CUDA)", "cuda"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstSparseinferBackend", values));
  return type;
}

namespace sparseinfer::gst {

Backend core_backend(GstSparseinferBackend backend) {
  switch (backend) {
    case GST_SPARSEINFER_BACKEND_CPU:
      return Backend::Cpu;
    case GST_SPARSEINFER_BACKEND_CUDA:
      return Backend::Cuda;
    case GST_SPARSEINFER_BACKEND_AUTO:
      break;
  }
  return Backend::Auto;
}

GstSparseinferBackend backend_property(Backend backend) {
  switch (backend) {
    case Backend::Cpu:
      return GST_SPARSEINFER_BACKEND_CPU;
    case Backend::Cuda:
      return GST_SPARSEINFER_BACKEND_CUDA;
    case Backend::Auto:
      break;
  }
  return GST_SPARSEINFER_BACKEND_AUTO;
}

}  // namespace sparseinfer::gst

static void gst_sparseinfer_element_finalize(GObject *object);
static void gst_sparseinfer_element_set_property(GObject *object, guint prop_id, const GValue *value,
                                                 GParamSpec *pspec);
static void gst_sparseinfer_element_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static gboolean gst_sparseinfer_element_start(GstBaseTransform *trans);
static gboolean gst_sparseinfer_element_stop(GstBaseTransform *trans);
static gboolean gst_sparseinfer_element_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps);
static gboolean gst_sparseinfer_element_sink_event(GstBaseTransform *trans, GstEvent *event);
static gboolean gst_sparseinfer_element_src_event(GstBaseTransform *trans, GstEvent *event);
static gboolean gst_sparseinfer_element_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query);
static GstFlowReturn gst_sparseinfer_element_transform_ip(GstBaseTransform *trans, GstBuffer *buf);

static void gst_sparseinfer_element_class_init(GstSparseinferElementClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  gobject_class->finalize = gst_sparseinfer_element_finalize;
  gobject_class->set_property = gst_sparseinfer_element_set_property;
  gobject_class->get_property = gst_sparseinfer_element_get_property;

  g_object_class_install_property(
      gobject_class, PROP_RESET_GAP,
      g_param_spec_uint64("reset-gap", "Reset gap",
                          "Reset the stream state (the next frame is computed in full) when the running time jumps "
                          "by more than this many nanoseconds between two frames (0: never; dropped frames and "
                          "DISCONT alone never reset)",
                          0, G_MAXUINT64, DEFAULT_RESET_GAP,
                          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  g_object_class_install_property(
      gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string("model-instance-id", "Model instance id",
                          "Elements of one process with the same id share one loaded model and compiled engine "
                          "(weights in memory once); each keeps its own stream state. Settings that change the "
                          "compiled engine must match, or the element fails naming the first that differs "
                          "(empty: a private engine)",
                          nullptr,
                          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint64("batch-timeout", "Batch timeout",
                          "With model-instance-id: run the frames of the elements sharing the instance as one batch, "
                          "each frame waiting at most this many nanoseconds for the others (0: no batching)",
                          0, MAX_BATCH_TIMEOUT, DEFAULT_BATCH_TIMEOUT,
                          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_sparseinfer_element_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_sparseinfer_element_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_sparseinfer_element_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_sparseinfer_element_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_sparseinfer_element_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_sparseinfer_element_query);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_sparseinfer_element_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api(GST_TYPE_SPARSEINFER_ELEMENT, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(GST_TYPE_SPARSEINFER_BACKEND, (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_sparseinfer_element_debug, "sparseinferelement", 0, "sparseinfer element base");
}

static void gst_sparseinfer_element_init(GstSparseinferElement *self) {
  new (get_priv(self)) Private();
  // Pixels pass through untouched; results are metas, so buffers only need to be writable.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_sparseinfer_element_finalize(GObject *object) {
  Private *priv = get_priv(GST_SPARSEINFER_ELEMENT(object));
  gst_clear_caps(&priv->refused_caps);
  priv->~Private();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_sparseinfer_element_set_property(GObject *object, guint prop_id, const GValue *value,
                                                 GParamSpec *pspec) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(object);
  switch (prop_id) {
    case PROP_RESET_GAP:
      GST_OBJECT_LOCK(self);
      get_priv(self)->reset_gap = g_value_get_uint64(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_MODEL_INSTANCE_ID:
      GST_OBJECT_LOCK(self);
      get_priv(self)->model_instance_id = g_value_get_string(value) ? g_value_get_string(value) : "";
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_BATCH_TIMEOUT:
      GST_OBJECT_LOCK(self);
      get_priv(self)->batch_timeout = g_value_get_uint64(value);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_sparseinfer_element_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(object);
  switch (prop_id) {
    case PROP_RESET_GAP:
      GST_OBJECT_LOCK(self);
      g_value_set_uint64(value, get_priv(self)->reset_gap);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_MODEL_INSTANCE_ID: {
      GST_OBJECT_LOCK(self);
      const std::string &id = get_priv(self)->model_instance_id;
      g_value_set_string(value, id.empty() ? nullptr : id.c_str());
      GST_OBJECT_UNLOCK(self);
      break;
    }
    case PROP_BATCH_TIMEOUT:
      GST_OBJECT_LOCK(self);
      g_value_set_uint64(value, get_priv(self)->batch_timeout);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

void gst_sparseinfer_element_set_models(GstSparseinferElement *self, const gchar *files, const gchar *names) {
  Private *priv = get_priv(self);
  priv->files = files;
  priv->names = names;
}

gchar *gst_sparseinfer_element_dup_model_instance_id(GstSparseinferElement *self) {
  GST_OBJECT_LOCK(self);
  const std::string id = get_priv(self)->model_instance_id;
  GST_OBJECT_UNLOCK(self);
  return g_strdup(id.c_str());
}

GstClockTime gst_sparseinfer_element_get_batch_timeout(GstSparseinferElement *self) {
  GST_OBJECT_LOCK(self);
  const GstClockTime timeout = get_priv(self)->batch_timeout;
  GST_OBJECT_UNLOCK(self);
  return timeout;
}

const gchar *gst_sparseinfer_element_get_stream_id(GstSparseinferElement *self) {
  return get_priv(self)->stream_id.c_str();
}

// Upstream offers refused caps again with every buffer it tries to push: the
// error is posted for the first refusal of these caps only.
static gboolean refused_before(GstSparseinferElement *self, GstCaps *caps) {
  Private *priv = get_priv(self);
  if (caps && priv->refused_caps && gst_caps_is_equal(priv->refused_caps, caps)) return TRUE;
  gst_caps_replace(&priv->refused_caps, caps);
  return FALSE;
}

static gboolean gst_sparseinfer_element_start(GstBaseTransform *trans) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(trans);
  GstSparseinferElementClass *klass = GST_SPARSEINFER_ELEMENT_GET_CLASS(self);
  Private *priv = get_priv(self);
  priv->have_info = FALSE;
  priv->stream_id.clear();
  priv->frame_index = 0;
  priv->estimate = sg::LatencyEstimate();
  priv->last_running_time = GST_CLOCK_TIME_NONE;
  GST_OBJECT_LOCK(self);
  priv->latency = 0;
  priv->qos_earliest = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK(self);

  priv->files.clear();
  priv->names.clear();
  refused_before(self, nullptr);  // a restarted pipeline reports refused caps again
  gboolean ok = FALSE;
  try {
    ok = klass->open(self);
  } catch (...) {
    sg::post_load_error(GST_ELEMENT(self), priv->files);
  }
  if (!ok && klass->close) klass->close(self);
  priv->opened = ok;
  return ok;
}

static gboolean gst_sparseinfer_element_stop(GstBaseTransform *trans) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(trans);
  GstSparseinferElementClass *klass = GST_SPARSEINFER_ELEMENT_GET_CLASS(self);
  Private *priv = get_priv(self);
  if (klass->close) klass->close(self);
  priv->opened = FALSE;
  priv->have_info = FALSE;
  return TRUE;
}

// Forget the stream's past: the next frame starts afresh.
static void reset_stream(GstSparseinferElement *self, const char *why) {
  Private *priv = get_priv(self);
  if (!priv->opened) return;
  GST_DEBUG_OBJECT(self, "resetting stream state: %s", why);
  priv->frame_index = 0;
  GstSparseinferElementClass *klass = GST_SPARSEINFER_ELEMENT_GET_CLASS(self);
  if (klass->reset) klass->reset(self);
}

static gboolean gst_sparseinfer_element_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(trans);
  GstSparseinferElementClass *klass = GST_SPARSEINFER_ELEMENT_GET_CLASS(self);
  Private *priv = get_priv(self);
  if (!priv->opened) return FALSE;
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_ERROR_OBJECT(self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  if (klass->configure) {
    const gint w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);
    try {
      if (!klass->configure(self, &info)) return FALSE;
    } catch (const std::exception &e) {
      if (!refused_before(self, incaps))
        GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                          ("Cannot run %s on %dx%d frames: %s", priv->names.c_str(), w, h, e.what()), ("%s", e.what()));
      return FALSE;
    } catch (...) {
      if (!refused_before(self, incaps))
        GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                          ("Cannot run %s on %dx%d frames: unknown error", priv->names.c_str(), w, h), (nullptr));
      return FALSE;
    }
  }
  refused_before(self, nullptr);
  // Caps that describe the same frames (a renegotiation) keep the stream.
  const gboolean same_frames = priv->have_info && gst_video_info_is_equal(&info, &priv->info);
  priv->info = info;
  priv->have_info = TRUE;
  if (!same_frames) reset_stream(self, "caps change");
  return TRUE;
}

static gboolean gst_sparseinfer_element_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(trans);
  Private *priv = get_priv(self);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START:
      if (priv->opened && sg::starts_new_stream(event, priv->stream_id)) reset_stream(self, "new stream");
      break;
    case GST_EVENT_FLUSH_STOP:
      reset_stream(self, "flush");
      GST_OBJECT_LOCK(self);
      priv->qos_earliest = GST_CLOCK_TIME_NONE;
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static gboolean gst_sparseinfer_element_src_event(GstBaseTransform *trans, GstEvent *event) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;
    gst_event_parse_qos(event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK(self);
    // Like basetransform: a frame due before this running time will be late.
    get_priv(self)->qos_earliest = diff > 0 ? timestamp + 2 * diff : timestamp + diff;
    GST_OBJECT_UNLOCK(self);
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->src_event(trans, event);
}

static gboolean gst_sparseinfer_element_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(trans);
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query);
  if (!GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query)) return FALSE;
  sg::add_latency(GST_ELEMENT(self), query, &get_priv(self)->latency);
  return TRUE;
}

gboolean gst_sparseinfer_element_map_frame(GstSparseinferElement *self, GstBuffer *buf, sg::FrameView *frame) {
  Private *priv = get_priv(self);
  if (!priv->mapped) {
    // Without a reference of its own, so the buffer stays writable for the metas.
    if (!gst_video_frame_map(&priv->frame, &priv->info, buf,
                             (GstMapFlags)(int(GST_MAP_READ) | int(GST_VIDEO_FRAME_MAP_FLAG_NO_REF)))) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map the video frame for reading."), (nullptr));
      return FALSE;
    }
    priv->mapped = TRUE;
  }
  frame->pixels = static_cast<const uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&priv->frame, 0));
  frame->width = GST_VIDEO_FRAME_WIDTH(&priv->frame);
  frame->height = GST_VIDEO_FRAME_HEIGHT(&priv->frame);
  frame->stride = GST_VIDEO_FRAME_PLANE_STRIDE(&priv->frame, 0);
  frame->format = sg::pixel_format(GST_VIDEO_FRAME_FORMAT(&priv->frame));
  return TRUE;
}

static void unmap_frame(Private *priv) {
  if (!priv->mapped) return;
  gst_video_frame_unmap(&priv->frame);
  priv->mapped = FALSE;
}

gboolean gst_sparseinfer_element_would_be_late(GstSparseinferElement *self, GstBuffer *buf,
                                               GstSparseinferFrameKind kind) {
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  Private *priv = get_priv(self);
  if (!gst_base_transform_is_qos_enabled(trans)) return FALSE;
  GST_OBJECT_LOCK(self);
  const GstClockTime earliest = priv->qos_earliest;
  GST_OBJECT_UNLOCK(self);
  if (!GST_CLOCK_TIME_IS_VALID(earliest)) return FALSE;
  const GstClockTime rt = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  const sg::FrameKind k = sg::FrameKind(kind);
  const GstClockTime cost = GstClockTime(priv->estimate.predicted_ms(k) * GST_MSECOND);
  if (!GST_CLOCK_TIME_IS_VALID(rt) || rt > earliest + cost) return FALSE;
  if (!priv->estimate.skip_late(k)) {
    GST_DEBUG_OBJECT(self, "frame at %" GST_TIME_FORMAT " may be late: probing the cost", GST_TIME_ARGS(rt));
    return FALSE;
  }
  GST_DEBUG_OBJECT(self, "frame at %" GST_TIME_FORMAT " would be late", GST_TIME_ARGS(rt));
  return TRUE;
}

void gst_sparseinfer_element_add_processing_time(GstSparseinferElement *self, GstSparseinferFrameKind kind,
                                                 gdouble ms) {
  Private *priv = get_priv(self);
  sg::update_latency(GST_ELEMENT(self), priv->estimate, sg::FrameKind(kind), &priv->latency, ms);
}

void gst_sparseinfer_element_set_latency_covers(GstSparseinferElement *self, GstSparseinferFrameKind kind,
                                                gboolean covers) {
  get_priv(self)->estimate.covered[int(kind)] = covers;
}

void gst_sparseinfer_element_update_latency(GstSparseinferElement *self, gdouble ms) {
  gst_sparseinfer_element_add_processing_time(self, GST_SPARSEINFER_FRAME_FULL, ms);
}

GstClockTime gst_sparseinfer_element_get_latency_unlocked(GstSparseinferElement *self) {
  return get_priv(self)->latency;
}

void gst_sparseinfer_element_post_stats(GstSparseinferElement *self, GstStructure *stats) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), stats));
}

static GstFlowReturn gst_sparseinfer_element_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstSparseinferElement *self = GST_SPARSEINFER_ELEMENT(trans);
  Private *priv = get_priv(self);
  if (!priv->opened || !priv->have_info) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No caps were negotiated before the first frame."), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  // DISCONT alone keeps the stream (dropped frames need no reset); a long jump in time may not.
  const GstClockTime rt = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  GST_OBJECT_LOCK(self);
  const GstClockTime gap = priv->reset_gap;
  GST_OBJECT_UNLOCK(self);
  if (gap > 0 && priv->frame_index > 0 && GST_CLOCK_TIME_IS_VALID(rt) &&
      GST_CLOCK_TIME_IS_VALID(priv->last_running_time) &&
      (rt > priv->last_running_time + gap || rt + gap < priv->last_running_time))
    reset_stream(self, "gap in running time");
  if (GST_CLOCK_TIME_IS_VALID(rt)) priv->last_running_time = rt;

  GstFlowReturn ret = GST_FLOW_ERROR;
  try {
    ret = GST_SPARSEINFER_ELEMENT_GET_CLASS(self)->process(self, buf, priv->frame_index);
  } catch (const std::exception &e) {
    unmap_frame(priv);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Inference failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  } catch (...) {
    unmap_frame(priv);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Inference failed: unknown error"), (nullptr));
    return GST_FLOW_ERROR;
  }
  unmap_frame(priv);
  if (ret == GST_FLOW_OK) ++priv->frame_index;
  return ret;
}

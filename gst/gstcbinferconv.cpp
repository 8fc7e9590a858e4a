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
 * Results ride on the buffer as #GstSparseinferTensorMeta (the output
 * tensors, the model name and a task hint) and #GstSparseinferStreamMeta
 * (stream id, frame index, the frame's statistics and the change mask of the
 * first layer); a detector's boxes are also attached as
 * #GstVideoRegionOfInterestMeta. Applications read them with the
 * sparseinfer-meta-1.0 library. The per-stream state is reset, and the next
 * frame computed in full, on a new stream, a flush, a caps change and a
 * discontinuity. The element answers the latency query with its processing
 * time and honours QoS: late frames are dropped, or keep the last results
 * without inference.
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
 * ]| A dashcam with calibrated per-layer thresholds and a dense refresh every 250 frames.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "cbinfer_driver.h"
#include "detection_decoder.h"
#include "element_support.h"
#include "gstcbinferconv.h"
#include "gstsparseinferelements.h"
#include "sparseinfer-meta.h"
#include "sparseinfer/error.h"

GST_DEBUG_CATEGORY_STATIC(gst_cbinfer_conv_debug);
#define GST_CAT_DEFAULT gst_cbinfer_conv_debug

namespace si = sparseinfer;
namespace sg = sparseinfer::gst;

#define DEFAULT_MODE GST_CBINFER_CONV_MODE_CHANGE
#define DEFAULT_BACKEND GST_CBINFER_CONV_BACKEND_AUTO
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
static const gdouble DEFAULT_MEAN[3] = {0.485, 0.456, 0.406};  // ImageNet, on values in [0, 1]
static const gdouble DEFAULT_STD[3] = {0.229, 0.224, 0.225};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_MODE,
  PROP_THRESHOLD,
  PROP_THRESHOLDS_FILE,
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
};

#define VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, RGBA, BGRA, GRAY8 }"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));

namespace {

// A tensor kept from the last inference, re-attached to frames that skip it.
struct HeldTensor {
  std::string name;
  GstSparseinferDType dtype;
  std::vector<gint64> dims;
  GBytes *data;
};

struct Totals {
  guint64 frames = 0;
  guint64 inferred = 0;
  guint64 dense = 0;
  guint64 qos_skipped = 0;
  double changed_fraction = 0;  // sums over inferred frames
  double mac_fraction = 0;
  double ms = 0;
};

// What the streaming thread owns (and stop() clears).
struct Streaming {
  sg::CbinferDriver driver;
  GstVideoInfo info;
  gboolean have_info = FALSE;
  std::string stream_id;
  guint64 frame_index = 0;  // frames since the last stream reset
  guint64 frame_count = 0;  // frames since start, for inference-interval
  GstSparseinferTask task = GST_SPARSEINFER_TASK_UNKNOWN;
  std::vector<HeldTensor> held;
  std::vector<sg::Detection> held_detections;  // frame pixels
  std::string model_name;
  std::vector<std::string> labels;  // class names from the model's metadata, or none
  sg::LatencyEstimate latency;  // smoothed processing time of the inferred frames
  std::vector<guint8> mask;

  void clear_held() {
    for (HeldTensor &t : held) g_bytes_unref(t.data);
    held.clear();
    held_detections.clear();
  }
};

}  // namespace

struct _GstCbinferConv {
  GstBaseTransform parent;

  /* Settings, under the object lock. */
  gchar *model;
  gchar *thresholds_file;
  GstCbinferConvMode mode;
  GstCbinferConvBackend backend;
  gint threads;
  gint input_width, input_height;
  gdouble mean[3], std[3];
  GstCbinferConvChannelOrder channel_order;
  GstCbinferConvTask task;
  gfloat threshold, threshold_scale;
  gboolean threshold_changed, threshold_scale_changed;  // to apply on the streaming thread
  guint refresh_interval, inference_interval;
  gfloat score_threshold, nms_threshold;
  guint max_detections;
  gboolean emit_stats;
  Totals totals;
  GstClockTime qos_earliest;  // from the last QoS event
  GstClockTime latency;       // last reported to the pipeline

  Streaming *streaming;
};

#define gst_cbinfer_conv_parent_class parent_class
G_DEFINE_TYPE(GstCbinferConv, gst_cbinfer_conv, GST_TYPE_BASE_TRANSFORM);
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

static GType gst_cbinfer_conv_backend_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_CBINFER_CONV_BACKEND_AUTO, "Best available (CPU in this build)", "auto"},
      {GST_CBINFER_CONV_BACKEND_CPU, "CPU", "cpu"},
      {GST_CBINFER_CONV_BACKEND_CUDA, "NVIDIA GPU (CUDA)", "cuda"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstCbinferConvBackend", values));
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
      {GST_CBINFER_CONV_TASK_AUTO, "Guess from the model's outputs", "auto"},
      {GST_CBINFER_CONV_TASK_UNKNOWN, "Tensors only", "unknown"},
      {GST_CBINFER_CONV_TASK_SEGMENTATION, "Per-pixel class scores [1,C,h,w]", "segmentation"},
      {GST_CBINFER_CONV_TASK_CLASSIFICATION, "Class logits [1,C]", "classification"},
      {GST_CBINFER_CONV_TASK_DETECTION, "heatmap [1,K,h,w] + boxes [1,4,h,w]", "detection"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstCbinferConvTask", values));
  return type;
}

static void gst_cbinfer_conv_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_cbinfer_conv_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_cbinfer_conv_finalize(GObject *object);
static gboolean gst_cbinfer_conv_start(GstBaseTransform *trans);
static gboolean gst_cbinfer_conv_stop(GstBaseTransform *trans);
static gboolean gst_cbinfer_conv_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps);
static gboolean gst_cbinfer_conv_sink_event(GstBaseTransform *trans, GstEvent *event);
static gboolean gst_cbinfer_conv_src_event(GstBaseTransform *trans, GstEvent *event);
static gboolean gst_cbinfer_conv_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query);
static GstFlowReturn gst_cbinfer_conv_transform_ip(GstBaseTransform *trans, GstBuffer *buf);

static GParamSpec *value_array_spec(const gchar *name, const gchar *nick, const gchar *blurb) {
  return gst_param_spec_array(
      name, nick, blurb,
      g_param_spec_double("value", "Value", "One per network input channel", -G_MAXDOUBLE, G_MAXDOUBLE, 0.0,
                          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)),
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
}

static void gst_cbinfer_conv_class_init(GstCbinferConvClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
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
      gobject_class, PROP_THRESHOLD_SCALE,
      g_param_spec_float("threshold-scale", "Threshold scale",
                         "Factor on every threshold: trade accuracy for speed at run time without recalibrating", 0.0f,
                         MAX_THRESHOLD_SCALE, DEFAULT_THRESHOLD_SCALE, playing));
  g_object_class_install_property(
      gobject_class, PROP_REFRESH_INTERVAL,
      g_param_spec_uint("refresh-interval", "Refresh interval",
                        "Compute every Nth frame densely to clear accumulated error (0: never)", 0, G_MAXUINT,
                        DEFAULT_REFRESH_INTERVAL, playing));
  g_object_class_install_property(
      gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint("inference-interval", "Inference interval",
                        "Run the network on every Nth frame only; the frames between carry the last results", 1,
                        G_MAXUINT, DEFAULT_INFERENCE_INTERVAL, playing));
  g_object_class_install_property(gobject_class, PROP_BACKEND,
                                  g_param_spec_enum("backend", "Backend", "Where the network runs",
                                                    gst_cbinfer_conv_backend_get_type(), DEFAULT_BACKEND, ready));
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
      value_array_spec("mean", "Mean",
                       "Per-channel mean subtracted from pixel values scaled to [0, 1], in network channel order "
                       "(default <0.485, 0.456, 0.406>)"));
  g_object_class_install_property(
      gobject_class, PROP_STD,
      value_array_spec("std", "Standard deviation",
                       "Per-channel divisor applied after the mean, in network channel order "
                       "(default <0.229, 0.224, 0.225>)"));
  g_object_class_install_property(
      gobject_class, PROP_CHANNEL_ORDER,
      g_param_spec_enum("channel-order", "Channel order", "Colour plane order the network expects",
                        gst_cbinfer_conv_channel_order_get_type(), DEFAULT_CHANNEL_ORDER, ready));
  g_object_class_install_property(gobject_class, PROP_TASK,
                                  g_param_spec_enum("task", "Task", "How the outputs are read",
                                                    gst_cbinfer_conv_task_get_type(), DEFAULT_TASK, ready));
  g_object_class_install_property(
      gobject_class, PROP_SCORE_THRESHOLD,
      g_param_spec_float("score-threshold", "Score threshold", "Detection: lowest heatmap score that becomes a box",
                         0.0f, 1.0f, DEFAULT_SCORE_THRESHOLD, playing));
  g_object_class_install_property(
      gobject_class, PROP_NMS_THRESHOLD,
      g_param_spec_float("nms-threshold", "NMS threshold",
                         "Detection: a box overlapping a better one of its class by more than this IoU is dropped",
                         0.0f, 1.0f, DEFAULT_NMS_THRESHOLD, playing));
  g_object_class_install_property(
      gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_uint("max-detections", "Max detections", "Detection: most boxes attached per frame", 0,
                        MAX_MAX_DETECTIONS, DEFAULT_MAX_DETECTIONS, playing));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Totals since start: frames, inferred-frames, dense-frames, qos-skipped-frames, "
                         "mean-changed-fraction, mean-mac-fraction, mean-ms (over inferred frames), latency-ms",
                         GST_TYPE_STRUCTURE, (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_EMIT_STATS,
      g_param_spec_boolean("emit-stats", "Emit statistics",
                           "Post an element message \"sparseinfer-frame-stats\" with each frame's statistics",
                           DEFAULT_EMIT_STATS, playing));

  gst_element_class_set_static_metadata(element_class, "Change-based CNN inference", "Filter/Analyzer/Video",
                                        "Runs an ONNX network on video frames, recomputing only what changed "
                                        "(CBinfer), and attaches the results as metas",
                                        "sparseinfer developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_query);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_cbinfer_conv_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api(gst_cbinfer_conv_mode_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_cbinfer_conv_backend_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_cbinfer_conv_channel_order_get_type(), (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(gst_cbinfer_conv_task_get_type(), (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_cbinfer_conv_debug, "cbinferconv", 0, "change-based CNN inference");
}

static void gst_cbinfer_conv_init(GstCbinferConv *self) {
  self->model = nullptr;
  self->thresholds_file = nullptr;
  self->mode = DEFAULT_MODE;
  self->backend = DEFAULT_BACKEND;
  self->threads = DEFAULT_THREADS;
  self->input_width = self->input_height = DEFAULT_INPUT_SIZE;
  for (int c = 0; c < 3; ++c) {
    self->mean[c] = DEFAULT_MEAN[c];
    self->std[c] = DEFAULT_STD[c];
  }
  self->channel_order = DEFAULT_CHANNEL_ORDER;
  self->task = DEFAULT_TASK;
  self->threshold = DEFAULT_THRESHOLD;
  self->threshold_scale = DEFAULT_THRESHOLD_SCALE;
  self->threshold_changed = self->threshold_scale_changed = FALSE;
  self->refresh_interval = DEFAULT_REFRESH_INTERVAL;
  self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  self->score_threshold = DEFAULT_SCORE_THRESHOLD;
  self->nms_threshold = DEFAULT_NMS_THRESHOLD;
  self->max_detections = DEFAULT_MAX_DETECTIONS;
  self->emit_stats = DEFAULT_EMIT_STATS;
  new (&self->totals) Totals();
  self->qos_earliest = GST_CLOCK_TIME_NONE;
  self->latency = 0;
  self->streaming = nullptr;
  // Pixels pass through untouched; results are metas, so buffers only need to be writable.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_cbinfer_conv_finalize(GObject *object) {
  GstCbinferConv *self = GST_CBINFER_CONV(object);
  if (self->streaming) {
    self->streaming->clear_held();
    delete self->streaming;
  }
  g_free(self->model);
  g_free(self->thresholds_file);
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void set_value_array(const GValue *value, gdouble out[3], GstCbinferConv *self, const gchar *name) {
  const guint n = gst_value_array_get_size(value);
  if (n != 3) {
    GST_WARNING_OBJECT(self, "'%s' needs 3 values (one per channel), got %u: ignored", name, n);
    return;
  }
  for (guint i = 0; i < n; ++i) {
    const GValue *v = gst_value_array_get_value(value, i);
    if (G_VALUE_HOLDS_DOUBLE(v))
      out[i] = g_value_get_double(v);
    else if (G_VALUE_HOLDS_FLOAT(v))
      out[i] = g_value_get_float(v);
    else if (G_VALUE_HOLDS_INT(v))
      out[i] = g_value_get_int(v);
  }
}

static void get_value_array(GValue *value, const gdouble in[3]) {
  for (int i = 0; i < 3; ++i) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_DOUBLE);
    g_value_set_double(&v, in[i]);
    gst_value_array_append_and_take_value(value, &v);
  }
}

static GstStructure *stats_structure(GstCbinferConv *self) {
  const Totals &t = self->totals;
  const double n = t.inferred ? double(t.inferred) : 1.0;
  return gst_structure_new("sparseinfer-stats", "frames", G_TYPE_UINT64, t.frames, "inferred-frames", G_TYPE_UINT64,
                           t.inferred, "dense-frames", G_TYPE_UINT64, t.dense, "qos-skipped-frames", G_TYPE_UINT64,
                           t.qos_skipped, "mean-changed-fraction", G_TYPE_DOUBLE, t.changed_fraction / n,
                           "mean-mac-fraction", G_TYPE_DOUBLE, t.mac_fraction / n, "mean-ms", G_TYPE_DOUBLE, t.ms / n,
                           "latency-ms", G_TYPE_DOUBLE, double(self->latency) / GST_MSECOND, nullptr);
}

static void gst_cbinfer_conv_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  GstCbinferConv *self = GST_CBINFER_CONV(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free(self->model);
      self->model = g_value_dup_string(value);
      break;
    case PROP_MODE:
      self->mode = (GstCbinferConvMode)g_value_get_enum(value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_float(value);
      self->threshold_changed = TRUE;
      break;
    case PROP_THRESHOLDS_FILE:
      g_free(self->thresholds_file);
      self->thresholds_file = g_value_dup_string(value);
      break;
    case PROP_THRESHOLD_SCALE:
      self->threshold_scale = g_value_get_float(value);
      self->threshold_scale_changed = TRUE;
      break;
    case PROP_REFRESH_INTERVAL:
      self->refresh_interval = g_value_get_uint(value);
      break;
    case PROP_INFERENCE_INTERVAL:
      self->inference_interval = g_value_get_uint(value);
      break;
    case PROP_BACKEND:
      self->backend = (GstCbinferConvBackend)g_value_get_enum(value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int(value);
      break;
    case PROP_INPUT_WIDTH:
      self->input_width = g_value_get_int(value);
      break;
    case PROP_INPUT_HEIGHT:
      self->input_height = g_value_get_int(value);
      break;
    case PROP_MEAN:
      set_value_array(value, self->mean, self, "mean");
      break;
    case PROP_STD:
      set_value_array(value, self->std, self, "std");
      break;
    case PROP_CHANNEL_ORDER:
      self->channel_order = (GstCbinferConvChannelOrder)g_value_get_enum(value);
      break;
    case PROP_TASK:
      self->task = (GstCbinferConvTask)g_value_get_enum(value);
      break;
    case PROP_SCORE_THRESHOLD:
      self->score_threshold = g_value_get_float(value);
      break;
    case PROP_NMS_THRESHOLD:
      self->nms_threshold = g_value_get_float(value);
      break;
    case PROP_MAX_DETECTIONS:
      self->max_detections = g_value_get_uint(value);
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

static void gst_cbinfer_conv_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstCbinferConv *self = GST_CBINFER_CONV(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, self->model);
      break;
    case PROP_MODE:
      g_value_set_enum(value, self->mode);
      break;
    case PROP_THRESHOLD:
      g_value_set_float(value, self->threshold);
      break;
    case PROP_THRESHOLDS_FILE:
      g_value_set_string(value, self->thresholds_file);
      break;
    case PROP_THRESHOLD_SCALE:
      g_value_set_float(value, self->threshold_scale);
      break;
    case PROP_REFRESH_INTERVAL:
      g_value_set_uint(value, self->refresh_interval);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint(value, self->inference_interval);
      break;
    case PROP_BACKEND:
      g_value_set_enum(value, self->backend);
      break;
    case PROP_THREADS:
      g_value_set_int(value, self->threads);
      break;
    case PROP_INPUT_WIDTH:
      g_value_set_int(value, self->input_width);
      break;
    case PROP_INPUT_HEIGHT:
      g_value_set_int(value, self->input_height);
      break;
    case PROP_MEAN:
      get_value_array(value, self->mean);
      break;
    case PROP_STD:
      get_value_array(value, self->std);
      break;
    case PROP_CHANNEL_ORDER:
      g_value_set_enum(value, self->channel_order);
      break;
    case PROP_TASK:
      g_value_set_enum(value, self->task);
      break;
    case PROP_SCORE_THRESHOLD:
      g_value_set_float(value, self->score_threshold);
      break;
    case PROP_NMS_THRESHOLD:
      g_value_set_float(value, self->nms_threshold);
      break;
    case PROP_MAX_DETECTIONS:
      g_value_set_uint(value, self->max_detections);
      break;
    case PROP_STATS:
      g_value_take_boxed(value, stats_structure(self));
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

static gboolean gst_cbinfer_conv_start(GstBaseTransform *trans) {
  GstCbinferConv *self = GST_CBINFER_CONV(trans);
  sg::DriverSettings settings;
  GstCbinferConvTask task;
  GST_OBJECT_LOCK(self);
  settings.model_path = self->model ? self->model : "";
  settings.thresholds_file = self->thresholds_file ? self->thresholds_file : "";
  settings.mode = self->mode == GST_CBINFER_CONV_MODE_DENSE ? si::Mode::Dense : si::Mode::Change;
  settings.backend = self->backend == GST_CBINFER_CONV_BACKEND_CUDA  ? si::Backend::Cuda
                     : self->backend == GST_CBINFER_CONV_BACKEND_CPU ? si::Backend::Cpu
                                                                     : si::Backend::Auto;
  settings.threads = self->threads;
  settings.input_width = self->input_width;
  settings.input_height = self->input_height;
  settings.preprocess.rgb = self->channel_order == GST_CBINFER_CONV_CHANNEL_ORDER_RGB;
  for (int c = 0; c < 3; ++c) {
    settings.preprocess.mean[c] = float(self->mean[c]);
    settings.preprocess.std[c] = float(self->std[c]);
  }
  settings.threshold = self->threshold;
  task = self->task;
  self->totals = Totals();
  self->qos_earliest = GST_CLOCK_TIME_NONE;
  self->latency = 0;
  self->threshold_changed = FALSE;
  self->threshold_scale_changed = TRUE;  // the stream starts with the current scale
  GST_OBJECT_UNLOCK(self);

  if (!sg::check_model_file(GST_ELEMENT(self), settings.model_path, "model")) return FALSE;
  auto *streaming = new Streaming();
  try {
    streaming->driver.open(settings);
  } catch (...) {
    sg::post_load_error(GST_ELEMENT(self), "model \"" + settings.model_path + "\"");
    delete streaming;
    return FALSE;
  }

  switch (task) {
    case GST_CBINFER_CONV_TASK_AUTO:
      switch (streaming->driver.guess_task()) {
        case sg::Task::Segmentation:
          streaming->task = GST_SPARSEINFER_TASK_SEGMENTATION;
          break;
        case sg::Task::Classification:
          streaming->task = GST_SPARSEINFER_TASK_CLASSIFICATION;
          break;
        case sg::Task::Detection:
          streaming->task = GST_SPARSEINFER_TASK_DETECTION;
          break;
        case sg::Task::Unknown:
          streaming->task = GST_SPARSEINFER_TASK_UNKNOWN;
          break;
      }
      break;
    case GST_CBINFER_CONV_TASK_SEGMENTATION:
      streaming->task = GST_SPARSEINFER_TASK_SEGMENTATION;
      break;
    case GST_CBINFER_CONV_TASK_CLASSIFICATION:
      streaming->task = GST_SPARSEINFER_TASK_CLASSIFICATION;
      break;
    case GST_CBINFER_CONV_TASK_DETECTION:
      streaming->task = GST_SPARSEINFER_TASK_DETECTION;
      break;
    case GST_CBINFER_CONV_TASK_UNKNOWN:
      streaming->task = GST_SPARSEINFER_TASK_UNKNOWN;
      break;
  }
  streaming->model_name = sg::base_name(settings.model_path);
  streaming->labels = si::class_labels(streaming->driver.model());
  GST_INFO_OBJECT(self, "loaded %s (%s, task %s)", settings.model_path.c_str(), si::mode_name(settings.mode),
                  gst_sparseinfer_task_to_string(streaming->task));
  self->streaming = streaming;
  return TRUE;
}

static gboolean gst_cbinfer_conv_stop(GstBaseTransform *trans) {
  GstCbinferConv *self = GST_CBINFER_CONV(trans);
  if (self->streaming) {
    self->streaming->clear_held();
    delete self->streaming;
    self->streaming = nullptr;
  }
  return TRUE;
}

// Forget the stream's past: the next frame is computed in full.
static void reset_stream(GstCbinferConv *self, const char *why) {
  Streaming *s = self->streaming;
  if (!s) return;
  GST_DEBUG_OBJECT(self, "resetting stream state: %s", why);
  s->driver.reset();
  s->frame_index = 0;
  s->frame_count = 0;
  s->clear_held();
}

static gboolean gst_cbinfer_conv_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  GstCbinferConv *self = GST_CBINFER_CONV(trans);
  Streaming *s = self->streaming;
  if (!s) return FALSE;
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_ERROR_OBJECT(self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  try {
    if (s->driver.configure(GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info)))
      GST_INFO_OBJECT(self, "engine compiled for %dx%d network input", s->driver.network_width(),
                      s->driver.network_height());
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                      ("Cannot run model \"%s\" on %dx%d frames: %s", s->model_name.c_str(),
                       GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info), e.what()),
                      ("%s", e.what()));
    return FALSE;
  }
  s->info = info;
  s->have_info = TRUE;
  reset_stream(self, "caps change");
  // The engine may be new: thresholds and scale go to its fresh stream state.
  GST_OBJECT_LOCK(self);
  self->threshold_scale_changed = TRUE;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_cbinfer_conv_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstCbinferConv *self = GST_CBINFER_CONV(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START:
      if (self->streaming && sg::starts_new_stream(event, self->streaming->stream_id)) reset_stream(self, "new stream");
      break;
    case GST_EVENT_FLUSH_STOP:
      reset_stream(self, "flush");
      GST_OBJECT_LOCK(self);
      self->qos_earliest = GST_CLOCK_TIME_NONE;
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static gboolean gst_cbinfer_conv_src_event(GstBaseTransform *trans, GstEvent *event) {
  GstCbinferConv *self = GST_CBINFER_CONV(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;
    gst_event_parse_qos(event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK(self);
    // Like basetransform: a frame due before this running time will be late.
    self->qos_earliest = diff > 0 ? timestamp + 2 * diff : timestamp + diff;
    GST_OBJECT_UNLOCK(self);
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->src_event(trans, event);
}

static gboolean gst_cbinfer_conv_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query) {
  GstCbinferConv *self = GST_CBINFER_CONV(trans);
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query);
  if (!GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query)) return FALSE;
  sg::add_latency(GST_ELEMENT(self), query, &self->latency);
  return TRUE;
}

// ROIs are named after the model's class names when it has them, else "class-N".
static void attach_detections(GstBuffer *buf, const std::vector<sg::Detection> &detections,
                              const std::vector<std::string> &labels) {
  for (const sg::Detection &d : detections) {
    gchar *label = d.label >= 0 && size_t(d.label) < labels.size() && !labels[size_t(d.label)].empty()
                       ? g_strdup(labels[size_t(d.label)].c_str())
                       : g_strdup_printf("class-%d", d.label);
    const guint x = guint(std::max(0.0f, std::floor(d.x1)));
    const guint y = guint(std::max(0.0f, std::floor(d.y1)));
    const guint w = guint(std::max(0.0f, std::ceil(d.x2) - float(x)));
    const guint h = guint(std::max(0.0f, std::ceil(d.y2) - float(y)));
    GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta(buf, label, x, y, w, h);
    gst_video_region_of_interest_meta_add_param(
        roi, gst_structure_new("detection", "label-id", G_TYPE_INT, d.label, "label", G_TYPE_STRING, label,
                               "confidence", G_TYPE_DOUBLE, double(d.score), nullptr));
    g_free(label);
  }
}

static void attach_held_tensors(GstBuffer *buf, const Streaming *s) {
  GstSparseinferTensorMeta *meta = gst_buffer_add_sparseinfer_tensor_meta(buf, s->model_name.c_str(), s->task);
  sg::set_meta_labels(meta, s->labels);
  for (const HeldTensor &t : s->held)
    gst_sparseinfer_tensor_meta_add_tensor_bytes(meta, t.name.c_str(), t.dtype, guint(t.dims.size()), t.dims.data(),
                                                 t.data);
}

static void post_frame_stats(GstCbinferConv *self, GstBuffer *buf, const GstSparseinferFrameStats *stats) {
  GstStructure *st = sg::frame_stats_structure(GST_BASE_TRANSFORM(self), buf, stats);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

static GstFlowReturn gst_cbinfer_conv_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstCbinferConv *self = GST_CBINFER_CONV(trans);
  Streaming *s = self->streaming;
  if (!s || !s->have_info || !s->driver.configured()) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No caps were negotiated before the first frame."), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT) && s->frame_index > 0) reset_stream(self, "discontinuity");

  GST_OBJECT_LOCK(self);
  const gboolean threshold_changed = self->threshold_changed, scale_changed = self->threshold_scale_changed;
  const gfloat threshold = self->threshold, scale = self->threshold_scale;
  self->threshold_changed = self->threshold_scale_changed = FALSE;
  const guint refresh = self->refresh_interval, interval = std::max(1u, self->inference_interval);
  sg::DetectionParams det;
  det.score_threshold = self->score_threshold;
  det.iou_threshold = self->nms_threshold;
  det.max_detections = int(self->max_detections);
  const gboolean emit = self->emit_stats;
  const GstClockTime earliest = self->qos_earliest;
  GST_OBJECT_UNLOCK(self);
  if (threshold_changed) s->driver.set_threshold(threshold);
  if (scale_changed) s->driver.set_threshold_scale(scale);

  // Frames between inferences, and frames that would be late after inference, keep the last results.
  const gboolean have_held = !s->held.empty();
  gboolean infer = !have_held || s->frame_count % interval == 0;
  gboolean qos_skip = FALSE;
  if (infer && have_held && gst_base_transform_is_qos_enabled(trans) && GST_CLOCK_TIME_IS_VALID(earliest)) {
    const GstClockTime rt = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
    const GstClockTime cost = GstClockTime(s->latency.smoothed_ms * GST_MSECOND);
    if (GST_CLOCK_TIME_IS_VALID(rt) && rt <= earliest + cost) {
      GST_DEBUG_OBJECT(self, "frame at %" GST_TIME_FORMAT " would be late: keeping the last results",
                       GST_TIME_ARGS(rt));
      infer = FALSE;
      qos_skip = TRUE;
    }
  }

  const si::Engine &engine = s->driver.engine();
  GstSparseinferFrameStats *stats =
      gst_sparseinfer_frame_stats_new(s->stream_id.c_str(), infer ? guint(engine.layers().size()) : 0);
  stats->frame_index = s->frame_index;
  stats->inferred = infer;
  const guint8 *mask = nullptr;
  guint mask_w = 0, mask_h = 0;

  if (infer) {
    if (refresh > 0 && s->frame_index > 0 && s->frame_index % refresh == 0) s->driver.reset();
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &s->info, buf, GST_MAP_READ)) {
      gst_sparseinfer_frame_stats_unref(stats);
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map the video frame for reading."), (nullptr));
      return GST_FLOW_ERROR;
    }
    const auto t0 = std::chrono::steady_clock::now();
    si::FrameResult result;
    std::vector<sg::Detection> detections;
    try {
      result =
          s->driver.infer(static_cast<const uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)),
                          GST_VIDEO_FRAME_WIDTH(&frame), GST_VIDEO_FRAME_HEIGHT(&frame),
                          GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0), sg::pixel_format(GST_VIDEO_FRAME_FORMAT(&frame)));
      if (s->task == GST_SPARSEINFER_TASK_DETECTION && result.outputs.size() >= 2) {
        const si::Tensor *heatmap = result.outputs[0], *boxes = result.outputs[1];
        const std::vector<si::TensorInfo> &outs = engine.outputs();
        for (size_t i = 0; i < outs.size(); ++i) {
          if (outs[i].name == "heatmap") heatmap = result.outputs[i];
          if (outs[i].name == "boxes") boxes = result.outputs[i];
        }
        detections =
            sg::decode_detections(*heatmap, *boxes, s->driver.network_width(), s->driver.network_height(), det);
      }
    } catch (const std::exception &e) {
      gst_video_frame_unmap(&frame);
      gst_sparseinfer_frame_stats_unref(stats);
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Inference failed: %s", e.what()), (nullptr));
      return GST_FLOW_ERROR;
    }
    gst_video_frame_unmap(&frame);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    // Keep the outputs (refcounted) for the frames that will not infer.
    s->clear_held();
    const std::vector<si::TensorInfo> &outs = engine.outputs();
    for (size_t i = 0; i < result.outputs.size(); ++i) {
      const si::Tensor &t = *result.outputs[i];
      HeldTensor h;
      h.name = outs[i].name;
      h.dtype = t.dtype() == si::DType::Int64 ? GST_SPARSEINFER_DTYPE_INT64 : GST_SPARSEINFER_DTYPE_FLOAT32;
      h.dims.assign(t.shape().begin(), t.shape().end());
      h.data = g_bytes_new(t.raw(), t.bytes());
      s->held.push_back(std::move(h));
    }
    const double sx = double(GST_VIDEO_INFO_WIDTH(&s->info)) / s->driver.network_width();
    const double sy = double(GST_VIDEO_INFO_HEIGHT(&s->info)) / s->driver.network_height();
    for (sg::Detection d : detections) {
      d.x1 = float(d.x1 * sx);
      d.x2 = float(d.x2 * sx);
      d.y1 = float(d.y1 * sy);
      d.y2 = float(d.y2 * sy);
      s->held_detections.push_back(d);
    }

    // The mask of the first detecting layer; a dense engine computes every pixel.
    if (!result.first_layer_mask.empty()) {
      s->mask.swap(result.first_layer_mask);
      mask_w = guint(result.mask_width);
      mask_h = guint(result.mask_height);
    } else {
      s->mask.assign(size_t(s->driver.network_width()) * size_t(s->driver.network_height()), 1);
      mask_w = guint(s->driver.network_width());
      mask_h = guint(s->driver.network_height());
    }
    mask = s->mask.data();
    size_t set = 0;
    for (guint8 m : s->mask) set += m;

    stats->dense_frame = result.dense_frame;
    stats->changed_fraction = s->mask.empty() ? 1.0 : double(set) / double(s->mask.size());
    stats->mac_fraction = result.mac_fraction();
    stats->macs_executed = result.macs_executed;
    stats->macs_dense = result.macs_dense;
    stats->process_ms = ms;
    stats->state_bytes = s->driver.state().state_bytes();
    for (guint i = 0; i < stats->n_layers && i < result.layer_stats.size(); ++i)
      stats->layer_changed_fractions[i] = result.layer_stats[i].changed_fraction;
    sg::update_latency(GST_ELEMENT(self), s->latency, &self->latency, ms);
  }

  attach_held_tensors(buf, s);
  if (s->task == GST_SPARSEINFER_TASK_DETECTION) attach_detections(buf, s->held_detections, s->labels);
  gst_buffer_add_sparseinfer_stream_meta(buf, stats, mask, mask_w, mask_h);

  GST_OBJECT_LOCK(self);
  Totals &t = self->totals;
  ++t.frames;
  if (infer) {
    ++t.inferred;
    t.dense += stats->dense_frame ? 1 : 0;
    t.changed_fraction += stats->changed_fraction;
    t.mac_fraction += stats->mac_fraction;
    t.ms += stats->process_ms;
  }
  if (qos_skip) ++t.qos_skipped;
  GST_OBJECT_UNLOCK(self);

  GST_LOG_OBJECT(self, "frame %" G_GUINT64_FORMAT ": inferred %d dense %d changed %.3f macs %.3f %.2f ms",
                 stats->frame_index, stats->inferred, stats->dense_frame, stats->changed_fraction, stats->mac_fraction,
                 stats->process_ms);
  if (emit) post_frame_stats(self, buf, stats);
  gst_sparseinfer_frame_stats_unref(stats);
  ++s->frame_index;
  ++s->frame_count;
  return GST_FLOW_OK;
}

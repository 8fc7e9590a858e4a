/**
 * SECTION:element-sparseinferpublish
 * @title: sparseinferpublish
 * @see_also: cbinferconv, saliencyscheduler
 *
 * Turns the results that cbinferconv and saliencyscheduler attach to each
 * frame into one line of JSON and sends it to a file (JSON lines) or to an
 * MQTT broker, for the consumers of a site with many cameras. Frames pass
 * through untouched. A line holds the buffer timestamp, the wall-clock time,
 * the stream id, the frame index, the model, the detections (label, box in
 * frame pixels, score), a segmentation summary (share of pixels per class)
 * and the frame's statistics (changed fraction, MACs, time, state bytes).
 *
 * The element never blocks or fails the pipeline because of the destination:
 * lines wait in a bounded queue ("queue-size") that a thread of the element
 * drains. While an MQTT broker is unreachable the client reconnects with
 * backoff (1 s, growing with each failed attempt up to
 * "reconnect-max-delay"); when the queue is full its oldest line is dropped
 * and counted ("dropped", and the "stats" structure). At QoS 1 and 2 a line
 * counts as published once the broker acknowledged it; lines in flight when
 * the connection dropped are sent again after the reconnect and never
 * dropped (the broker may hold them), so every line is either delivered (at
 * least once: a consumer deduplicates by stream id and frame index) or
 * counted as dropped, exactly. At QoS 0 a line written into a connection
 * that then dies is lost uncounted, as MQTT defines QoS 0.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! videoscale ! \
 *     video/x-raw,format=RGB,width=384,height=288 ! cbinferconv model=detnet_small.onnx ! \
 *     sparseinferpublish location=results.jsonl ! fakesink
 * ]| Writes one JSON line per frame to results.jsonl.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! cbinferconv model=detnet_small.onnx model-instance-id=site ! \
 *     sparseinferpublish method=mqtt host=broker.local topic=site/cam1 qos=1 ! fakesink
 * ]| Publishes a camera's detections to an MQTT broker.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/gstvideometa.h>

#include <memory>
#include <new>
#include <string>

#include "gstsparseinferelements.h"
#include "gstsparseinferpublish.h"
#include "publish/file_publisher.h"
#include "publish/frame_record.h"
#include "publish/mqtt_publisher.h"
#include "sparseinfer-meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_sparseinfer_publish_debug);
#define GST_CAT_DEFAULT gst_sparseinfer_publish_debug

namespace sg = sparseinfer::gst;

#define DEFAULT_METHOD GST_SPARSEINFER_PUBLISH_FILE
#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 1883
#define DEFAULT_TOPIC "sparseinfer/results"
#define DEFAULT_QOS 1
#define DEFAULT_QUEUE_SIZE 1000
#define MAX_QUEUE_SIZE 10000000
#define DEFAULT_RECONNECT_MAX_DELAY 30
#define MAX_RECONNECT_MAX_DELAY 3600
#define DEFAULT_FLUSH_TIMEOUT (2 * GST_SECOND)
#define MAX_FLUSH_TIMEOUT (600 * GST_SECOND)

enum {
  PROP_0,
  PROP_METHOD,
  PROP_LOCATION,
  PROP_HOST,
  PROP_PORT,
  PROP_TOPIC,
  PROP_QOS,
  PROP_CLIENT_ID,
  PROP_QUEUE_SIZE,
  PROP_RECONNECT_MAX_DELAY,
  PROP_FLUSH_TIMEOUT,
  PROP_DROPPED,
  PROP_STATS,
};

struct _GstSparseinferPublish {
  GstBaseTransform parent;

  /* Under the object lock. */
  GstSparseinferPublishMethod method;
  std::string location, host, topic, client_id;
  gint port, qos;
  guint queue_size, reconnect_max_delay;
  GstClockTime flush_timeout;
  sg::PublisherStats final_stats;  // of the last publisher, after stop()

  /* Streaming thread (created in start(), gone after stop()). */
  std::unique_ptr<sg::Publisher> publisher;
  std::string stream_id;  // from STREAM_START, for frames without a stream meta
  guint64 frames;         // since start, for frames without a stream meta
};

G_DEFINE_TYPE(GstSparseinferPublish, gst_sparseinfer_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(sparseinferpublish, "sparseinferpublish", GST_RANK_NONE, GST_TYPE_SPARSEINFER_PUBLISH);
#define parent_class gst_sparseinfer_publish_parent_class

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GType gst_sparseinfer_publish_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SPARSEINFER_PUBLISH_FILE, "JSON lines to the file 'location'", "file"},
      {GST_SPARSEINFER_PUBLISH_MQTT, "One MQTT message per frame (libmosquitto)", "mqtt"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstSparseinferPublishMethod", values));
  return type;
}

static void gst_sparseinfer_publish_set_property(GObject *object, guint prop_id, const GValue *value,
                                                 GParamSpec *pspec);
static void gst_sparseinfer_publish_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_sparseinfer_publish_finalize(GObject *object);
static gboolean gst_sparseinfer_publish_start(GstBaseTransform *trans);
static gboolean gst_sparseinfer_publish_stop(GstBaseTransform *trans);
static gboolean gst_sparseinfer_publish_sink_event(GstBaseTransform *trans, GstEvent *event);
static GstFlowReturn gst_sparseinfer_publish_transform_ip(GstBaseTransform *trans, GstBuffer *buf);

static void gst_sparseinfer_publish_class_init(GstSparseinferPublishClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  const auto ready = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto readonly = (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  gobject_class->set_property = gst_sparseinfer_publish_set_property;
  gobject_class->get_property = gst_sparseinfer_publish_get_property;
  gobject_class->finalize = gst_sparseinfer_publish_finalize;

  g_object_class_install_property(gobject_class, PROP_METHOD,
                                  g_param_spec_enum("method", "Method", "Where the JSON lines go",
                                                    gst_sparseinfer_publish_method_get_type(), DEFAULT_METHOD, ready));
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location", "method=file: the file the JSON lines are written to (replaced)",
                          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_HOST,
      g_param_spec_string("host", "Host", "method=mqtt: the broker's host name or address", DEFAULT_HOST, ready));
  g_object_class_install_property(
      gobject_class, PROP_PORT,
      g_param_spec_int("port", "Port", "method=mqtt: the broker's TCP port", 1, 65535, DEFAULT_PORT, ready));
  g_object_class_install_property(
      gobject_class, PROP_TOPIC,
      g_param_spec_string("topic", "Topic", "method=mqtt: the topic every line is published to", DEFAULT_TOPIC, ready));
  g_object_class_install_property(
      gobject_class, PROP_QOS,
      g_param_spec_int("qos", "QoS",
                       "method=mqtt: MQTT quality of service (0: at most once, uncounted losses possible when the "
                       "broker dies; 1: at least once; 2: exactly once to the broker)",
                       0, 2, DEFAULT_QOS, ready));
  g_object_class_install_property(
      gobject_class, PROP_CLIENT_ID,
      g_param_spec_string("client-id", "Client id", "method=mqtt: the MQTT client id (NULL: sparseinfer-PID-N, unique)",
                          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_QUEUE_SIZE,
      g_param_spec_uint("queue-size", "Queue size",
                        "Lines kept while the destination cannot take them; beyond that the oldest is dropped and "
                        "counted",
                        1, MAX_QUEUE_SIZE, DEFAULT_QUEUE_SIZE, ready));
  g_object_class_install_property(
      gobject_class, PROP_RECONNECT_MAX_DELAY,
      g_param_spec_uint("reconnect-max-delay", "Reconnect max delay",
                        "method=mqtt: longest wait between reconnection attempts, in seconds (the first is 1 s, "
                        "then the wait grows with each failed attempt: libmosquitto's exponential backoff)",
                        1, MAX_RECONNECT_MAX_DELAY, DEFAULT_RECONNECT_MAX_DELAY, ready));
  g_object_class_install_property(
      gobject_class, PROP_FLUSH_TIMEOUT,
      g_param_spec_uint64("flush-timeout", "Flush timeout",
                          "On stop: how long queued lines may still take to go out, in nanoseconds; what is left "
                          "then is counted as dropped",
                          0, MAX_FLUSH_TIMEOUT, DEFAULT_FLUSH_TIMEOUT, ready));
  g_object_class_install_property(
      gobject_class, PROP_DROPPED,
      g_param_spec_uint64("dropped", "Dropped", "Lines dropped since start (queue full, or left over at stop)", 0,
                          G_MAXUINT64, 0, readonly));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Since start: offered, published, dropped, queued (lines), connected, connects, last-error",
                         GST_TYPE_STRUCTURE, readonly));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "Results publisher", "Filter/Analyzer/Video",
                                        "Sends each frame's inference results as a JSON line to a file or an MQTT "
                                        "broker, without ever blocking the pipeline",
                                        "sparseinfer developers");

  trans_class->start = GST_DEBUG_FUNCPTR(gst_sparseinfer_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_sparseinfer_publish_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_sparseinfer_publish_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_sparseinfer_publish_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api(gst_sparseinfer_publish_method_get_type(), (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_sparseinfer_publish_debug, "sparseinferpublish", 0, "inference results publisher");
}

static void gst_sparseinfer_publish_init(GstSparseinferPublish *self) {
  new (&self->location) std::string();
  new (&self->host) std::string(DEFAULT_HOST);
  new (&self->topic) std::string(DEFAULT_TOPIC);
  new (&self->client_id) std::string();
  new (&self->final_stats) sg::PublisherStats();
  new (&self->publisher) std::unique_ptr<sg::Publisher>();
  new (&self->stream_id) std::string();
  self->method = DEFAULT_METHOD;
  self->port = DEFAULT_PORT;
  self->qos = DEFAULT_QOS;
  self->queue_size = DEFAULT_QUEUE_SIZE;
  self->reconnect_max_delay = DEFAULT_RECONNECT_MAX_DELAY;
  self->flush_timeout = DEFAULT_FLUSH_TIMEOUT;
  self->frames = 0;
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_sparseinfer_publish_finalize(GObject *object) {
  GstSparseinferPublish *self = GST_SPARSEINFER_PUBLISH(object);
  self->publisher.~unique_ptr();
  self->stream_id.~basic_string();
  self->final_stats.~PublisherStats();
  self->client_id.~basic_string();
  self->topic.~basic_string();
  self->host.~basic_string();
  self->location.~basic_string();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static std::string string_of(const GValue *value, const char *fallback) {
  const gchar *s = g_value_get_string(value);
  return s ? s : fallback;
}

static void gst_sparseinfer_publish_set_property(GObject *object, guint prop_id, const GValue *value,
                                                 GParamSpec *pspec) {
  GstSparseinferPublish *self = GST_SPARSEINFER_PUBLISH(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_METHOD:
      self->method = GstSparseinferPublishMethod(g_value_get_enum(value));
      break;
    case PROP_LOCATION:
      self->location = string_of(value, "");
      break;
    case PROP_HOST:
      self->host = string_of(value, DEFAULT_HOST);
      break;
    case PROP_PORT:
      self->port = g_value_get_int(value);
      break;
    case PROP_TOPIC:
      self->topic = string_of(value, DEFAULT_TOPIC);
      break;
    case PROP_QOS:
      self->qos = g_value_get_int(value);
      break;
    case PROP_CLIENT_ID:
      self->client_id = string_of(value, "");
      break;
    case PROP_QUEUE_SIZE:
      self->queue_size = g_value_get_uint(value);
      break;
    case PROP_RECONNECT_MAX_DELAY:
      self->reconnect_max_delay = g_value_get_uint(value);
      break;
    case PROP_FLUSH_TIMEOUT:
      self->flush_timeout = g_value_get_uint64(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

// The publisher's counters while it runs, the last ones after stop(); call with the object lock held.
static sg::PublisherStats current_stats(GstSparseinferPublish *self) {
  return self->publisher ? self->publisher->stats() : self->final_stats;
}

static void gst_sparseinfer_publish_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSparseinferPublish *self = GST_SPARSEINFER_PUBLISH(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum(value, self->method);
      break;
    case PROP_LOCATION:
      g_value_set_string(value, self->location.empty() ? nullptr : self->location.c_str());
      break;
    case PROP_HOST:
      g_value_set_string(value, self->host.c_str());
      break;
    case PROP_PORT:
      g_value_set_int(value, self->port);
      break;
    case PROP_TOPIC:
      g_value_set_string(value, self->topic.c_str());
      break;
    case PROP_QOS:
      g_value_set_int(value, self->qos);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string(value, self->client_id.empty() ? nullptr : self->client_id.c_str());
      break;
    case PROP_QUEUE_SIZE:
      g_value_set_uint(value, self->queue_size);
      break;
    case PROP_RECONNECT_MAX_DELAY:
      g_value_set_uint(value, self->reconnect_max_delay);
      break;
    case PROP_FLUSH_TIMEOUT:
      g_value_set_uint64(value, self->flush_timeout);
      break;
    case PROP_DROPPED:
      g_value_set_uint64(value, current_stats(self).dropped);
      break;
    case PROP_STATS: {
      const sg::PublisherStats s = current_stats(self);
      g_value_take_boxed(value, gst_structure_new("sparseinfer-publish-stats", "offered", G_TYPE_UINT64, s.offered,
                                                  "published", G_TYPE_UINT64, s.published, "dropped", G_TYPE_UINT64,
                                                  s.dropped, "queued", G_TYPE_UINT64, s.queued, "connected",
                                                  G_TYPE_BOOLEAN, s.connected, "connects", G_TYPE_UINT64, s.connects,
                                                  "last-error", G_TYPE_STRING, s.last_error.c_str(), nullptr));
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_sparseinfer_publish_start(GstBaseTransform *trans) {
  GstSparseinferPublish *self = GST_SPARSEINFER_PUBLISH(trans);
  GST_OBJECT_LOCK(self);
  const GstSparseinferPublishMethod method = self->method;
  const std::string location = self->location;
  sg::MqttSettings mqtt;
  mqtt.host = self->host;
  mqtt.port = self->port;
  mqtt.topic = self->topic;
  mqtt.qos = self->qos;
  mqtt.client_id = self->client_id;
  mqtt.queue_size = self->queue_size;
  mqtt.reconnect_max_s = self->reconnect_max_delay;
  const size_t queue_size = self->queue_size;
  self->final_stats = sg::PublisherStats();
  GST_OBJECT_UNLOCK(self);

  std::unique_ptr<sg::Publisher> publisher;
  if (method == GST_SPARSEINFER_PUBLISH_FILE)
    publisher = std::make_unique<sg::FilePublisher>(location, queue_size);
  else
    publisher = std::make_unique<sg::MqttPublisher>(mqtt);
  try {
    publisher->start();
  } catch (const std::exception &e) {
    if (method == GST_SPARSEINFER_PUBLISH_FILE)
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("Invalid property 'location': %s.", e.what()), (nullptr));
    else
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Cannot publish to MQTT: %s.", e.what()), (nullptr));
    return FALSE;
  }
  if (method == GST_SPARSEINFER_PUBLISH_MQTT)
    GST_INFO_OBJECT(self, "publishing to mqtt://%s:%d/%s at QoS %d", mqtt.host.c_str(), mqtt.port, mqtt.topic.c_str(),
                    mqtt.qos);
  self->stream_id.clear();
  self->frames = 0;
  GST_OBJECT_LOCK(self);
  self->publisher = std::move(publisher);
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_sparseinfer_publish_stop(GstBaseTransform *trans) {
  GstSparseinferPublish *self = GST_SPARSEINFER_PUBLISH(trans);
  GST_OBJECT_LOCK(self);
  std::unique_ptr<sg::Publisher> publisher = std::move(self->publisher);
  const GstClockTime grace = self->flush_timeout;
  if (publisher) self->final_stats = publisher->stats();  // readable meanwhile
  GST_OBJECT_UNLOCK(self);
  if (!publisher) return TRUE;
  publisher->stop(std::chrono::milliseconds(grace / GST_MSECOND));
  const sg::PublisherStats final_stats = publisher->stats();
  GST_OBJECT_LOCK(self);
  self->final_stats = final_stats;
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self,
                  "stopped: %" G_GUINT64_FORMAT " lines offered, %" G_GUINT64_FORMAT " published, %" G_GUINT64_FORMAT
                  " dropped",
                  final_stats.offered, final_stats.published, final_stats.dropped);
  return TRUE;
}

static gboolean gst_sparseinfer_publish_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstSparseinferPublish *self = GST_SPARSEINFER_PUBLISH(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START) {
    const gchar *id = nullptr;
    gst_event_parse_stream_start(event, &id);
    self->stream_id = id ? id : "";
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

// The frame's results as a record: the stream meta for identity and
// statistics, ROI metas for detections, the tensor meta for segmentation.
static sg::FrameRecord frame_record(GstSparseinferPublish *self, GstBuffer *buf) {
  sg::FrameRecord r;
  if (GST_BUFFER_PTS_IS_VALID(buf)) r.pts_ns = GST_BUFFER_PTS(buf);
  r.wallclock_us = g_get_real_time();
  r.stream_id = self->stream_id;
  r.frame_index = self->frames;
  if (GstSparseinferStreamMeta *stream = gst_buffer_get_sparseinfer_stream_meta(buf)) {
    if (stream->stream_id) r.stream_id = stream->stream_id;
    r.frame_index = stream->frame_index;
    if (const GstSparseinferFrameStats *f = stream->stats) {
      sg::RecordStats s;
      s.inferred = f->inferred;
      s.dense_frame = f->dense_frame;
      s.changed_fraction = f->changed_fraction;
      s.mac_fraction = f->mac_fraction;
      s.macs_executed = f->macs_executed;
      s.macs_dense = f->macs_dense;
      s.process_ms = f->process_ms;
      s.state_bytes = f->state_bytes;
      r.stats = s;
    }
  }
  gpointer state = nullptr;
  while (GstMeta *meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta);
    sg::RecordDetection d;
    d.label = roi->roi_type ? g_quark_to_string(roi->roi_type) : "";
    d.x = roi->x;
    d.y = roi->y;
    d.width = roi->w;
    d.height = roi->h;
    if (GstStructure *param = gst_video_region_of_interest_meta_get_param(roi, "detection")) {
      gst_structure_get_double(param, "confidence", &d.score);
      gst_structure_get_int(param, "label-id", &d.label_id);
    }
    r.detections.push_back(std::move(d));
  }
  if (GstSparseinferTensorMeta *tensors = gst_buffer_get_sparseinfer_tensor_meta(buf)) {
    r.model = tensors->model_name ? tensors->model_name : "";
    if (tensors->task == GST_SPARSEINFER_TASK_SEGMENTATION && tensors->n_tensors > 0) {
      const GstSparseinferTensor &t = tensors->tensors[0];
      gsize size = 0;
      const auto *scores = static_cast<const float *>(t.data ? g_bytes_get_data(t.data, &size) : nullptr);
      if (scores && t.dtype == GST_SPARSEINFER_DTYPE_FLOAT32 && t.n_dims == 4 &&
          size >= gsize(t.dims[1] * t.dims[2] * t.dims[3]) * sizeof(float)) {
        std::vector<std::string> labels;
        for (gchar **l = tensors->labels; l && *l; ++l) labels.emplace_back(*l);
        r.has_segmentation = true;
        r.segmentation_width = int(t.dims[3]);
        r.segmentation_height = int(t.dims[2]);
        r.segmentation = sg::class_shares(scores, t.dims[1], t.dims[2], t.dims[3], labels);
      }
    }
  }
  return r;
}

static GstFlowReturn gst_sparseinfer_publish_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  GstSparseinferPublish *self = GST_SPARSEINFER_PUBLISH(trans);
  // Only this thread replaces the publisher (start/stop run with the streaming thread stopped).
  sg::Publisher *publisher = self->publisher.get();
  if (!publisher) return GST_FLOW_OK;
  try {
    publisher->offer(sg::to_json_line(frame_record(self, buf)));
  } catch (const std::exception &e) {
    // A result that cannot be written as JSON is skipped, not fatal.
    GST_WARNING_OBJECT(self, "frame %" G_GUINT64_FORMAT " not published: %s", self->frames, e.what());
  }
  ++self->frames;
  return GST_FLOW_OK;
}

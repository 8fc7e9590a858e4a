#include "element_support.h"

#include <gst/video/gstvideometa.h>

#include <algorithm>
#include <cmath>
#include <exception>

#include "sparseinfer/error.h"

namespace sparseinfer::gst {

std::string base_name(const std::string &path) {
  gchar *base = g_path_get_basename(path.c_str());
  std::string name(base);
  g_free(base);
  return name;
}

bool check_model_file(GstElement *element, const std::string &path, const char *property) {
  if (path.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("No model set: set the '%s' property to an ONNX file.", property),
                      (nullptr));
    return false;
  }
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND,
                      ("Model file \"%s\" (property '%s') does not exist.", path.c_str(), property), (nullptr));
    return false;
  }
  return true;
}

void post_load_error(GstElement *element, const std::string &models) {
  try {
    throw;
  } catch (const ModelError &e) {
    if (e.node().empty() && e.op_type().empty())
      GST_ELEMENT_ERROR(element, RESOURCE, READ,
                        ("Could not load model \"%s\": %s", e.file().c_str(), e.reason().c_str()), ("%s", e.what()));
    else
      GST_ELEMENT_ERROR(element, LIBRARY, INIT,
                        ("Cannot run model \"%s\": node '%s' (%s): %s", e.file().c_str(), e.node().c_str(),
                         e.op_type().c_str(), e.reason().c_str()),
                        ("%s", e.what()));
  } catch (const Error &e) {
    GST_ELEMENT_ERROR(element, LIBRARY, SETTINGS, ("Cannot use %s: %s", models.c_str(), e.what()), ("%s", e.what()));
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(element, LIBRARY, FAILED, ("Cannot use %s: %s", models.c_str(), e.what()), ("%s", e.what()));
  } catch (...) {
    GST_ELEMENT_ERROR(element, LIBRARY, FAILED, ("Cannot use %s: unknown error", models.c_str()), (nullptr));
  }
}

bool starts_new_stream(GstEvent *event, std::string &stream_id) {
  if (GST_EVENT_TYPE(event) != GST_EVENT_STREAM_START) return false;
  const gchar *id = nullptr;
  gst_event_parse_stream_start(event, &id);
  if (!id || stream_id == id) return false;
  stream_id = id;
  return true;
}

PixelFormat pixel_format(GstVideoFormat format) {
  switch (format) {
    case GST_VIDEO_FORMAT_BGR:
      return PixelFormat::BGR;
    case GST_VIDEO_FORMAT_RGBx:
      return PixelFormat::RGBx;
    case GST_VIDEO_FORMAT_BGRx:
      return PixelFormat::BGRx;
    case GST_VIDEO_FORMAT_RGBA:
      return PixelFormat::RGBA;
    case GST_VIDEO_FORMAT_BGRA:
      return PixelFormat::BGRA;
    case GST_VIDEO_FORMAT_GRAY8:
      return PixelFormat::GRAY8;
    default:
      return PixelFormat::RGB;
  }
}

void to_unit_scale(PreprocessOptions &pre) {
  const float k = 255.0f * pre.scale;
  if (k == 0.0f || k == 1.0f) return;
  for (size_t c = 0; c < 3; ++c) {
    pre.mean[c] /= k;
    pre.std[c] /= k;
  }
  pre.scale = 1.0f / 255.0f;
}

void set_meta_labels(GstSparseinferTensorMeta *meta, const std::vector<std::string> &labels) {
  if (!meta || labels.empty()) return;
  std::vector<const gchar *> strv;
  for (const std::string &label : labels) strv.push_back(label.c_str());
  strv.push_back(nullptr);
  gst_sparseinfer_tensor_meta_set_labels(meta, strv.data());
}

GstStructure *frame_stats_structure(GstBaseTransform *trans, GstBuffer *buf, const GstSparseinferFrameStats *stats) {
  GstStructure *st = gst_sparseinfer_frame_stats_to_structure(stats);
  gst_structure_set(st, "timestamp", G_TYPE_UINT64, GST_BUFFER_PTS(buf), "running-time", G_TYPE_UINT64,
                    gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf)), nullptr);
  return st;
}

namespace {
// A new estimate is posted when it moves by more than this share...
constexpr double kLatencyChangeRatio = 0.2;
// ...and by at least this much, so jitter on tiny models stays quiet.
constexpr GstClockTime kLatencyChangeMin = 2 * GST_MSECOND;
// Weight of a new frame when the processing time falls.
constexpr double kLatencySmoothing = 0.1;
// The latency covers the slowest kind of frame times this, for the jitter of a
// loaded machine and the frame that waits behind a slow one. 1.5: on the 2-core
// development machine dense refreshes of the person network at 640x480 took
// 377-640 ms within one 300-frame run, so 1.25x the first ones let later ones
// reach the sink late (1-3 of 300 dropped); 1.5x dropped none.
constexpr double kLatencyHeadroom = 1.5;
// QoS: each skipped frame shrinks the prediction of its kind by this factor...
constexpr double kQosDecay = 0.8;
// ...and after this many skips in a row one frame is inferred anyway (about
// half a second at 30 fps), so a stale estimate cannot stop inference for good.
constexpr unsigned kQosProbeAfter = 15;
}  // namespace

double LatencyEstimate::bound_ms() const {
  double ms = 0;
  for (int k = 0; k < kFrameKinds; ++k)
    if (covered[k]) ms = std::max(ms, smoothed_ms[k]);
  return kLatencyHeadroom * ms;
}

double LatencyEstimate::predicted_ms(FrameKind kind) const {
  const int k = int(kind);
  const double ms = smoothed_ms[k] > 0 ? smoothed_ms[k] : std::max(smoothed_ms[0], smoothed_ms[1]);
  return ms * qos_factor[k];
}

bool LatencyEstimate::skip_late(FrameKind kind) {
  const int k = int(kind);
  if (++qos_skips[k] >= kQosProbeAfter) {
    qos_skips[k] = 0;
    return false;
  }
  qos_factor[k] *= kQosDecay;
  return true;
}

void update_latency(GstElement *element, LatencyEstimate &estimate, FrameKind kind, GstClockTime *reported, double ms) {
  const int k = int(kind);
  double &smoothed = estimate.smoothed_ms[k];
  smoothed = ms > smoothed ? ms : (1.0 - kLatencySmoothing) * smoothed + kLatencySmoothing * ms;
  estimate.qos_factor[k] = 1.0;
  estimate.qos_skips[k] = 0;
  const GstClockTime value = GstClockTime(estimate.bound_ms() * GST_MSECOND);
  GST_OBJECT_LOCK(element);
  const GstClockTime before = *reported;
  const GstClockTime delta = value > before ? value - before : before - value;
  // The first estimate is always reported; later ones only when they rose
  // enough to matter. The latency never falls while the element runs: a lower
  // one moves the sink's deadlines earlier, and the frames already queued
  // behind it arrive late (a refresh-interval=30 pipeline at 640x480 dropped a
  // buffer 220 ms late when the latency fell from 950 to 761 ms).
  const bool post =
      value > before && ((before == 0 && value > 0) ||
                         (delta >= kLatencyChangeMin && double(delta) > kLatencyChangeRatio * double(before)));
  if (post) *reported = value;
  GST_OBJECT_UNLOCK(element);
  if (post) {
    GST_INFO_OBJECT(element, "processing latency now %" GST_TIME_FORMAT, GST_TIME_ARGS(value));
    gst_element_post_message(element, gst_message_new_latency(GST_OBJECT(element)));
  }
}

void add_latency(GstElement *element, GstQuery *query, const GstClockTime *ours) {
  GST_OBJECT_LOCK(element);
  const GstClockTime latency = *ours;
  GST_OBJECT_UNLOCK(element);
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  min += latency;
  if (GST_CLOCK_TIME_IS_VALID(max)) max += latency;
  GST_DEBUG_OBJECT(element, "latency: adding %" GST_TIME_FORMAT, GST_TIME_ARGS(latency));
  gst_query_set_latency(query, live, min, max);
}

PreprocessOptions effective_preprocess(const ModelDescription &description, const std::array<double, 3> &mean,
                                       const std::array<double, 3> &std, bool rgb, const ExplicitProperties &set) {
  PreprocessOptions pre = description.present ? preprocess_options(description, 0, 0) : PreprocessOptions{};
  const bool use_mean = !description.present || set.mean, use_std = !description.present || set.std;
  // The properties speak of pixel values in [0, 1]; a description's own scale
  // is folded into its mean and std before one of them is replaced.
  if (use_mean || use_std) to_unit_scale(pre);
  for (size_t c = 0; c < 3; ++c) {
    if (use_mean) pre.mean[c] = float(mean[c]);
    if (use_std) pre.std[c] = float(std[c]);
  }
  if (!description.present || set.channel_order) pre.rgb = rgb;
  return pre;
}

std::shared_ptr<const std::vector<uint8_t>> class_map_bytes(const DecodeResult &decoded) {
  auto map = std::make_shared<std::vector<uint8_t>>(decoded.class_map.size());
  for (size_t i = 0; i < map->size(); ++i) {
    const int32_t id = decoded.class_map[i];
    if (id < 0 || id > 255)
      throw Error("segmentation class id " + std::to_string(id) + " does not fit the 8-bit class map (0..255)");
    (*map)[i] = uint8_t(id);
  }
  return map;
}

// ROIs are named after the model's class names when it has them, else
// "class-N", with a "detection" parameter as DL Streamer writes it
// (label_id, confidence, the box normalized to the frame).
void attach_detections(GstBuffer *buf, const std::vector<Detection> &detections, const std::vector<std::string> &labels,
                       int frame_width, int frame_height) {
  const float fw = float(std::max(1, frame_width)), fh = float(std::max(1, frame_height));
  for (const Detection &d : detections) {
    // Rounded outwards and clipped to the frame (an SSD box may reach past its border).
    const guint x = guint(std::clamp(std::floor(d.x1), 0.0f, fw));
    const guint y = guint(std::clamp(std::floor(d.y1), 0.0f, fh));
    const guint w = guint(std::max(0.0f, std::min(std::ceil(d.x2), fw) - float(x)));
    const guint h = guint(std::max(0.0f, std::min(std::ceil(d.y2), fh) - float(y)));
    if (w == 0 || h == 0) continue;  // the decoder drops degenerate boxes; this guards the rounding
    gchar *label = d.label >= 0 && size_t(d.label) < labels.size() && !labels[size_t(d.label)].empty()
                       ? g_strdup(labels[size_t(d.label)].c_str())
                       : g_strdup_printf("class-%d", d.label);
    GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta(buf, label, x, y, w, h);
    // "label-id" is the name earlier releases used; "label_id" is DL Streamer's.
    gst_video_region_of_interest_meta_add_param(
        roi, gst_structure_new("detection", "label_id", G_TYPE_INT, d.label, "label-id", G_TYPE_INT, d.label, "label",
                               G_TYPE_STRING, label, "confidence", G_TYPE_DOUBLE, double(d.score), "x_min",
                               G_TYPE_DOUBLE, double(std::clamp(d.x1 / fw, 0.0f, 1.0f)), "y_min", G_TYPE_DOUBLE,
                               double(std::clamp(d.y1 / fh, 0.0f, 1.0f)), "x_max", G_TYPE_DOUBLE,
                               double(std::clamp(d.x2 / fw, 0.0f, 1.0f)), "y_max", G_TYPE_DOUBLE,
                               double(std::clamp(d.y2 / fh, 0.0f, 1.0f)), nullptr));
    g_free(label);
  }
}

// The decoded boxes as a tensor: [N, 6] of x1, y1, x2, y2 (frame pixels), confidence, class id.
void add_detections_tensor(GstSparseinferTensorMeta *meta, const std::vector<Detection> &detections) {
  std::vector<float> rows;
  rows.reserve(detections.size() * 6);
  for (const Detection &d : detections) rows.insert(rows.end(), {d.x1, d.y1, d.x2, d.y2, d.score, float(d.label)});
  const gint64 dims[2] = {gint64(detections.size()), 6};
  gst_sparseinfer_tensor_meta_add_tensor(meta, "detections", GST_SPARSEINFER_DTYPE_FLOAT32, 2, dims, rows.data(),
                                         rows.size() * sizeof(float));
}

GParamSpec *value_array_spec(const gchar *name, const gchar *nick, const gchar *blurb) {
  return gst_param_spec_array(
      name, nick, blurb,
      g_param_spec_double("value", "Value", "One per network input channel", -G_MAXDOUBLE, G_MAXDOUBLE, 0.0,
                          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)),
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
}

unsigned set_value_array(const GValue *value, std::array<double, 3> &out) {
  const guint n = gst_value_array_get_size(value);
  for (guint i = 0; i < n && i < out.size(); ++i) {
    const GValue *v = gst_value_array_get_value(value, i);
    if (G_VALUE_HOLDS_DOUBLE(v))
      out[i] = g_value_get_double(v);
    else if (G_VALUE_HOLDS_FLOAT(v))
      out[i] = g_value_get_float(v);
    else if (G_VALUE_HOLDS_INT(v))
      out[i] = g_value_get_int(v);
  }
  return n;
}

void get_value_array(GValue *value, const std::array<double, 3> &in) {
  for (double x : in) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_DOUBLE);
    g_value_set_double(&v, x);
    gst_value_array_append_and_take_value(value, &v);
  }
}

}  // namespace sparseinfer::gst

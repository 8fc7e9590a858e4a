#include "element_support.h"

#include <algorithm>
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
// loaded machine and the frame that waits behind a slow one.
constexpr double kLatencyHeadroom = 1.25;
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
  // The first estimate is always reported; later ones only when they moved enough to matter.
  const bool post = (before == 0 && value > 0) ||
                    (delta >= kLatencyChangeMin && double(delta) > kLatencyChangeRatio * double(before));
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

}  // namespace sparseinfer::gst

#include "publish/frame_record.h"

#include <nlohmann/json.hpp>

namespace sparseinfer::gst {

std::string to_json_line(const FrameRecord& r) {
  nlohmann::ordered_json j;
  j["timestamp"] = r.pts_ns ? nlohmann::ordered_json(*r.pts_ns) : nlohmann::ordered_json(nullptr);
  j["wallclock_us"] = r.wallclock_us;
  j["stream_id"] = r.stream_id;
  j["frame_index"] = r.frame_index;
  j["model"] = r.model;
  nlohmann::ordered_json detections = nlohmann::ordered_json::array();
  for (const RecordDetection& d : r.detections)
    detections.push_back(
        {{"label", d.label}, {"label_id", d.label_id}, {"box", {d.x, d.y, d.width, d.height}}, {"score", d.score}});
  j["detections"] = std::move(detections);
  if (r.has_segmentation) {
    nlohmann::ordered_json classes = nlohmann::ordered_json::array();
    for (const RecordClassShare& c : r.segmentation)
      classes.push_back({{"label", c.label}, {"label_id", c.label_id}, {"fraction", c.fraction}});
    j["segmentation"] = {
        {"width", r.segmentation_width}, {"height", r.segmentation_height}, {"classes", std::move(classes)}};
  } else {
    j["segmentation"] = nullptr;
  }
  if (r.stats) {
    const RecordStats& s = *r.stats;
    j["stats"] = {
        {"inferred", s.inferred},         {"dense_frame", s.dense_frame},     {"changed_fraction", s.changed_fraction},
        {"mac_fraction", s.mac_fraction}, {"macs_executed", s.macs_executed}, {"macs_dense", s.macs_dense},
        {"process_ms", s.process_ms},     {"state_bytes", s.state_bytes}};
  } else {
    j["stats"] = nullptr;
  }
  // Invalid UTF-8 in a label or stream id is replaced, never thrown.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::vector<RecordClassShare> class_shares(const float* scores, int64_t classes, int64_t height, int64_t width,
                                           const std::vector<std::string>& labels) {
  const int64_t pixels = height * width;
  const int64_t bins = classes == 1 ? 2 : classes;
  std::vector<int64_t> counts(size_t(bins), 0);
  if (pixels <= 0 || classes <= 0) return {};
  for (int64_t p = 0; p < pixels; ++p) {
    int64_t best = 0;
    if (classes == 1) {
      best = scores[p] > 0.5f ? 1 : 0;
    } else {
      for (int64_t c = 1; c < classes; ++c)
        if (scores[c * pixels + p] > scores[best * pixels + p]) best = c;
    }
    ++counts[size_t(best)];
  }
  std::vector<RecordClassShare> shares;
  for (int64_t c = 0; c < bins; ++c) {
    if (counts[size_t(c)] == 0) continue;
    RecordClassShare s;
    s.label_id = int(c);
    s.label =
        size_t(c) < labels.size() && !labels[size_t(c)].empty() ? labels[size_t(c)] : "class-" + std::to_string(c);
    s.fraction = double(counts[size_t(c)]) / double(pixels);
    shares.push_back(std::move(s));
  }
  return shares;
}

}  // namespace sparseinfer::gst

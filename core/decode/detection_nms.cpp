#include "decode/detection_nms.h"

#include <algorithm>

namespace sparseinfer {

float intersection_over_union(const Detection& a, const Detection& b) {
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0.0f;
  const float inter = iw * ih;
  const float uni = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

bool is_degenerate(const Detection& d) {
  // Negated so that NaN coordinates count as degenerate too.
  return !(d.x2 > d.x1) || !(d.y2 > d.y1);
}

namespace decode {

std::vector<Detection> non_max_suppression(std::vector<Detection> found, const DetectionParams& params) {
  // Stable, so equal scores keep the decoder's (anchor or cell) order.
  std::stable_sort(found.begin(), found.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<Detection> kept;
  for (const Detection& d : found) {
    if (static_cast<int>(kept.size()) >= params.max_detections) break;
    bool overlaps = false;
    for (const Detection& k : kept)
      if (k.label == d.label && intersection_over_union(k, d) > params.iou_threshold) {
        overlaps = true;
        break;
      }
    if (!overlaps) kept.push_back(d);
  }
  return kept;
}

}  // namespace decode
}  // namespace sparseinfer

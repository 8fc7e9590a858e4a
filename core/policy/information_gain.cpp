#include "policy/information_gain.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sparseinfer/error.h"

namespace sparseinfer::policy {

namespace {

// Probabilities are clamped away from 0 so a saturated output gives a
// large but finite divergence.
constexpr double kProbabilityFloor = 1e-6;

float area(const Detection& d) {
  return std::max(0.f, d.x2 - d.x1) * std::max(0.f, d.y2 - d.y1);
}

// ig[b] = max(ig[b], value) for every block holding at least one pixel of
// the box. Pixel x lies in the box when x1 <= x + 0.5 < x2 (its centre).
void raise_blocks_under(const Detection& box, float value, const GridGeometry& grid, std::vector<float>& ig) {
  const int px0 = std::max(0, int(std::ceil(box.x1 - 0.5f)));
  const int px1 = std::min(grid.width, int(std::ceil(box.x2 - 0.5f)));  // exclusive
  const int py0 = std::max(0, int(std::ceil(box.y1 - 0.5f)));
  const int py1 = std::min(grid.height, int(std::ceil(box.y2 - 0.5f)));
  if (px0 >= px1 || py0 >= py1) return;
  const int bx0 = px0 / grid.block_size, bx1 = (px1 - 1) / grid.block_size;
  const int by0 = py0 / grid.block_size, by1 = (py1 - 1) / grid.block_size;
  for (int by = by0; by <= by1; ++by)
    for (int bx = bx0; bx <= bx1; ++bx) {
      float& cell = ig[size_t(by) * grid.cols + bx];
      cell = std::max(cell, value);
    }
}

void check_grid(const GridGeometry& grid) {
  if (grid.block_size <= 0 || grid.rows <= 0 || grid.cols <= 0 || grid.width <= 0 || grid.height <= 0 ||
      int64_t(grid.cols) * grid.block_size < grid.width || int64_t(grid.rows) * grid.block_size < grid.height)
    throw Error("information gain: the block grid (" + std::to_string(grid.cols) + "x" + std::to_string(grid.rows) +
                " blocks of " + std::to_string(grid.block_size) + " px) does not cover the " +
                std::to_string(grid.width) + "x" + std::to_string(grid.height) + " image");
}

}  // namespace

GridGeometry GridGeometry::covering(int width, int height, int block_size) {
  GridGeometry g;
  g.width = width;
  g.height = height;
  g.block_size = block_size;
  if (block_size > 0) {
    g.cols = (width + block_size - 1) / block_size;
    g.rows = (height + block_size - 1) / block_size;
  }
  return g;
}

float box_iou(const Detection& a, const Detection& b) {
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0.f || ih <= 0.f) return 0.f;
  const float inter = iw * ih;
  const float uni = area(a) + area(b) - inter;
  return uni > 0.f ? inter / uni : 0.f;
}

std::vector<float> detection_information_gain(const std::vector<Detection>& current,
                                              const std::vector<Detection>& previous, const GridGeometry& grid) {
  check_grid(grid);
  std::vector<float> ig(size_t(grid.count()), 0.f);
  std::vector<bool> processed(previous.size(), false);
  for (const Detection& det : current) {
    float best_iou = 0.f;
    int best = -1;
    for (size_t j = 0; j < previous.size(); ++j) {
      if (previous[j].label != det.label) continue;
      const float iou = box_iou(det, previous[j]);
      if (iou > best_iou) {
        best_iou = iou;
        best = int(j);
      }
    }
    raise_blocks_under(det, (1.f - best_iou) * det.score, grid, ig);
    if (best >= 0) {
      raise_blocks_under(previous[best], (1.f - best_iou) * previous[best].score, grid, ig);
      processed[best] = true;
    }
  }
  for (size_t j = 0; j < previous.size(); ++j)
    if (!processed[j]) raise_blocks_under(previous[j], previous[j].score, grid, ig);
  return ig;
}

std::vector<float> segmentation_information_gain(const float* current, const float* previous, int channels,
                                                 int map_height, int map_width, const GridGeometry& grid) {
  check_grid(grid);
  if (channels < 1 || map_height < 1 || map_width < 1)
    throw Error("information gain: the output maps must have at least one channel and one pixel");
  std::vector<float> ig(size_t(grid.count()), 0.f);
  const int64_t plane = int64_t(map_height) * map_width;
  auto clamp = [](double p) { return std::clamp(p, kProbabilityFloor, 1.0 - kProbabilityFloor); };
  for (int y = 0; y < map_height; ++y) {
    const int by = std::min(grid.rows - 1, int((y + 0.5) * grid.height / map_height) / grid.block_size);
    for (int x = 0; x < map_width; ++x) {
      const int bx = std::min(grid.cols - 1, int((x + 0.5) * grid.width / map_width) / grid.block_size);
      const int64_t i = int64_t(y) * map_width + x;
      double kl = 0.0;
      if (channels == 1) {
        if (current[i] == previous[i]) continue;  // unchanged (a transferred block): KL 0
        const double p = clamp(current[i]), q = clamp(previous[i]);
        kl = p * std::log(p / q) + (1.0 - p) * std::log((1.0 - p) / (1.0 - q));
      } else {
        for (int c = 0; c < channels; ++c) {
          const double p = clamp(current[c * plane + i]), q = clamp(previous[c * plane + i]);
          if (p != q) kl += p * std::log(p / q);
        }
        kl = std::max(kl, 0.0);  // rounding of distributions that do not sum exactly to 1
      }
      float& cell = ig[size_t(by) * grid.cols + bx];
      cell = std::max(cell, float(kl));
    }
  }
  return ig;
}

}  // namespace sparseinfer::policy

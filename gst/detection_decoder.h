// Decodes detnet-style outputs (make_models.py DetNetSmall): a sigmoid centre
// heatmap [1, K, h, w] and box distances [1, 4, h, w] (left, top, right,
// bottom, in cells) on a grid of stride-sized cells, into scored boxes.
#pragma once

#include <vector>

#include "sparseinfer/tensor.h"

namespace sparseinfer::gst {

struct Detection {
  float x1, y1, x2, y2;  // network input pixels
  float score;
  int label;
};

struct DetectionParams {
  float score_threshold = 0.5f;
  float iou_threshold = 0.5f;  // NMS: drop a box overlapping a better one by more
  int max_detections = 100;
};

// A box without area (a width or height of 0 or less, or NaN), e.g. from
// negative distances or clamping at the input border.
bool is_degenerate(const Detection& d);

// Cells whose best class score is a 3x3 local maximum above the threshold
// become boxes; greedy NMS per class then removes overlapping ones. Sorted by
// score, best first; degenerate boxes are dropped. Throws Error when the shapes do not fit together.
std::vector<Detection> decode_detections(const Tensor& heatmap, const Tensor& boxes, int input_width, int input_height,
                                         const DetectionParams& params);

float intersection_over_union(const Detection& a, const Detection& b);

}  // namespace sparseinfer::gst

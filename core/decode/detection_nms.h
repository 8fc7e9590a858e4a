// Greedy non-maximum suppression shared by the detection decoders.
#pragma once

#include <vector>

#include "sparseinfer/decode.h"

namespace sparseinfer::decode {

// Sorts `found` by score (best first) and keeps a box unless it overlaps a
// kept box of the same class by an IoU above `params.iou_threshold`; at most
// `params.max_detections` boxes.
std::vector<Detection> non_max_suppression(std::vector<Detection> found, const DetectionParams& params);

}  // namespace sparseinfer::decode

// Output decoders: network outputs to boxes, class maps or a class, as the
// model description says (model_description.h). One entry point,
// decode_outputs(); one decoder per file in core/decode/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sparseinfer/model_description.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

struct Detection {
  float x1, y1, x2, y2;  // box corners; decode_outputs gives frame pixels
  float score;
  int label;  // class index into ModelDescription::labels
};

// How the frame became the network input, so results map back to frame pixels.
struct FrameGeometry {
  int network_width = 0, network_height = 0;  // the network input size
  int frame_width = 0, frame_height = 0;      // the original frame (clip) size
  // The rectangle of the network input the frame covers (letterbox offsets and
  // scaled size); the whole input when stretched.
  int content_x = 0, content_y = 0;
  int content_width = 0, content_height = 0;
};

// Geometry for a frame preprocessed with `options` (resize_placement).
FrameGeometry frame_geometry(int frame_width, int frame_height, const PreprocessOptions& options);

// One network output, as the engine gives them (Engine::outputs()[i].name, FrameResult::outputs[i]).
struct NamedOutput {
  std::string name;
  const Tensor* tensor = nullptr;
};

struct DecodeResult {
  DecoderKind kind = DecoderKind::None;

  // ssd, centernet: boxes in frame pixels, best score first, after NMS.
  std::vector<Detection> detections;

  // segmentation: class index per pixel of the output grid, cropped to the
  // frame's content rectangle, row-major, map_width x map_height.
  int map_width = 0, map_height = 0;
  std::vector<int32_t> class_map;
  // Fraction of the map's pixels of each class (index = class). One-channel
  // models have two classes: 0 (at or below the threshold) and 1 (above).
  std::vector<double> class_fractions;

  // classification: the best class and its probability.
  int top_class = -1;
  float top_score = 0.0f;
};

// Decodes `outputs` as `description` says. Returns kind None (nothing else
// set) for a description without a decoder. Throws Error naming the output
// and the expected shape when the outputs do not fit the decoder.
DecodeResult decode_outputs(const ModelDescription& description, const std::vector<NamedOutput>& outputs,
                            const FrameGeometry& geometry);

// The centernet (detnet_small) decoder on its own, boxes in network input
// pixels: cells whose best class score is a 3x3 local maximum at or above the
// threshold become boxes, clamped to the input; greedy per-class NMS. Sorted
// by score, best first; degenerate boxes are dropped. Throws Error when the
// shapes do not fit together.
std::vector<Detection> decode_centernet(const Tensor& heatmap, const Tensor& boxes, int input_width, int input_height,
                                        const DetectionParams& params);

// A box without area (a width or height of 0 or less, or NaN).
bool is_degenerate(const Detection& d);

float intersection_over_union(const Detection& a, const Detection& b);

}  // namespace sparseinfer

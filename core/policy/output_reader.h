// How the policy reads the task network's output O_t (BlockCopy §3.3-3.4):
// boxes for detectors (Algorithm 1 compares them), a probability map for
// segmenters (compared by pixelwise KL).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "policy/information_gain.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer::policy {

// The task output as the policy sees it: detections (boxes in network-input
// pixels) or a probability map [channels, height, width].
struct OutputReading {
  std::vector<Detection> detections;
  std::vector<float> probabilities;
  int map_channels = 0, map_height = 0, map_width = 0;
  bool is_map() const { return map_channels > 0; }
};

// Turns the engine's outputs (graph output order) into an OutputReading.
using OutputReader = std::function<OutputReading(const std::vector<const Tensor*>& outputs)>;

// Reads output `index` ([1, C, H, W] probabilities, e.g. a person mask) as a map.
OutputReader probability_map_reader(size_t index);

// The reader a model description implies: ssd and centernet decoders give
// detections (in network-input pixels of a network_width x network_height
// input); segmentation gives per-pixel probabilities (softmax or sigmoid of
// the scores as the description says). `output_names` are the engine's
// outputs in order. Throws Error naming the model's description source for
// decoders the policy cannot use (none, classification).
OutputReader description_output_reader(const ModelDescription& description, std::vector<std::string> output_names,
                                       int network_width, int network_height);

}  // namespace sparseinfer::policy

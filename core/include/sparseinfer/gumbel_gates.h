// Learned Skip-Conv gates on disk (Habibian et al. 2021, §3.2.2): what
// examples/models/train_gumbel_gates.py writes next to a model and what the
// engine runs as each gated layer's gate (EngineOptions::gumbel_gates).
//
// {"format": "sparseinfer-gumbel-gates", "version": 1, "model": "net.onnx",
//  "input_shape": [1,3,256,256],
//  "layers": {"Conv_0": {"channels": 3, "weight_abs": [..3], "weight_signed": [..3],
//                        "bias": -2.1}, ...},
//  "training": {...}}
//
// Per input pixel p of a layer, with r = input - the input as the layer last
// computed it: logit(p) = bias + sum_c weight_abs[c] |r_c(p)| + weight_signed[c] r_c(p).
// The pixel is recomputed where logit > the layer's threshold (0 by default).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

struct GumbelGateLayer {
  std::vector<float> weight_abs;     // one per input channel
  std::vector<float> weight_signed;  // one per input channel
  float bias = 0.0f;
  int64_t channels() const { return static_cast<int64_t>(weight_abs.size()); }
};

struct GumbelGateSet {
  std::string path;   // the file it was read from, for error messages
  std::string model;  // file name of the model the gates were trained for
  Shape input_shape;
  std::map<std::string, GumbelGateLayer> layers;  // layer name (Engine::threshold_layers()) -> gate
};

// Throws sparseinfer::Error naming the file, the layer and the field.
GumbelGateSet read_gumbel_gates(const std::string& path);

}  // namespace sparseinfer

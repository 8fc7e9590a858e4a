// Layer types for per-type profiles (`sparseinfer info --profile`, the
// benchmark's --profile): where a network's time goes, in rows a reader can
// compare with a peer's profile. tests/bench/layer_types.py gives ONNX
// Runtime's and OpenVINO's nodes the same names.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"

namespace sparseinfer::tools {

// One name per engine layer, in Engine::layers() order: convolutions by kernel
// and stride ("conv 7x7", "conv 3x3 s2", "conv 1x1", "depthwise 3x3 s2"), other
// operators by family ("element-wise", "pool", "global pool", "layout",
// "resize", "gemm", "conv transpose", ...). `model` is the model the engine
// was compiled from.
std::vector<std::string> layer_types(const Model& model, const Engine& engine);

struct TypeCost {
  std::string type;
  int layers = 0;
  int64_t macs = 0;
  double ms = 0;  // per frame
};

// Sums per-layer milliseconds (summed over `frames` frames) into per-type
// milliseconds per frame, most expensive first.
std::vector<TypeCost> cost_by_type(const std::vector<std::string>& types, const Engine& engine,
                                   const std::vector<double>& layer_ms_sum, int frames);

// {"conv 1x1":12.345,...} in cost_by_type's order.
std::string type_ms_json(const std::vector<TypeCost>& costs);

}  // namespace sparseinfer::tools

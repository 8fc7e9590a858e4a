// The ONNX reader behind load_model(). The model layer knows no operators:
// the names it accepts come from the layer above (ops/load_model.cpp passes
// the operator table's), so an unsupported node is still refused at load
// time, naming the node.
#pragma once

#include <string>
#include <vector>

#include "sparseinfer/model.h"

namespace sparseinfer {

Model import_model_file(const std::string& path, const LoadLimits& limits, const std::vector<std::string>& supported);
Model import_model_bytes(const std::string& bytes, const std::string& label, const LoadLimits& limits,
                         const std::vector<std::string>& supported);

}  // namespace sparseinfer

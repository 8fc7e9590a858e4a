// load_model(): the ONNX reader of the model layer, accepting the operators
// this library can run.
#include "model/onnx_import.h"
#include "ops/op.h"

namespace sparseinfer {

Model load_model(const std::string& path, const LoadLimits& limits) {
  return import_model_file(path, limits, supported_ops());
}

Model load_model_from_bytes(const std::string& bytes, const std::string& label, const LoadLimits& limits) {
  return import_model_bytes(bytes, label, limits, supported_ops());
}

}  // namespace sparseinfer

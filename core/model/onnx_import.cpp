#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

namespace sparseinfer {

Model load_model(const std::string& path, const LoadLimits&) {
  throw ModelError(path, "", "", "ONNX import is not built yet");
}

Model load_model_from_bytes(const std::string&, const std::string& label, const LoadLimits&) {
  throw ModelError(label, "", "", "ONNX import is not built yet");
}

}  // namespace sparseinfer

namespace sparseinfer {

Tensor load_tensor_proto(const std::string& path, const LoadLimits&) {
  throw Error(path + ": TensorProto reading is not built yet");
}

}  // namespace sparseinfer

// Conversion of ONNX TensorProto / ValueInfoProto messages into the core's
// types, with the size checks that keep a hostile file from making us
// allocate without bound. Internal to core/model.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "sparseinfer/model.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

// Name of an ONNX element type for messages ("FLOAT16", or "type 42" when unknown).
std::string onnx_dtype_name(int32_t elem_type);

// Reads a float32 or int64 tensor; throws Error with a reason that names the
// tensor for any other type, bad dims or a size mismatch. External data is
// read from a file inside `model_dir` (model/external_data.h); with an empty
// `model_dir` it is refused.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const LoadLimits& limits,
                         const std::string& model_dir = std::string());

// Reads a graph input/output description. Throws Error for element types
// other than float32 and int64, and for non-tensor types.
ValueInfo value_info_from_proto(const onnx::ValueInfoProto& proto);

}  // namespace sparseinfer

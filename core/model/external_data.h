// ONNX external data: an initializer whose bytes live in a separate file
// beside the model (TensorProto.data_location = EXTERNAL, with 'location',
// 'offset' and 'length' entries). Internal to core/model.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace sparseinfer {

// The raw bytes of `proto`'s external data: `expected_bytes` bytes read from
// the file named by its 'location', relative to `model_dir`. The file must
// stay inside `model_dir` once '..' and symbolic links are resolved; an
// absolute location, one that leaves the directory, a missing file, or an
// offset/length that does not fit is refused with an Error naming the file.
// An empty `model_dir` (a model read from memory) refuses external data.
std::string read_external_data(const onnx::TensorProto& proto, const std::string& model_dir, size_t expected_bytes,
                               const std::string& what);

}  // namespace sparseinfer

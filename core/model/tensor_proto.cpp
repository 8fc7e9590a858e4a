#include "model/tensor_proto.h"

#include <cstring>
#include <limits>

#include "model/external_data.h"
#include "model/file_bytes.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

std::string onnx_dtype_name(int32_t elem_type) {
  if (onnx::TensorProto_DataType_IsValid(elem_type))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(elem_type));
  return "type " + std::to_string(elem_type);
}

static DType supported_dtype(int32_t elem_type, const std::string& what) {
  if (elem_type == onnx::TensorProto_DataType_FLOAT) return DType::Float32;
  if (elem_type == onnx::TensorProto_DataType_INT64) return DType::Int64;
  throw Error(what + " has element type " + onnx_dtype_name(elem_type) +
              "; only float32 (FLOAT) and int64 (INT64) are supported");
}

// Element count of a shape, refusing negative dims, too many dims and counts
// over the limit before anything is multiplied past it.
static int64_t checked_numel(const Shape& dims, const LoadLimits& limits, const std::string& what) {
  if (static_cast<int64_t>(dims.size()) > limits.max_rank)
    throw Error(what + " has rank " + std::to_string(dims.size()) + ", more than the limit of " +
                std::to_string(limits.max_rank));
  for (int64_t d : dims)
    if (d < 0) throw Error(what + " has a negative dimension in shape " + shape_str(dims));
  for (int64_t d : dims)
    if (d == 0) return 0;
  int64_t count = 1;
  for (int64_t d : dims) {
    if (count > limits.max_tensor_elements / d)
      throw Error(what + " with shape " + shape_str(dims) + " has more than " +
                  std::to_string(limits.max_tensor_elements) + " elements (the limit)");
    count *= d;
  }
  return count;
}

Tensor tensor_from_proto(const onnx::TensorProto& proto, const LoadLimits& limits, const std::string& model_dir) {
  const std::string what = "tensor '" + proto.name() + "'";
  if (proto.has_segment()) throw Error(what + " is segmented, which is not supported");
  DType dtype = supported_dtype(proto.data_type(), what);
  Shape dims(proto.dims().begin(), proto.dims().end());
  const int64_t count = checked_numel(dims, limits, what);
  const size_t elem_bytes = dtype == DType::Float32 ? sizeof(float) : sizeof(int64_t);

  // Sizes are checked against the data already in memory before allocating.
  const size_t n = static_cast<size_t>(count);
  if (proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL || proto.external_data_size() > 0) {
    // Stored little-endian like raw_data (the only byte order this core runs on).
    std::string bytes = read_external_data(proto, model_dir, n * elem_bytes, what);
    Tensor t(dtype, dims);
    if (n > 0) std::memcpy(t.raw(), bytes.data(), n * elem_bytes);
    return t;
  }
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != n * elem_bytes)
      throw Error(what + " with shape " + shape_str(dims) + " needs " + std::to_string(n * elem_bytes) +
                  " bytes of raw_data but has " + std::to_string(proto.raw_data().size()));
    Tensor t(dtype, dims);
    if (n > 0)
      std::memcpy(dtype == DType::Float32 ? static_cast<void*>(t.f32()) : static_cast<void*>(t.i64()),
                  proto.raw_data().data(), n * elem_bytes);
    return t;
  }
  const int typed = dtype == DType::Float32 ? proto.float_data_size() : proto.int64_data_size();
  if (static_cast<size_t>(typed) != n)
    throw Error(what + " with shape " + shape_str(dims) + " needs " + std::to_string(n) + " values but has " +
                std::to_string(typed));
  Tensor t(dtype, dims);
  if (dtype == DType::Float32) {
    for (size_t i = 0; i < n; ++i) t.f32()[i] = proto.float_data(static_cast<int>(i));
  } else {
    for (size_t i = 0; i < n; ++i) t.i64()[i] = proto.int64_data(static_cast<int>(i));
  }
  return t;
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& proto) {
  const std::string what = "value '" + proto.name() + "'";
  ValueInfo info;
  info.name = proto.name();
  if (!proto.has_type()) throw Error(what + " has no type");
  if (!proto.type().has_tensor_type())
    throw Error(what + " is not a tensor (sequences, maps and optionals are not supported)");
  const auto& tensor_type = proto.type().tensor_type();
  info.dtype = supported_dtype(tensor_type.elem_type(), what);
  if (tensor_type.has_shape()) {
    for (const auto& dim : tensor_type.shape().dim())
      info.dims.push_back(dim.has_dim_value() && dim.dim_value() >= 0 ? dim.dim_value() : -1);
  }
  return info;
}

Tensor load_tensor_proto(const std::string& path, const LoadLimits& limits) {
  std::string bytes = read_file_bytes(path, limits.max_file_bytes);
  try {
    onnx::TensorProto proto;
    if (!proto.ParseFromString(bytes))
      throw ModelError(path, "", "", "not a valid ONNX TensorProto (truncated or corrupted)");
    return tensor_from_proto(proto, limits);
  } catch (const ModelError&) {
    throw;
  } catch (const Error& e) {
    throw ModelError(path, "", "", e.what());
  } catch (const std::bad_alloc&) {
    throw ModelError(path, "", "", "out of memory while reading the tensor");
  } catch (const std::exception& e) {
    throw ModelError(path, "", "", std::string("cannot read the tensor: ") + e.what());
  }
}

}  // namespace sparseinfer

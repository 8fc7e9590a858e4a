// Cast between the two element types tensors have: float32 and int64.
// float32 -> int64 truncates toward zero (C conversion, as onnxruntime);
// values outside the int64 range saturate and NaN becomes 0, where C leaves
// the result undefined.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "ops/op.h"

namespace sparseinfer {

namespace {

// TensorProto.DataType codes of the two supported targets.
constexpr int64_t kOnnxFloat = 1;
constexpr int64_t kOnnxInt64 = 7;

int64_t float_to_int64(float v) {
  if (std::isnan(v)) return 0;
  // 2^63 is exactly representable as float; anything at or above it saturates.
  constexpr float kLimit = 9223372036854775808.0f;
  if (v >= kLimit) return std::numeric_limits<int64_t>::max();
  if (v < -kLimit) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

class CastOp : public Op {
 public:
  explicit CastOp(const OpInfo& info) : info_(info) {
    if (!info.node->has_attr("to")) op_fail(info, "missing required attribute 'to'");
    const int64_t to = info.node->attr_int("to", 0);
    if (to == kOnnxFloat)
      to_ = DType::Float32;
    else if (to == kOnnxInt64)
      to_ = DType::Int64;
    else
      op_fail(info,
              "cast to element type " + std::to_string(to) + " is not supported (only FLOAT (1) and INT64 (7) are)");
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input");
    return {Tensor::descriptor(to_, inputs[0]->shape())};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    const int64_t n = x.numel();
    if (x.dtype() == to_) {
      if (n) std::memcpy(y.raw(), x.raw(), x.bytes());
    } else if (to_ == DType::Int64) {
      for (int64_t i = 0; i < n; ++i) y.i64()[i] = float_to_int64(x.f32()[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) y.f32()[i] = static_cast<float>(x.i64()[i]);
    }
  }

 private:
  OpInfo info_;
  DType to_ = DType::Float32;
};

}  // namespace

void register_cast_ops(OpTable& table) {
  table["Cast"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<CastOp>(info); };
}

}  // namespace sparseinfer

// Pow: base ^ exponent with multidirectional broadcasting. The output has the
// base's type; since opset 12 the exponent may have another type than the
// base (a float32 base with an int64 exponent, or the other way round).
#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/broadcast.h"
#include "ops/op.h"

namespace sparseinfer {

namespace {

// Integer power by squaring, wrapping on overflow like the int64 binary ops;
// a negative exponent gives the truncated real result (0 unless |base| is 1).
int64_t int_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent % 2) ? -1 : 1;
    return 0;
  }
  uint64_t result = 1, b = static_cast<uint64_t>(base);
  for (uint64_t e = static_cast<uint64_t>(exponent); e; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<int64_t>(result);
}

class PowOp : public Op {
 public:
  explicit PowOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.size() != 2 || !inputs[0] || !inputs[1]) op_fail(info_, "expects inputs X and Y");
    const Tensor& x = *inputs[0];
    const Tensor& y = *inputs[1];
    if (info_.opset < 12 && x.dtype() != y.dtype())
      op_fail(info_, "base and exponent types differ, which opset " + std::to_string(info_.opset) + " does not allow");
    Shape out;
    try {
      out = broadcast_shape(x.shape(), y.shape());
    } catch (const Error& e) {
      op_fail(info_, e.what());
    }
    plan_ = plan_broadcast(x.shape(), y.shape(), out);
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& x = *inputs[0];
    const Tensor& y = *inputs[1];
    Tensor& z = *outputs[0];
    auto real_pow = [](float b, float e) { return std::pow(b, e); };
    if (x.dtype() == DType::Float32 && y.dtype() == DType::Float32) {
      run_broadcast(plan_, x.f32(), y.f32(), z.f32(), ctx.threads, real_pow);
    } else if (x.dtype() == DType::Float32) {
      // An int64 exponent as float: exact for every exponent a float result can use.
      float* exponent = ctx.scratch->floats(static_cast<size_t>(y.numel()));
      for (int64_t i = 0; i < y.numel(); ++i) exponent[i] = static_cast<float>(y.i64()[i]);
      run_broadcast(plan_, x.f32(), static_cast<const float*>(exponent), z.f32(), ctx.threads, real_pow);
    } else if (y.dtype() == DType::Int64) {
      run_broadcast(plan_, x.i64(), y.i64(), z.i64(), 1, int_pow);
    } else {
      // int64 base, float exponent: computed in double, truncated toward zero.
      std::vector<double> base(x.i64(), x.i64() + x.numel()), exponent(y.f32(), y.f32() + y.numel());
      std::vector<double> result(static_cast<size_t>(z.numel()));
      run_broadcast(plan_, base.data(), exponent.data(), result.data(), 1,
                    [](double b, double e) { return std::pow(b, e); });
      for (int64_t i = 0; i < z.numel(); ++i) z.i64()[i] = static_cast<int64_t>(result[static_cast<size_t>(i)]);
    }
  }

 private:
  OpInfo info_;
  BroadcastPlan plan_;
};

}  // namespace

void register_pow_ops(OpTable& table) {
  table["Pow"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<PowOp>(info); };
}

}  // namespace sparseinfer

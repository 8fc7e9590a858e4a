// Expand: broadcasts the input to a constant int64 shape, numpy-style in
// both directions (a 1 in the shape keeps the input's dimension).
#include "ops/broadcast.h"
#include "ops/op.h"
#include "ops/op_params.h"

namespace sparseinfer {

namespace {

class ExpandOp : public Op {
 public:
  explicit ExpandOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.size() != 2 || !inputs[0] || !inputs[1]) op_fail(info_, "expects inputs 'input' and 'shape'");
    const Tensor& x = *inputs[0];
    if (inputs[1]->rank() != 1) op_fail(info_, "'shape' must be 1-D, got shape " + shape_str(inputs[1]->shape()));
    std::vector<int64_t> target = constant_ints(info_, *inputs[1], "shape");
    for (int64_t d : target)
      if (d < 0) op_fail(info_, "negative dimension " + std::to_string(d) + " in 'shape'");
    Shape out;
    try {
      out = broadcast_shape(x.shape(), Shape(target.begin(), target.end()));
    } catch (const Error& e) {
      op_fail(info_, e.what());
    }
    plan_ = plan_broadcast(x.shape(), x.shape(), out);
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& x = *inputs[0];
    if (x.dtype() == DType::Float32)
      run_broadcast(plan_, x.f32(), x.f32(), outputs[0]->f32(), ctx.threads, [](float a, float) { return a; });
    else
      run_broadcast(plan_, x.i64(), x.i64(), outputs[0]->i64(), ctx.threads, [](int64_t a, int64_t) { return a; });
  }

 private:
  OpInfo info_;
  BroadcastPlan plan_;
};

}  // namespace

void register_expand_ops(OpTable& table) {
  table["Expand"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<ExpandOp>(info); };
}

}  // namespace sparseinfer

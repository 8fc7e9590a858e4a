// Min and Max: the element-wise extreme of one or more inputs (variadic),
// broadcast together numpy-style. A NaN operand gives NaN, as numpy's
// minimum/maximum (the ONNX reference) do.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/op.h"

namespace sparseinfer {

namespace {

class MinMaxOp : public Op {
 public:
  MinMaxOp(const OpInfo& info, bool is_max) : info_(info), is_max_(is_max) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty()) op_fail(info_, "expects at least one input");
    for (const Tensor* t : inputs)
      if (!t) op_fail(info_, "inputs cannot be omitted");
    const DType dtype = inputs[0]->dtype();
    Shape out = inputs[0]->shape();
    for (const Tensor* t : inputs) {
      if (t->dtype() != dtype)
        op_fail(info_, std::string("input types differ: ") + dtype_name(dtype) + " and " + dtype_name(t->dtype()));
      try {
        out = broadcast_shape(out, t->shape());
      } catch (const Error& e) {
        op_fail(info_, e.what());
      }
    }
    // Input 0 is broadcast to the output first, then each input is folded in.
    plans_.clear();
    for (const Tensor* t : inputs) plans_.push_back(plan_broadcast(out, t->shape(), out));
    first_plan_ = plan_broadcast(inputs[0]->shape(), inputs[0]->shape(), out);
    return {Tensor::descriptor(dtype, out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    if (outputs[0]->dtype() == DType::Float32) {
      const bool is_max = is_max_;
      run(inputs, outputs[0]->f32(), ctx.threads, [is_max](float a, float b) {
        if (std::isnan(a) || std::isnan(b)) return std::nanf("");
        return (is_max ? a < b : b < a) ? b : a;
      });
    } else {
      const bool is_max = is_max_;
      run(inputs, outputs[0]->i64(), ctx.threads,
          [is_max](int64_t a, int64_t b) { return (is_max ? a < b : b < a) ? b : a; });
    }
  }

 private:
  template <typename T, typename Fn>
  void run(const std::vector<const Tensor*>& inputs, T* out, int threads, Fn fn) const {
    const T* first = static_cast<const T*>(inputs[0]->raw());
    run_broadcast(first_plan_, first, first, out, threads, [](T a, T) { return a; });
    // The output is contiguous in the plan, so reading and writing it in place is safe.
    for (size_t i = 1; i < inputs.size(); ++i)
      run_broadcast(plans_[i], static_cast<const T*>(out), static_cast<const T*>(inputs[i]->raw()), out, threads, fn);
  }

  OpInfo info_;
  bool is_max_;
  BroadcastPlan first_plan_;
  std::vector<BroadcastPlan> plans_;
};

}  // namespace

void register_min_max_ops(OpTable& table) {
  table["Min"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<MinMaxOp>(info, false); };
  table["Max"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<MinMaxOp>(info, true); };
}

}  // namespace sparseinfer

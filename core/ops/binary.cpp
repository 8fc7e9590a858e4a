// Add, Sub, Mul, Div with multidirectional (numpy) broadcasting, on float32
// activations and on the int64 shape arithmetic of exported graphs.
#include <cstdint>
#include <limits>

#include "ops/broadcast.h"
#include "ops/op.h"

namespace sparseinfer {

namespace {

enum class BinaryKind { Add, Sub, Mul, Div };

class BinaryOp : public Op {
 public:
  BinaryOp(const OpInfo& info, BinaryKind kind) : info_(info), kind_(kind) {
    // Before opset 7 broadcasting was opt-in with an explicit axis.
    if (info.node->has_attr("axis"))
      op_fail(info, "the legacy 'axis' broadcast attribute (opset < 7) is not supported");
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.size() != 2 || !inputs[0] || !inputs[1]) op_fail(info_, "expects two inputs");
    const Tensor& a = *inputs[0];
    const Tensor& b = *inputs[1];
    if (a.dtype() != b.dtype())
      op_fail(info_, std::string("input types differ: ") + dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()));
    Shape out;
    try {
      out = broadcast_shape(a.shape(), b.shape());
    } catch (const Error& e) {
      op_fail(info_, e.what());
    }
    plan_ = plan_broadcast(a.shape(), b.shape(), out);
    return {Tensor::descriptor(a.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& a = *inputs[0];
    const Tensor& b = *inputs[1];
    Tensor& y = *outputs[0];
    if (a.dtype() == DType::Float32)
      run_f32(a.f32(), b.f32(), y.f32(), ctx.threads);
    else
      run_i64(a.i64(), b.i64(), y.i64(), ctx.threads);
  }

 private:
  void run_f32(const float* a, const float* b, float* y, int threads) const {
    switch (kind_) {
      case BinaryKind::Add:
        run_broadcast(plan_, a, b, y, threads, [](float x, float z) { return x + z; });
        break;
      case BinaryKind::Sub:
        run_broadcast(plan_, a, b, y, threads, [](float x, float z) { return x - z; });
        break;
      case BinaryKind::Mul:
        run_broadcast(plan_, a, b, y, threads, [](float x, float z) { return x * z; });
        break;
      case BinaryKind::Div:
        run_broadcast(plan_, a, b, y, threads, [](float x, float z) { return x / z; });
        break;
    }
  }

  void run_i64(const int64_t* a, const int64_t* b, int64_t* y, int threads) const {
    // Wrap-around instead of signed overflow, which would be undefined.
    auto wrap = [](uint64_t v) { return static_cast<int64_t>(v); };
    switch (kind_) {
      case BinaryKind::Add:
        run_broadcast(plan_, a, b, y, threads, [&](int64_t x, int64_t z) { return wrap(uint64_t(x) + uint64_t(z)); });
        break;
      case BinaryKind::Sub:
        run_broadcast(plan_, a, b, y, threads, [&](int64_t x, int64_t z) { return wrap(uint64_t(x) - uint64_t(z)); });
        break;
      case BinaryKind::Mul:
        run_broadcast(plan_, a, b, y, threads, [&](int64_t x, int64_t z) { return wrap(uint64_t(x) * uint64_t(z)); });
        break;
      case BinaryKind::Div: {
        // Integer division truncates toward zero (C semantics, as onnxruntime);
        // a zero divisor is reported instead of trapping.
        bool divide_by_zero = false;
        run_broadcast(plan_, a, b, y, 1, [&](int64_t x, int64_t z) -> int64_t {
          if (z == 0) {
            divide_by_zero = true;
            return 0;
          }
          if (z == -1) return wrap(0 - uint64_t(x));
          return x / z;
        });
        if (divide_by_zero) op_fail(info_, "integer division by zero");
        break;
      }
    }
  }

  OpInfo info_;
  BinaryKind kind_;
  BroadcastPlan plan_;
};

}  // namespace

void register_binary_ops(OpTable& table) {
  table["Add"] = [](const OpInfo& info) { return std::make_unique<BinaryOp>(info, BinaryKind::Add); };
  table["Sub"] = [](const OpInfo& info) { return std::make_unique<BinaryOp>(info, BinaryKind::Sub); };
  table["Mul"] = [](const OpInfo& info) { return std::make_unique<BinaryOp>(info, BinaryKind::Mul); };
  table["Div"] = [](const OpInfo& info) { return std::make_unique<BinaryOp>(info, BinaryKind::Div); };
}

}  // namespace sparseinfer

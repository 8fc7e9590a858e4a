// Element-wise math of one operand: Sqrt, Exp, Neg, Abs, Erf. Neg and Abs
// also take int64 (shape arithmetic); the others are float32 only, as in
// exported vision networks (Erf comes from GELU, Sqrt/Exp from normalisation
// and softmax-like heads).
#include <cmath>
#include <cstdint>

#include "ops/op.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

enum class UnaryKind { Sqrt, Exp, Neg, Abs, Erf };

constexpr int64_t kMinParallelElements = 1 << 15;

template <typename Fn>
void map_f32(const float* x, float* y, int64_t n, int threads, Fn fn) {
  parallel_for(n, n >= kMinParallelElements ? threads : 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = fn(x[i]);
  });
}

class UnaryOp : public Op {
 public:
  UnaryOp(const OpInfo& info, UnaryKind kind) : info_(info), kind_(kind) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input");
    const Tensor& x = *inputs[0];
    bool int_ok = kind_ == UnaryKind::Neg || kind_ == UnaryKind::Abs;
    if (x.dtype() != DType::Float32 && !(int_ok && x.dtype() == DType::Int64))
      op_fail(info_, std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
    return {Tensor::descriptor(x.dtype(), x.shape())};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    const int64_t n = x.numel();
    if (x.dtype() == DType::Int64) {
      // Two's-complement wrap for INT64_MIN instead of undefined overflow.
      const int64_t* in = x.i64();
      int64_t* out = y.i64();
      for (int64_t i = 0; i < n; ++i) {
        uint64_t negated = 0 - static_cast<uint64_t>(in[i]);
        out[i] = kind_ == UnaryKind::Neg || in[i] < 0 ? static_cast<int64_t>(negated) : in[i];
      }
      return;
    }
    const float* in = x.f32();
    float* out = y.f32();
    switch (kind_) {
      case UnaryKind::Sqrt:
        map_f32(in, out, n, ctx.threads, [](float v) { return std::sqrt(v); });
        break;
      case UnaryKind::Exp:
        map_f32(in, out, n, ctx.threads, [](float v) { return std::exp(v); });
        break;
      case UnaryKind::Neg:
        map_f32(in, out, n, ctx.threads, [](float v) { return -v; });
        break;
      case UnaryKind::Abs:
        map_f32(in, out, n, ctx.threads, [](float v) { return std::fabs(v); });
        break;
      case UnaryKind::Erf:
        map_f32(in, out, n, ctx.threads, [](float v) { return std::erf(v); });
        break;
    }
  }

 private:
  OpInfo info_;
  UnaryKind kind_;
};

}  // namespace

void register_unary_ops(OpTable& table) {
  const std::pair<const char*, UnaryKind> kinds[] = {{"Sqrt", UnaryKind::Sqrt},
                                                     {"Exp", UnaryKind::Exp},
                                                     {"Neg", UnaryKind::Neg},
                                                     {"Abs", UnaryKind::Abs},
                                                     {"Erf", UnaryKind::Erf}};
  for (const auto& [name, kind] : kinds) {
    UnaryKind k = kind;
    table[name] = [k](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<UnaryOp>(info, k); };
  }
}

}  // namespace sparseinfer

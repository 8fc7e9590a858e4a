#include "ops/activation.h"

#include <cstring>
#include <limits>

#include "ops/broadcast.h"
#include "ops/op.h"
#include "util/parallel.h"

namespace sparseinfer {

const char* activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::None:
      return "";
    case ActivationKind::Relu:
      return "Relu";
    case ActivationKind::Clip:
      return "Clip";
    case ActivationKind::LeakyRelu:
      return "LeakyRelu";
    case ActivationKind::Sigmoid:
      return "Sigmoid";
    case ActivationKind::HardSigmoid:
      return "HardSigmoid";
    case ActivationKind::HardSwish:
      return "HardSwish";
    case ActivationKind::Tanh:
      return "Tanh";
  }
  return "";
}

Activation fused_activation(const Node& node) {
  Activation act;
  std::string name = node.attr_string("sparseinfer_activation", "");
  if (name.empty()) return act;
  static const ActivationKind kinds[] = {
      ActivationKind::Relu,        ActivationKind::Clip,      ActivationKind::LeakyRelu, ActivationKind::Sigmoid,
      ActivationKind::HardSigmoid, ActivationKind::HardSwish, ActivationKind::Tanh};
  for (ActivationKind k : kinds)
    if (name == activation_name(k)) act.kind = k;
  if (act.kind == ActivationKind::None) throw Error("unknown fused activation '" + name + "'");
  act.alpha = node.attr_float("sparseinfer_alpha", 0.0f);
  act.beta = node.attr_float("sparseinfer_beta", 0.0f);
  act.min = node.attr_float("sparseinfer_min", 0.0f);
  act.max = node.attr_float("sparseinfer_max", 0.0f);
  return act;
}

void set_fused_activation(Node& node, const Activation& act) {
  node.attributes["sparseinfer_activation"] = Attribute::of_string(activation_name(act.kind));
  node.attributes["sparseinfer_alpha"] = Attribute::of_float(act.alpha);
  node.attributes["sparseinfer_beta"] = Attribute::of_float(act.beta);
  node.attributes["sparseinfer_min"] = Attribute::of_float(act.min);
  node.attributes["sparseinfer_max"] = Attribute::of_float(act.max);
}

void Activation::apply_inplace(float* data, int64_t n) const {
  switch (kind) {
    case ActivationKind::None:
      return;
    case ActivationKind::Relu:
      for (int64_t i = 0; i < n; ++i) data[i] = data[i] > 0.0f ? data[i] : 0.0f;
      return;
    case ActivationKind::Clip:
      for (int64_t i = 0; i < n; ++i) data[i] = std::min(std::max(data[i], min), max);
      return;
    case ActivationKind::HardSwish:
      for (int64_t i = 0; i < n; ++i) data[i] = data[i] * std::min(std::max(data[i] / 6.0f + 0.5f, 0.0f), 1.0f);
      return;
    default:
      for (int64_t i = 0; i < n; ++i) data[i] = apply(data[i]);
      return;
  }
}

namespace {

// out[i] = act(in[i]); the common kinds get their own loops so they vectorize.
void apply_activation(const Activation& act, const float* in, float* out, int64_t n) {
  switch (act.kind) {
    case ActivationKind::Relu:
      for (int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
      return;
    case ActivationKind::Clip: {
      const float lo = act.min, hi = act.max;
      for (int64_t i = 0; i < n; ++i) out[i] = std::min(std::max(in[i], lo), hi);
      return;
    }
    case ActivationKind::LeakyRelu: {
      const float alpha = act.alpha;
      for (int64_t i = 0; i < n; ++i) out[i] = in[i] >= 0.0f ? in[i] : alpha * in[i];
      return;
    }
    case ActivationKind::HardSigmoid: {
      const float alpha = act.alpha, beta = act.beta;
      for (int64_t i = 0; i < n; ++i) out[i] = std::min(std::max(alpha * in[i] + beta, 0.0f), 1.0f);
      return;
    }
    case ActivationKind::HardSwish:
      for (int64_t i = 0; i < n; ++i) out[i] = in[i] * std::min(std::max(in[i] / 6.0f + 0.5f, 0.0f), 1.0f);
      return;
    default:
      for (int64_t i = 0; i < n; ++i) out[i] = act.apply(in[i]);
      return;
  }
}

constexpr int64_t kMinParallelElements = 1 << 15;

// Reads an optional scalar bound input of Clip (opset >= 11).
bool read_bound(const OpInfo& info, const Tensor* t, const char* name, float& value) {
  if (!t) return false;
  if (t->dtype() != DType::Float32) op_fail(info, std::string("'") + name + "' must be float32 like the input");
  if (t->numel() != 1)
    op_fail(info, std::string("'") + name + "' must be a scalar, got shape " + shape_str(t->shape()));
  if (!t->has_data()) return false;
  value = t->f32()[0];
  return true;
}

// Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh.
class ActivationOp : public Op {
 public:
  ActivationOp(const OpInfo& info, Activation act) : info_(info), act_(act) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input");
    if (inputs[0]->dtype() != DType::Float32)
      op_fail(info_, std::string("only float32 input is supported, got ") + dtype_name(inputs[0]->dtype()));
    if (act_.kind == ActivationKind::Clip && info_.opset >= 11) {
      // Bounds that are not constant are read again in forward().
      read_bound(info_, inputs.size() > 1 ? inputs[1] : nullptr, "min", act_.min);
      read_bound(info_, inputs.size() > 2 ? inputs[2] : nullptr, "max", act_.max);
    }
    return {Tensor::descriptor(DType::Float32, inputs[0]->shape())};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    Activation act = act_;
    if (act.kind == ActivationKind::Clip && info_.opset >= 11) {
      read_bound(info_, inputs.size() > 1 ? inputs[1] : nullptr, "min", act.min);
      read_bound(info_, inputs.size() > 2 ? inputs[2] : nullptr, "max", act.max);
    }
    const float* x = inputs[0]->f32();
    float* y = outputs[0]->f32();
    int64_t n = inputs[0]->numel();
    int threads = n >= kMinParallelElements ? ctx.threads : 1;
    parallel_for(n, threads,
                 [&](int64_t begin, int64_t end) { apply_activation(act, x + begin, y + begin, end - begin); });
  }

 private:
  OpInfo info_;
  Activation act_;
};

// PRelu: y = x < 0 ? slope * x : x, slope broadcast to the shape of x.
class PReluOp : public Op {
 public:
  explicit PReluOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.size() != 2 || !inputs[0] || !inputs[1]) op_fail(info_, "expects inputs X and slope");
    const Tensor& x = *inputs[0];
    const Tensor& slope = *inputs[1];
    if (x.dtype() != DType::Float32 || slope.dtype() != DType::Float32)
      op_fail(info_, "only float32 X and slope are supported");
    Shape slope_shape = slope.shape();
    // Before opset 7 a 1-D slope of C values applied per channel.
    if (info_.opset < 7 && x.rank() > 2 && slope.rank() == 1 && slope.dim(0) == x.dim(1) && x.dim(1) != 1) {
      slope_shape = Shape(static_cast<size_t>(x.rank() - 1), 1);
      slope_shape[0] = slope.dim(0);
    }
    Shape out;
    try {
      out = broadcast_shape(x.shape(), slope_shape);
    } catch (const Error& e) {
      op_fail(info_, e.what());
    }
    if (out != x.shape())
      op_fail(info_, "slope of shape " + shape_str(slope.shape()) + " does not broadcast to X of shape " +
                         shape_str(x.shape()));
    plan_ = plan_broadcast(x.shape(), slope_shape, out);
    return {Tensor::descriptor(DType::Float32, out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    run_broadcast(plan_, inputs[0]->f32(), inputs[1]->f32(), outputs[0]->f32(), ctx.threads,
                  [](float x, float slope) { return x < 0.0f ? slope * x : x; });
  }

 private:
  OpInfo info_;
  BroadcastPlan plan_;
};

std::unique_ptr<Op> make_activation(const OpInfo& info, ActivationKind kind) {
  const Node& node = *info.node;
  Activation act;
  act.kind = kind;
  switch (kind) {
    case ActivationKind::LeakyRelu:
      act.alpha = node.attr_float("alpha", 0.01f);
      break;
    case ActivationKind::HardSigmoid:
      act.alpha = node.attr_float("alpha", 0.2f);
      act.beta = node.attr_float("beta", 0.5f);
      break;
    case ActivationKind::Clip:
      act.min = std::numeric_limits<float>::lowest();
      act.max = std::numeric_limits<float>::max();
      if (info.opset < 11) {
        act.min = node.attr_float("min", act.min);
        act.max = node.attr_float("max", act.max);
      }
      break;
    default:
      break;
  }
  return std::make_unique<ActivationOp>(info, act);
}

}  // namespace

void register_activation_ops(OpTable& table) {
  const std::pair<const char*, ActivationKind> kinds[] = {{"Relu", ActivationKind::Relu},
                                                          {"Clip", ActivationKind::Clip},
                                                          {"LeakyRelu", ActivationKind::LeakyRelu},
                                                          {"Sigmoid", ActivationKind::Sigmoid},
                                                          {"HardSigmoid", ActivationKind::HardSigmoid},
                                                          {"HardSwish", ActivationKind::HardSwish},
                                                          {"Tanh", ActivationKind::Tanh}};
  for (const auto& [name, kind] : kinds) {
    ActivationKind k = kind;
    table[name] = [k](const OpInfo& info) { return make_activation(info, k); };
  }
  table["PRelu"] = [](const OpInfo& info) { return std::make_unique<PReluOp>(info); };
}

}  // namespace sparseinfer

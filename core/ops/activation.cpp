#include "ops/activation.h"

#include "ops/op.h"

namespace sparseinfer {

const char* activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::None: return "";
    case ActivationKind::Relu: return "Relu";
    case ActivationKind::Clip: return "Clip";
    case ActivationKind::LeakyRelu: return "LeakyRelu";
    case ActivationKind::Sigmoid: return "Sigmoid";
    case ActivationKind::HardSigmoid: return "HardSigmoid";
    case ActivationKind::HardSwish: return "HardSwish";
    case ActivationKind::Tanh: return "Tanh";
  }
  return "";
}

Activation fused_activation(const Node& node) {
  Activation act;
  std::string name = node.attr_string("sparseinfer_activation", "");
  if (name.empty()) return act;
  static const ActivationKind kinds[] = {ActivationKind::Relu,        ActivationKind::Clip,
                                         ActivationKind::LeakyRelu,   ActivationKind::Sigmoid,
                                         ActivationKind::HardSigmoid, ActivationKind::HardSwish,
                                         ActivationKind::Tanh};
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
  auto put_float = [&](const char* key, float v) {
    Attribute a;
    a.kind = Attribute::Kind::Float;
    a.f = v;
    node.attributes[key] = a;
  };
  Attribute name;
  name.kind = Attribute::Kind::String;
  name.s = activation_name(act.kind);
  node.attributes["sparseinfer_activation"] = name;
  put_float("sparseinfer_alpha", act.alpha);
  put_float("sparseinfer_beta", act.beta);
  put_float("sparseinfer_min", act.min);
  put_float("sparseinfer_max", act.max);
}

void Activation::apply_inplace(float* data, int64_t n) const {
  switch (kind) {
    case ActivationKind::None: return;
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

void register_activation_ops(OpTable&) {}

}  // namespace sparseinfer

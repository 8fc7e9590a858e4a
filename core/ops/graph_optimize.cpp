// Graph rewrites after import: each pass returns the same function with fewer
// nodes (Identity/Dropout removal, BN folding, activation fusion).
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "ops/activation.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

namespace sparseinfer {

namespace {

// Who produces and who reads each value, rebuilt at the start of each pass.
struct Uses {
  std::unordered_map<std::string, int> producer;  // node index
  std::unordered_map<std::string, int> readers;   // input slots across nodes
  std::unordered_set<std::string> graph_outputs;

  explicit Uses(const Model& m) {
    for (size_t i = 0; i < m.nodes.size(); ++i) {
      for (const auto& out : m.nodes[i].outputs)
        if (!out.empty()) producer[out] = static_cast<int>(i);
      for (const auto& in : m.nodes[i].inputs)
        if (!in.empty()) ++readers[in];
    }
    for (const auto& o : m.outputs) graph_outputs.insert(o.name);
  }
  int reader_count(const std::string& v) const {
    auto it = readers.find(v);
    return it == readers.end() ? 0 : it->second;
  }
  bool used(const std::string& v) const { return reader_count(v) > 0 || graph_outputs.count(v); }
  // The value flows only into one input slot of one node: safe to merge the two nodes.
  bool single_internal_use(const std::string& v) const { return reader_count(v) == 1 && !graph_outputs.count(v); }
};

void erase_marked(Model& m, const std::vector<bool>& removed) {
  std::vector<Node> kept;
  kept.reserve(m.nodes.size());
  for (size_t i = 0; i < m.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(m.nodes[i]));
  m.nodes = std::move(kept);
}

const Tensor* constant_f32(const Model& m, const std::string& name) {
  auto it = m.initializers.find(name);
  if (it == m.initializers.end() || it->second.dtype() != DType::Float32 || !it->second.has_data()) return nullptr;
  return &it->second;
}

bool is_false_constant(const Model& m, const std::string& name) {
  auto it = m.initializers.find(name);
  if (it == m.initializers.end() || !it->second.has_data()) return false;
  for (float v : it->second.to_f32_vector())
    if (v != 0.0f) return false;
  return true;
}

// A name no value or initializer of the model uses yet.
std::string fresh_name(const Model& m, const std::unordered_set<std::string>& taken, const std::string& base) {
  std::string name = base;
  for (int k = 1; m.initializers.count(name) || taken.count(name); ++k) name = base + "_" + std::to_string(k);
  return name;
}

// Identity and inference-mode Dropout copy their input: readers of the output
// read the input instead; when the output is a graph output, the producer of
// the input takes over the graph output's name so it stays exactly as it was.
void remove_copies(Model& m) {
  Uses uses(m);
  std::unordered_map<std::string, std::string> alias;  // removed value -> value holding the same data
  auto resolve = [&](std::string v) {
    for (size_t hops = 0; hops <= alias.size(); ++hops) {
      auto it = alias.find(v);
      if (it == alias.end()) break;
      v = it->second;
    }
    return v;
  };
  std::vector<bool> removed(m.nodes.size(), false);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    Node& node = m.nodes[i];
    for (auto& in : node.inputs)
      if (!in.empty()) in = resolve(in);
    bool copy = false;
    if (node.op_type == "Identity") {
      copy = node.inputs.size() == 1 && node.outputs.size() == 1;
    } else if (node.op_type == "Dropout") {
      bool mask_unused = node.outputs.size() < 2 || node.outputs[1].empty() || !uses.used(node.outputs[1]);
      bool inference = node.inputs.size() < 3 || node.inputs[2].empty() || is_false_constant(m, node.inputs[2]);
      copy = !node.inputs.empty() && !node.inputs[0].empty() && !node.outputs.empty() && mask_unused && inference;
    }
    if (!copy || node.inputs[0].empty() || node.outputs[0].empty()) continue;
    const std::string& source = node.inputs[0];
    const std::string& copy_name = node.outputs[0];
    if (!uses.graph_outputs.count(copy_name)) {
      alias[copy_name] = source;
      removed[i] = true;
      continue;
    }
    auto p = uses.producer.find(source);
    if (p == uses.producer.end() || uses.graph_outputs.count(source)) continue;  // input/initializer: keep the copy
    Node& producer = m.nodes[static_cast<size_t>(p->second)];
    for (auto& out : producer.outputs)
      if (out == source) out = copy_name;
    uses.producer[copy_name] = p->second;
    alias[source] = copy_name;
    removed[i] = true;
  }
  // Readers earlier in the order may read a value renamed later.
  for (auto& node : m.nodes)
    for (auto& in : node.inputs)
      if (!in.empty()) in = resolve(in);
  erase_marked(m, removed);
}

// PyTorch below opset 14 exports hardswish as x * HardSigmoid(x; 1/6, 0.5).
void fuse_hardswish_pattern(Model& m) {
  Uses uses(m);
  std::vector<bool> removed(m.nodes.size(), false);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    Node& mul = m.nodes[i];
    if (mul.op_type != "Mul" || mul.inputs.size() != 2 || mul.outputs.size() != 1) continue;
    for (int side = 0; side < 2; ++side) {
      const std::string& gate = mul.inputs[static_cast<size_t>(side)];
      const std::string& x = mul.inputs[static_cast<size_t>(1 - side)];
      auto p = uses.producer.find(gate);
      if (p == uses.producer.end() || removed[static_cast<size_t>(p->second)]) continue;
      const Node& hs = m.nodes[static_cast<size_t>(p->second)];
      if (hs.op_type != "HardSigmoid" || hs.inputs.size() != 1 || hs.inputs[0] != x) continue;
      if (!uses.single_internal_use(gate)) continue;
      float alpha = hs.attr_float("alpha", 0.2f), beta = hs.attr_float("beta", 0.5f);
      if (std::fabs(alpha - 1.0f / 6.0f) > 1e-6f || std::fabs(beta - 0.5f) > 1e-6f) continue;
      removed[static_cast<size_t>(p->second)] = true;
      mul.op_type = "HardSwish";
      mul.inputs = {x};
      mul.attributes.clear();
      break;
    }
  }
  erase_marked(m, removed);
}

// Inference BatchNormalization after a Conv is a per-output-channel affine map:
// scale the weights and shift the bias (W*s, (b-mean)*s+B, s=scale/sqrt(var+eps)).
void fold_batchnorm(Model& m) {
  Uses uses(m);
  std::unordered_set<std::string> taken;
  for (const auto& n : m.nodes) {
    taken.insert(n.inputs.begin(), n.inputs.end());
    taken.insert(n.outputs.begin(), n.outputs.end());
  }
  for (const auto& v : m.inputs) taken.insert(v.name);
  std::vector<bool> removed(m.nodes.size(), false);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& bn = m.nodes[i];
    if (bn.op_type != "BatchNormalization" || bn.inputs.size() != 5 || bn.outputs.empty()) continue;
    bool extra_outputs_used = false;
    for (size_t k = 1; k < bn.outputs.size(); ++k)
      if (!bn.outputs[k].empty() && uses.used(bn.outputs[k])) extra_outputs_used = true;
    if (extra_outputs_used) continue;
    if (bn.has_attr("training_mode") && bn.attributes.at("training_mode").kind == Attribute::Kind::Int &&
        bn.attributes.at("training_mode").i != 0)
      continue;
    if (bn.has_attr("spatial") && bn.attributes.at("spatial").kind == Attribute::Kind::Int &&
        bn.attributes.at("spatial").i == 0)
      continue;
    auto p = uses.producer.find(bn.inputs[0]);
    if (p == uses.producer.end() || removed[static_cast<size_t>(p->second)]) continue;
    Node& conv = m.nodes[static_cast<size_t>(p->second)];
    if (conv.op_type != "Conv" || conv.outputs.size() != 1 || conv.inputs.size() < 2) continue;
    if (!uses.single_internal_use(bn.inputs[0]) || conv.has_attr("sparseinfer_activation")) continue;
    const Tensor* w = constant_f32(m, conv.inputs[1]);
    if (!w || w->rank() < 3) continue;
    const int64_t channels = w->dim(0);
    const Tensor* params[4];
    bool ok = true;
    for (int k = 0; k < 4; ++k) {
      params[k] = constant_f32(m, bn.inputs[static_cast<size_t>(k + 1)]);
      if (!params[k] || params[k]->numel() != channels) ok = false;
    }
    const bool has_bias = conv.inputs.size() >= 3 && !conv.inputs[2].empty();
    const Tensor* bias = has_bias ? constant_f32(m, conv.inputs[2]) : nullptr;
    if (!ok || (has_bias && (!bias || bias->numel() != channels))) continue;
    float eps;
    try {
      eps = bn.attr_float("epsilon", 1e-5f);
    } catch (const Error&) {
      continue;  // malformed attribute: leave the node for the operator to report
    }

    const float *scale = params[0]->f32(), *shift = params[1]->f32(), *mean = params[2]->f32(), *var = params[3]->f32();
    Tensor new_w(DType::Float32, w->shape());
    Tensor new_b(DType::Float32, {channels});
    const int64_t per_channel = channels > 0 ? w->numel() / channels : 0;
    for (int64_t c = 0; c < channels; ++c) {
      const double s = double(scale[c]) / std::sqrt(double(var[c]) + double(eps));
      for (int64_t j = 0; j < per_channel; ++j)
        new_w.f32()[c * per_channel + j] = static_cast<float>(double(w->f32()[c * per_channel + j]) * s);
      const double b = bias ? double(bias->f32()[c]) : 0.0;
      new_b.f32()[c] = static_cast<float>((b - double(mean[c])) * s + double(shift[c]));
    }
    // New names: the originals may be shared with other nodes and must keep their values.
    std::string w_name = fresh_name(m, taken, conv.name + "_bn_folded_weight");
    taken.insert(w_name);
    std::string b_name = fresh_name(m, taken, conv.name + "_bn_folded_bias");
    taken.insert(b_name);
    m.initializers.emplace(w_name, std::move(new_w));
    m.initializers.emplace(b_name, std::move(new_b));
    conv.inputs.resize(3);
    conv.inputs[1] = w_name;
    conv.inputs[2] = b_name;
    conv.outputs[0] = bn.outputs[0];
    removed[i] = true;
  }
  erase_marked(m, removed);
}

// The activation a node computes, when it can be fused; false otherwise.
bool fusable_activation(const Model& m, const Node& node, Activation& act) {
  const float inf = std::numeric_limits<float>::infinity();
  try {
    const std::string& op = node.op_type;
    if (node.inputs.empty() || node.outputs.size() != 1) return false;
    if (op == "Relu") {
      act.kind = ActivationKind::Relu;
    } else if (op == "LeakyRelu") {
      act.kind = ActivationKind::LeakyRelu;
      act.alpha = node.attr_float("alpha", 0.01f);
    } else if (op == "Sigmoid") {
      act.kind = ActivationKind::Sigmoid;
    } else if (op == "Tanh") {
      act.kind = ActivationKind::Tanh;
    } else if (op == "HardSigmoid") {
      act.kind = ActivationKind::HardSigmoid;
      act.alpha = node.attr_float("alpha", 0.2f);
      act.beta = node.attr_float("beta", 0.5f);
    } else if (op == "HardSwish") {
      act.kind = ActivationKind::HardSwish;
    } else if (op == "Clip") {
      act.kind = ActivationKind::Clip;
      act.min = -inf;
      act.max = inf;
      if (m.opset >= 11) {
        // Bounds come as optional inputs; only constant scalars can be fused.
        for (size_t k = 1; k < node.inputs.size() && k < 3; ++k) {
          if (node.inputs[k].empty()) continue;
          const Tensor* bound = constant_f32(m, node.inputs[k]);
          if (!bound || bound->numel() != 1) return false;
          (k == 1 ? act.min : act.max) = bound->f32()[0];
        }
      } else {
        act.min = node.attr_float("min", -inf);
        act.max = node.attr_float("max", inf);
      }
    } else {
      return false;
    }
  } catch (const Error&) {
    return false;  // malformed attribute: leave the node for the operator to report
  }
  return true;
}

void fuse_activations(Model& m) {
  Uses uses(m);
  std::vector<bool> removed(m.nodes.size(), false);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& node = m.nodes[i];
    Activation act;
    if (!fusable_activation(m, node, act) || node.inputs[0].empty()) continue;
    auto p = uses.producer.find(node.inputs[0]);
    if (p == uses.producer.end() || removed[static_cast<size_t>(p->second)]) continue;
    Node& producer = m.nodes[static_cast<size_t>(p->second)];
    if ((producer.op_type != "Conv" && producer.op_type != "Gemm") || producer.outputs.size() != 1) continue;
    if (producer.has_attr("sparseinfer_activation") || !uses.single_internal_use(node.inputs[0])) continue;
    set_fused_activation(producer, act);
    producer.outputs[0] = node.outputs[0];
    removed[i] = true;
  }
  erase_marked(m, removed);
}

void drop_unused_initializers(Model& m) {
  std::unordered_set<std::string> used;
  for (const auto& n : m.nodes) used.insert(n.inputs.begin(), n.inputs.end());
  for (const auto& o : m.outputs) used.insert(o.name);
  for (auto it = m.initializers.begin(); it != m.initializers.end();)
    it = used.count(it->first) ? std::next(it) : m.initializers.erase(it);
}

}  // namespace

Model optimize_model(const Model& model) {
  Model m = model;
  remove_copies(m);
  fuse_hardswish_pattern(m);
  fold_batchnorm(m);
  fuse_activations(m);
  drop_unused_initializers(m);
  return m;
}

}  // namespace sparseinfer

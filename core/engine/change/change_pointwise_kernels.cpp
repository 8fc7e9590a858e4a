// Change-based pooling and element-wise layers: no detection of their own;
// they recompute the pixels their inputs' change sets name (CBinfer §III-E).
#include <chrono>
#include <cmath>
#include <limits>

#include "cpu/change_conv.h"
#include "cpu/change_eltwise.h"
#include "cpu/change_pool.h"
#include "engine/change/change_kernel.h"
#include "ops/conv_geometry.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;

class PoolChangeKernel : public ChangeKernel {
 public:
  PoolChangeKernel(Op& op, ConvGeometry g, PoolKind kind, bool count_include_pad)
      : op_(op), g_(g), kind_(kind), count_include_pad_(count_include_pad) {}

  void run(ChangeStep& s) const override {
    run_at_affected_outputs(
        op_, s, [&](const ChangeSet& in_set, std::vector<uint8_t>& flags) { mark_affected_outputs(in_set, g_, flags); },
        [&](const int32_t* pixels, int64_t n) {
          pool_at_pixels(s.inputs[0]->f32(), kind_, count_include_pad_, g_, pixels, n, s.outputs[0]->f32(),
                         s.exec->threads);
        });
  }

 private:
  Op& op_;
  ConvGeometry g_;
  PoolKind kind_;
  bool count_include_pad_;
};

class EltwiseChangeKernel : public ChangeKernel {
 public:
  EltwiseChangeKernel(Op& op, EltwiseOp kind, Activation act, std::vector<bool> spatial)
      : op_(op), kind_(kind), act_(act), spatial_(std::move(spatial)) {}

  void run(ChangeStep& s) const override {
    if (s.dense || s.full) return run_op_densely(op_, s);
    // Union of the changed pixels of the inputs that vary over space; a change
    // in an input broadcast over space (an SE scale, say) touches every pixel.
    bool any = false;
    for (size_t i = 0; i < spatial_.size(); ++i) {
      const ChangeSet* set = s.in_sets[i];
      if (!set || set->kind == ChangeSet::Kind::None) continue;
      if (set->kind == ChangeSet::Kind::All || !spatial_[i]) return run_op_densely(op_, s);
      any = true;
    }
    if (!any) return keep_outputs(s);
    auto t0 = Clock::now();
    const Tensor& out = *s.outputs[0];
    ChangeSet& out_set = *s.out_sets[0];
    union_input_changes(s, out_set);

    const int64_t dims[4] = {out.dim(0), out.dim(1), out.dim(2), out.dim(3)};
    auto operand = [&](size_t i) {
      const Tensor* t = s.inputs[i];
      return broadcast_operand(t->f32(), t->shape().data(), t->rank(), dims);
    };
    BroadcastOperand a = operand(0), b;
    if (kind_ != EltwiseOp::Activation) b = operand(1);
    eltwise_at_pixels(kind_, act_, a, b, dims, out_set.pixels.data(), static_cast<int64_t>(out_set.pixels.size()),
                      s.outputs[0]->f32(), s.exec->threads);
    s.stats->changed_fraction = out_set.fraction();
    s.times->other_ms += ms_since(t0);
  }

 private:
  Op& op_;
  EltwiseOp kind_;
  Activation act_;
  std::vector<bool> spatial_;  // per input: varies over the output's H and W
};

// Reads a constant scalar input (Clip's bounds), or `def` when omitted.
bool constant_scalar(const std::vector<const Tensor*>& inputs, size_t i, float def, float& value) {
  if (i >= inputs.size() || !inputs[i]) {
    value = def;
    return true;
  }
  if (!inputs[i]->has_data() || inputs[i]->numel() != 1 || inputs[i]->dtype() != DType::Float32) return false;
  value = inputs[i]->f32()[0];
  return true;
}

}  // namespace

std::unique_ptr<ChangeKernel> make_pool_change_kernel(const Node& node, Op& op,
                                                      const std::vector<const Tensor*>& inputs,
                                                      const std::vector<const Tensor*>& outputs) {
  bool is_max = node.op_type == "MaxPool", is_avg = node.op_type == "AveragePool";
  if (!is_max && !is_avg) return nullptr;
  if (outputs.size() != 1 || !outputs[0] || inputs.empty() || !inputs[0] || inputs[0]->rank() != 4) return nullptr;
  if (is_max && node.attr_int("storage_order", 0) != 0) return nullptr;
  ConvGeometry g;
  try {
    g = resolve_window_2d(node, inputs[0]->shape(), inputs[0]->dim(1), 0, 0, 1);
  } catch (const Error&) {
    return nullptr;
  }
  if (outputs[0]->shape() != Shape{g.batch, g.out_channels, g.out_h, g.out_w}) return nullptr;
  return std::make_unique<PoolChangeKernel>(op, g, is_max ? PoolKind::Max : PoolKind::Average,
                                            node.attr_int("count_include_pad", 0) != 0);
}

std::unique_ptr<ChangeKernel> make_eltwise_change_kernel(const Node& node, Op& op,
                                                         const std::vector<const Tensor*>& inputs,
                                                         const std::vector<const Tensor*>& outputs) {
  if (outputs.size() != 1 || !outputs[0] || outputs[0]->rank() != 4 || outputs[0]->dtype() != DType::Float32)
    return nullptr;
  const std::string& t = node.op_type;
  Activation act;
  EltwiseOp kind = EltwiseOp::Activation;
  size_t operands = 1;
  const float inf = std::numeric_limits<float>::infinity();
  if (t == "Relu")
    act.kind = ActivationKind::Relu;
  else if (t == "Sigmoid")
    act.kind = ActivationKind::Sigmoid;
  else if (t == "Tanh")
    act.kind = ActivationKind::Tanh;
  else if (t == "HardSwish")
    act.kind = ActivationKind::HardSwish;
  else if (t == "LeakyRelu") {
    act.kind = ActivationKind::LeakyRelu;
    act.alpha = node.attr_float("alpha", 0.01f);
  } else if (t == "HardSigmoid") {
    act.kind = ActivationKind::HardSigmoid;
    act.alpha = node.attr_float("alpha", 0.2f);
    act.beta = node.attr_float("beta", 0.5f);
  } else if (t == "Clip") {
    act.kind = ActivationKind::Clip;
    if (node.has_attr("min") || node.has_attr("max")) {
      act.min = node.attr_float("min", -inf);
      act.max = node.attr_float("max", inf);
    } else if (!constant_scalar(inputs, 1, -inf, act.min) || !constant_scalar(inputs, 2, inf, act.max)) {
      return nullptr;
    }
  } else if (t == "Add" || t == "Sub" || t == "Mul" || t == "Div" || t == "PRelu") {
    kind = t == "Add"   ? EltwiseOp::Add
           : t == "Sub" ? EltwiseOp::Sub
           : t == "Mul" ? EltwiseOp::Mul
           : t == "Div" ? EltwiseOp::Div
                        : EltwiseOp::PRelu;
    operands = 2;
  } else {
    return nullptr;
  }
  if (inputs.size() < operands) return nullptr;
  const Shape& out = outputs[0]->shape();
  std::vector<bool> spatial(operands, false);
  for (size_t i = 0; i < operands; ++i) {
    const Tensor* in = inputs[i];
    if (!in || in->dtype() != DType::Float32 || in->rank() > 4) return nullptr;
    // PRelu's slope broadcasts one way only; everything else numpy-style.
    const Shape& s = in->shape();
    const int r = in->rank();
    const int64_t h = r >= 2 ? s[static_cast<size_t>(r - 2)] : 1, w = r >= 1 ? s[static_cast<size_t>(r - 1)] : 1;
    const bool varies = h != 1 || w != 1;
    if (varies && (r != 4 || s[0] != out[0] || s[2] != out[2] || s[3] != out[3])) return nullptr;
    spatial[i] = varies;
  }
  for (size_t i = operands; i < inputs.size(); ++i)
    if (inputs[i] && !inputs[i]->has_data()) return nullptr;  // a run-time Clip bound
  return std::make_unique<EltwiseChangeKernel>(op, kind, act, std::move(spatial));
}

}  // namespace sparseinfer

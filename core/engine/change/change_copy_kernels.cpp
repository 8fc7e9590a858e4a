// Change-based Concat and nearest upsampling: like pooling (CBinfer §III-E)
// they recompute only the output pixels their inputs' change sets reach. As
// dense fallbacks they would recompute the whole output into a second
// output-sized buffer and diff it against the first: at 3840x2160 those are
// the largest tensors of a decoder (segnet_small's Concat_1 is 398 MB).
#include <chrono>

#include "cpu/change_copy.h"
#include "engine/change/change_kernel.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
class ConcatChangeKernel : public ChangeKernel {
 public:
  ConcatChangeKernel(Op& op, std::vector<int64_t> channels) : op_(op), channels_(std::move(channels)) {}

  void run(ChangeStep& s) const override {
    if (s.dense || s.full) return run_op_densely(op_, s);
    bool any = false;
    for (const ChangeSet* set : s.in_sets) {
      if (!set || set->kind == ChangeSet::Kind::None) continue;
      if (set->kind == ChangeSet::Kind::All) return run_op_densely(op_, s);
      any = true;
    }
    if (!any) return keep_outputs(s);
    auto t0 = Clock::now();
    Tensor& out = *s.outputs[0];
    ChangeSet& out_set = *s.out_sets[0];
    union_input_changes(s, out_set);
    std::vector<const float*> sources;
    for (const Tensor* t : s.inputs) sources.push_back(t->f32());
    concat_at_pixels(sources, channels_, out.dim(2) * out.dim(3), out_set.pixels.data(),
                     static_cast<int64_t>(out_set.pixels.size()), out.f32(), s.exec->threads);
    s.stats->changed_fraction = out_set.fraction();
    s.times->other_ms += ms_since(t0);
  }

 private:
  Op& op_;
  std::vector<int64_t> channels_;  // per input
};

class UpsampleChangeKernel : public ChangeKernel {
 public:
  UpsampleChangeKernel(Op& op, UpsampleGeometry g) : op_(op), g_(g) {}

  void run(ChangeStep& s) const override {
    run_at_affected_outputs(
        op_, s,
        [&](const ChangeSet& in_set, std::vector<uint8_t>& flags) { mark_upsampled_outputs(in_set, g_, flags); },
        [&](const int32_t* pixels, int64_t n) {
          upsample_nearest_at_pixels(s.inputs[0]->f32(), g_, pixels, n, s.outputs[0]->f32(), s.exec->threads);
        });
  }

 private:
  Op& op_;
  UpsampleGeometry g_;
};

bool spatial_float(const Tensor* t) {
  return t && !t->has_data() && t->rank() == 4 && t->dtype() == DType::Float32;
}

}  // namespace

std::unique_ptr<ChangeKernel> make_concat_change_kernel(const Node& node, Op& op,
                                                        const std::vector<const Tensor*>& inputs,
                                                        const std::vector<const Tensor*>& outputs) {
  if (node.op_type != "Concat" || outputs.size() != 1 || !spatial_float(outputs[0]) || inputs.empty()) return nullptr;
  const int64_t axis = node.attr_int("axis", 1);
  if (axis != 1 && axis != -3) return nullptr;
  const Tensor& out = *outputs[0];
  std::vector<int64_t> channels;
  for (const Tensor* t : inputs) {
    // A constant input never changes but the kernel reads it like the others.
    if (!t || t->rank() != 4 || t->dtype() != DType::Float32) return nullptr;
    if (t->dim(0) != out.dim(0) || t->dim(2) != out.dim(2) || t->dim(3) != out.dim(3)) return nullptr;
    channels.push_back(t->dim(1));
  }
  return std::make_unique<ConcatChangeKernel>(op, std::move(channels));
}

// Only the exact integer nearest upsampling (Resize with asymmetric
// coordinates and floor, the U-Net decoder's): there every output pixel copies
// one input pixel, so the change set maps block for block.
std::unique_ptr<ChangeKernel> make_upsample_change_kernel(const Node& node, Op& op,
                                                          const std::vector<const Tensor*>& inputs,
                                                          const std::vector<const Tensor*>& outputs) {
  if (node.op_type != "Resize" || outputs.size() != 1 || !spatial_float(outputs[0])) return nullptr;
  if (inputs.size() < 3 || !spatial_float(inputs[0])) return nullptr;  // opset 11+: X, roi, scales[, sizes]
  if (node.attr_string("mode", "nearest") != "nearest" ||
      node.attr_string("coordinate_transformation_mode", "half_pixel") != "asymmetric" ||
      node.attr_string("nearest_mode", "round_prefer_floor") != "floor")
    return nullptr;
  const Tensor& in = *inputs[0];
  const Tensor& out = *outputs[0];
  if (in.dim(0) != out.dim(0) || in.dim(1) != out.dim(1) || out.dim(2) % in.dim(2) || out.dim(3) % in.dim(3))
    return nullptr;
  UpsampleGeometry g{in.dim(0), in.dim(1), in.dim(2), in.dim(3), out.dim(2) / in.dim(2), out.dim(3) / in.dim(3)};
  // Given scales are what the operator divides by: they must be those integers exactly.
  const Tensor* scales = inputs[2];
  if (scales && scales->numel() > 0) {
    if (!scales->has_data() || scales->dtype() != DType::Float32 || scales->numel() != 4) return nullptr;
    const float* v = scales->f32();
    if (v[0] != 1.0f || v[1] != 1.0f || v[2] != static_cast<float>(g.sy) || v[3] != static_cast<float>(g.sx))
      return nullptr;
  } else if (inputs.size() < 4 || !inputs[3] || !inputs[3]->has_data()) {
    return nullptr;  // sizes computed at run time
  }
  return std::make_unique<UpsampleChangeKernel>(op, g);
}

}  // namespace sparseinfer

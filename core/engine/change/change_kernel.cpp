// The change-kernel factory and the fallback for every operator without a
// change-based form: recompute densely, then diff against last frame's
// output so the layers after it still get exact change sets.
#include "engine/change/change_kernel.h"

#include <chrono>
#include <cstring>

#include "util/parallel.h"

namespace sparseinfer {

std::unique_ptr<ChangeKernel> make_conv_change_kernel(const Node&, Op&, const std::vector<const Tensor*>&,
                                                      const std::vector<const Tensor*>&, const GateChoice&);
std::unique_ptr<ChangeKernel> make_pool_change_kernel(const Node&, Op&, const std::vector<const Tensor*>&,
                                                      const std::vector<const Tensor*>&);
std::unique_ptr<ChangeKernel> make_eltwise_change_kernel(const Node&, Op&, const std::vector<const Tensor*>&,
                                                         const std::vector<const Tensor*>&);
std::unique_ptr<ChangeKernel> make_concat_change_kernel(const Node&, Op&, const std::vector<const Tensor*>&,
                                                        const std::vector<const Tensor*>&);
std::unique_ptr<ChangeKernel> make_upsample_change_kernel(const Node&, Op&, const std::vector<const Tensor*>&,
                                                          const std::vector<const Tensor*>&);
std::unique_ptr<ChangeKernel> make_resize_change_kernel(const Node&, Op&, const std::vector<const Tensor*>&,
                                                        const std::vector<const Tensor*>&);

void run_op_densely(Op& op, ChangeStep& s) {
  auto t0 = std::chrono::steady_clock::now();
  op.forward(s.inputs, s.outputs, *s.exec);
  for (ChangeSet* set : s.out_sets)
    if (set) set->set_all();
  s.stats->changed_fraction = 1.0;
  s.times->other_ms += ms_since(t0);
}

void keep_outputs(ChangeStep& s) {
  s.out_sets[0]->set_none();
  s.stats->changed_fraction = 0.0;
}

void union_input_changes(ChangeStep& s, ChangeSet& out_set) {
  const Tensor& out = *s.outputs[0];
  std::vector<uint8_t>& flags = *s.flags;
  flags.resize(static_cast<size_t>(out.dim(0) * out.dim(2) * out.dim(3)));
  for (const ChangeSet* set : s.in_sets)
    if (set && set->kind == ChangeSet::Kind::Pixels)
      for (int32_t p : set->pixels) flags[static_cast<size_t>(p)] = 1;
  out_set.set_grid(out.dim(0), out.dim(2), out.dim(3));
  extract_changes(flags, out_set);
}

bool inputs_unchanged(const ChangeStep& step) {
  for (const ChangeSet* set : step.in_sets)
    if (set && set->kind != ChangeSet::Kind::None) return false;
  return true;
}

namespace {

using Clock = std::chrono::steady_clock;
// Scratch slots of the fallback's fresh outputs (one per output index); the conv kernels use 100-102.
constexpr int kFreshSlot = 200;

// Marks the (n, y, x) positions where any channel of `fresh` differs from
// `old`, then copies `fresh` over `old`.
void diff_and_copy(const Tensor& fresh, Tensor& old, std::vector<uint8_t>& flags, int threads) {
  const int64_t n = fresh.dim(0), c = fresh.dim(1), hw = fresh.dim(2) * fresh.dim(3);
  flags.resize(static_cast<size_t>(n * hw));
  parallel_for(n * hw, n * hw * c > 65536 ? threads : 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t nb = p / hw, q = p % hw;
      const float* f = fresh.f32() + nb * c * hw + q;
      const float* o = old.f32() + nb * c * hw + q;
      uint8_t changed = 0;
      for (int64_t k = 0; k < c && !changed; ++k) changed = f[k * hw] != o[k * hw];
      flags[static_cast<size_t>(p)] = changed;
    }
  });
  std::memcpy(old.f32(), fresh.f32(), fresh.bytes());
}

class DenseFallbackKernel : public ChangeKernel {
 public:
  explicit DenseFallbackKernel(Op& op) : op_(op) {}

  void run(ChangeStep& s) const override {
    auto t0 = Clock::now();
    s.stats->changed_fraction = 1.0;
    if (s.dense || s.full) {
      op_.forward(s.inputs, s.outputs, *s.exec);
      for (ChangeSet* set : s.out_sets)
        if (set) set->set_all();
    } else if (inputs_unchanged(s)) {
      for (ChangeSet* set : s.out_sets)
        if (set) set->set_none();
      s.stats->changed_fraction = 0.0;
      s.stats->macs = 0;
    } else {
      recompute_and_diff(s);
    }
    s.times->other_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }

 private:
  // The fresh outputs go to stream scratch shared by every fallback layer, so
  // the state grows by the largest such output, not their sum; an output that
  // no layer reads needs no change set and is written in place.
  void recompute_and_diff(ChangeStep& s) const {
    if (!s.consumed) {
      op_.forward(s.inputs, s.outputs, *s.exec);
      for (ChangeSet* set : s.out_sets)
        if (set) set->set_all();
      return;
    }
    LayerState& layer = *s.layer;
    layer.fresh.resize(s.outputs.size());
    std::vector<Tensor*> fresh(s.outputs.size(), nullptr);
    std::vector<Tensor> views(s.outputs.size());
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      if (!s.outputs[i]) continue;
      const Tensor& out = *s.outputs[i];
      if (out.dtype() == DType::Float32) {
        float* data = s.exec->scratch->floats(static_cast<size_t>(out.numel()), kFreshSlot + static_cast<int>(i));
        views[i] = Tensor::view(DType::Float32, out.shape(), data);
        fresh[i] = &views[i];
        continue;
      }
      Tensor& f = layer.fresh[i];
      if (!f.has_data() || f.shape() != out.shape() || f.dtype() != out.dtype()) f.allocate(out.dtype(), out.shape());
      fresh[i] = &f;
    }
    op_.forward(s.inputs, fresh, *s.exec);
    double changed = 0;
    int counted = 0;
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      if (!s.outputs[i]) continue;
      Tensor& out = *s.outputs[i];
      ChangeSet& set = *s.out_sets[i];
      if (out.rank() == 4 && out.dtype() == DType::Float32) {
        diff_and_copy(*fresh[i], out, *s.flags, s.exec->threads);
        set.set_grid(out.dim(0), out.dim(2), out.dim(3));
        extract_changes(*s.flags, set);
      } else {
        if (std::memcmp(fresh[i]->raw(), out.raw(), out.bytes()) == 0) {
          set.set_none();
        } else {
          std::memcpy(out.raw(), fresh[i]->raw(), out.bytes());
          set.set_all();
        }
      }
      changed += set.fraction();
      ++counted;
    }
    s.stats->changed_fraction = counted ? changed / counted : 0.0;
  }

  Op& op_;
};

}  // namespace

std::unique_ptr<ChangeKernel> make_change_kernel(const Node& node, Op& op, const std::vector<const Tensor*>& inputs,
                                                 const std::vector<const Tensor*>& outputs, const GateChoice& gates) {
  if (auto k = make_conv_change_kernel(node, op, inputs, outputs, gates)) return k;
  if (auto k = make_pool_change_kernel(node, op, inputs, outputs)) return k;
  if (auto k = make_eltwise_change_kernel(node, op, inputs, outputs)) return k;
  if (auto k = make_concat_change_kernel(node, op, inputs, outputs)) return k;
  if (auto k = make_upsample_change_kernel(node, op, inputs, outputs)) return k;
  if (auto k = make_resize_change_kernel(node, op, inputs, outputs)) return k;
  return std::make_unique<DenseFallbackKernel>(op);
}

}  // namespace sparseinfer

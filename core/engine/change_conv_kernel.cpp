// Change-based convolution (CBinfer §III): detect, extract, gather, GEMM,
// update. Spatial kernels detect changes against a closed-loop input state;
// 1x1 convolutions reuse the change indexes of the layer before (§III-E).
#include <algorithm>
#include <chrono>
#include <cstring>

#include "cpu/change_conv.h"
#include "cpu/sgemm.h"
#include "engine/change_kernel.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Past this share of recomputed outputs the dense kernel is faster than
// gathering columns one pixel at a time.
constexpr double kDenseBeyond = 0.6;
// Patch matrix cap (floats) so a large change never needs a frame-sized buffer.
constexpr int64_t kMaxPatchFloats = int64_t(1) << 20;

class ConvChangeKernel : public ChangeKernel {
 public:
  ConvChangeKernel(Op& op, ConvGeometry g, const Tensor* weight, const Tensor* bias, Activation act)
      : op_(op), g_(g), weight_(weight), bias_(bias), act_(act) {}

  bool detects() const override { return !g_.is_pointwise(); }

  void run(ChangeStep& s) const override {
    const Tensor& in = *s.inputs[0];
    Tensor& out = *s.outputs[0];
    ChangeSet& out_set = *s.out_sets[0];
    LayerState& layer = *s.layer;
    const int64_t dense_macs = g_.batch * g_.out_pixels() * g_.out_channels * g_.patch_size();

    if (s.dense) {
      if (detects()) {
        if (!layer.input_state.has_data() || layer.input_state.shape() != in.shape())
          layer.input_state.allocate(DType::Float32, in.shape());
        std::memcpy(layer.input_state.f32(), in.f32(), in.bytes());
        layer.last_threshold = s.threshold;
      }
      dense(s, in);
      out_set.set_all();
      s.stats->input_changed_fraction = 1.0;
      s.stats->changed_fraction = 1.0;
      s.stats->macs = dense_macs;
      return;
    }

    // Which input pixels count as changed.
    const ChangeSet& in_set = *s.in_sets[0];
    const Tensor* source = &in;
    ChangeSet accepted_local;
    const ChangeSet* accepted = &in_set;
    if (detects()) {
      // Below last frame's threshold, pixels skipped then may count now: look at all of them.
      bool rescan = s.threshold < layer.last_threshold;
      if (in_set.kind == ChangeSet::Kind::None && !rescan) {
        unchanged(s);
        return;
      }
      auto t0 = Clock::now();
      ChangeSet all;
      all.set_all();
      detect_changes(in.f32(), layer.input_state.f32(), g_.batch, g_.in_channels, g_.in_h, g_.in_w,
                     rescan ? all : in_set, s.threshold, *s.flags, s.exec->threads);
      auto t1 = Clock::now();
      accepted_local.batch = g_.batch;
      accepted_local.height = g_.in_h;
      accepted_local.width = g_.in_w;
      extract_changes(*s.flags, accepted_local);
      s.times->detect_ms += ms_between(t0, t1);
      s.times->extract_ms += ms_between(t1, Clock::now());
      layer.last_threshold = s.threshold;
      accepted = &accepted_local;
      source = &layer.input_state;  // closed loop: the output is always conv(input state)
    }
    s.stats->input_changed_fraction = accepted->fraction();
    if (accepted->kind == ChangeSet::Kind::None) {
      unchanged(s);
      return;
    }
    if (accepted->kind == ChangeSet::Kind::All) {
      dense(s, *source);
      out_set.set_all();
      s.stats->changed_fraction = 1.0;
      s.stats->macs = dense_macs;
      return;
    }

    auto t0 = Clock::now();
    mark_affected_outputs(*accepted, g_, *s.flags);
    out_set.batch = g_.batch;
    out_set.height = g_.out_h;
    out_set.width = g_.out_w;
    extract_changes(*s.flags, out_set);
    s.times->extract_ms += ms_between(t0, Clock::now());
    const double fraction = out_set.fraction();
    s.stats->changed_fraction = fraction;
    if (fraction > kDenseBeyond) {
      dense(s, *source);
      // Dense summation order differs from the sparse one in the last bits, so
      // every output may differ from last frame's.
      out_set.set_all();
      s.stats->macs = dense_macs;
      return;
    }
    sparse(s, *source, out_set.pixels, out);
    s.stats->macs = static_cast<int64_t>(out_set.pixels.size()) * g_.out_channels * g_.patch_size();
  }

 private:
  void unchanged(ChangeStep& s) const {
    s.out_sets[0]->set_none();
    s.stats->changed_fraction = 0.0;
    s.stats->input_changed_fraction = 0.0;
    s.stats->macs = 0;
  }

  void dense(ChangeStep& s, const Tensor& source) const {
    auto t0 = Clock::now();
    std::vector<const Tensor*> ins = s.inputs;
    ins[0] = &source;
    op_.forward(ins, s.outputs, *s.exec);
    s.times->gemm_ms += ms_between(t0, Clock::now());
  }

  void sparse(ChangeStep& s, const Tensor& source, const std::vector<int32_t>& pixels, Tensor& out) const {
    const int threads = s.exec->threads;
    const float* bias = bias_ ? bias_->f32() : nullptr;
    const int64_t total = static_cast<int64_t>(pixels.size());
    if (g_.is_depthwise()) {
      auto t0 = Clock::now();
      depthwise_at_pixels(source.f32(), weight_->f32(), bias, act_, g_, pixels.data(), total, out.f32(), threads);
      s.times->gemm_ms += ms_between(t0, Clock::now());
      return;
    }
    const int64_t k = g_.patch_size(), cout_g = g_.out_channels / g_.group;
    const int64_t chunk = std::max<int64_t>(64, std::min<int64_t>(total, kMaxPatchFloats / k));
    float* patches = s.exec->scratch->floats(static_cast<size_t>(chunk * k), 100);
    float* y = s.exec->scratch->floats(static_cast<size_t>(chunk * cout_g), 101);
    for (int64_t grp = 0; grp < g_.group; ++grp) {
      const float* w = weight_->f32() + grp * cout_g * k;
      for (int64_t b = 0; b < total; b += chunk) {
        const int64_t n = std::min(chunk, total - b);
        auto t0 = Clock::now();
        gather_patches(source.f32(), g_, grp, pixels.data() + b, n, patches, threads);
        auto t1 = Clock::now();
        // Y[cout_g x n] = W[cout_g x k] * patches^T
        sgemm(false, true, cout_g, n, k, 1.0f, w, k, patches, k, 0.0f, y, n, threads);
        auto t2 = Clock::now();
        scatter_outputs(y, bias, act_, g_, grp, pixels.data() + b, n, out.f32(), threads);
        auto t3 = Clock::now();
        s.times->gather_ms += ms_between(t0, t1);
        s.times->gemm_ms += ms_between(t1, t2);
        s.times->update_ms += ms_between(t2, t3);
      }
    }
  }

  Op& op_;
  ConvGeometry g_;
  const Tensor* weight_;
  const Tensor* bias_;
  Activation act_;
};

}  // namespace

std::unique_ptr<ChangeKernel> make_conv_change_kernel(const Node& node, Op& op,
                                                      const std::vector<const Tensor*>& inputs,
                                                      const std::vector<const Tensor*>& outputs) {
  if (node.op_type != "Conv" || inputs.size() < 2 || outputs.size() != 1 || !outputs[0]) return nullptr;
  const Tensor* x = inputs[0];
  const Tensor* w = inputs[1];
  const Tensor* b = inputs.size() > 2 ? inputs[2] : nullptr;
  if (!x || x->has_data() || x->rank() != 4 || x->dtype() != DType::Float32) return nullptr;
  if (!w || !w->has_data() || w->rank() != 4 || (b && !b->has_data())) return nullptr;
  int64_t group = node.attr_int("group", 1);
  ConvGeometry g;
  try {
    g = resolve_window_2d(node, x->shape(), w->dim(0), w->dim(2), w->dim(3), group);
  } catch (const Error&) {
    return nullptr;
  }
  // Only take over when our geometry agrees with the operator's own inference.
  if (outputs[0]->shape() != Shape{g.batch, g.out_channels, g.out_h, g.out_w}) return nullptr;
  if (w->dim(1) * group != g.in_channels) return nullptr;
  return std::make_unique<ConvChangeKernel>(op, g, w, b, fused_activation(node));
}

}  // namespace sparseinfer

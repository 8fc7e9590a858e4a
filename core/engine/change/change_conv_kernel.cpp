// Change-based convolution (CBinfer §III): detect, extract, gather, GEMM,
// update. Spatial kernels detect changes against a closed-loop input state;
// 1x1 convolutions reuse the change indexes of the layer before (§III-E).
#include <algorithm>
#include <chrono>
#include <cstring>

#include "cpu/change_conv.h"
#include "cpu/conv_cpu.h"
#include "cpu/packed_gemm.h"
#include "cpu/sgemm.h"
#include "engine/change/change_kernel.h"
#include "engine/gates/gate.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Past this share of recomputed outputs the dense kernel is faster: the sparse
// path runs the same packed kernel over runs of changed pixels, so it stays
// ahead up to ~90% (measured on the scene-labeling net at 768x576: 0.6 -> 0.9
// took a frame from 317 to 302 ms).
constexpr double kDenseBeyond = 0.9;
// Patch matrix cap (floats) so a large change never needs a frame-sized buffer.
// 1 MB: at small frames a larger one outweighs the activations themselves.
constexpr int64_t kMaxPatchFloats = int64_t(1) << 18;
// Runs of changed pixels are cut to this length so both cores get equal work.
constexpr int64_t kMaxRun = 256;
// Below this mean run length, gathering 32 arbitrary pixels per strip beats
// computing runs whose strips leave most lanes idle.
constexpr int64_t kShortRuns = 24;

class ConvChangeKernel : public ChangeKernel {
 public:
  ConvChangeKernel(Op& op, ConvGeometry g, Window window, const Tensor* weight, const Tensor* bias, Activation act,
                   std::unique_ptr<Gate> gate)
      : op_(op), gate_(std::move(gate)), g_(g), window_(window), weight_(weight), bias_(bias), act_(act) {
    // The implicit-GEMM kernel computes any run of output pixels straight from
    // the input: no patch matrix, no scatter. The dense operator's packed
    // weights serve when it has them; it declines maps under one strip, which
    // sparse pixels still fill, so those are packed here.
    packed_ = conv_packed_weights(op);
    if (!packed_ && !g_.is_depthwise() && packed_gemm_supported()) {
      pack_weights(weight_->f32(), g_.group, g_.out_channels / g_.group, g_.patch_size(), own_packed_);
      packed_ = &own_packed_;
    }
  }

  bool detects() const override { return gate_ != nullptr; }

  void run(ChangeStep& s) const override {
    const Tensor& in = *s.inputs[0];
    Tensor& out = *s.outputs[0];
    ChangeSet& out_set = *s.out_sets[0];
    LayerState& layer = *s.layer;
    const int64_t dense_macs = g_.batch * g_.out_pixels() * g_.out_channels * g_.patch_size();

    if (s.dense) {
      if (gate_) {
        gate_->prime(in, s.threshold, layer.gate);
        if (s.accepted) s.accepted->set_all();
      }
      dense(s, in);
      out_set.set_all();
      s.stats->input_changed_fraction = 1.0;
      s.stats->changed_fraction = 1.0;
      s.stats->macs = dense_macs;
      return;
    }

    // Which input pixels count as changed: the gate's choice, or (1x1) the input's change set.
    const Tensor* source = &in;
    const ChangeSet* accepted = s.in_sets[0];
    if (gate_) {
      ChangeSet& selected = *s.selected;
      selected.set_grid(g_.batch, g_.in_h, g_.in_w);
      if (s.exact) {
        // Every pixel that differs at all from the state, wherever it is: the
        // state then equals the input, so the outputs equal dense ones.
        ChangeSet all;
        all.set_all();
        exact_gate().select(in, all, 0.0f, layer.gate, *s.flags, s.exec->threads, s.times, selected);
      } else {
        gate_->select(in, *s.in_sets[0], s.threshold, layer.gate, *s.flags, s.exec->threads, s.times, selected);
      }
      accepted = &selected;
      if (s.accepted) *s.accepted = selected;
      source = &gate_->source(in, layer.gate);
    }
    s.stats->input_changed_fraction = accepted->fraction();
    if (accepted->kind == ChangeSet::Kind::None && !s.full) {
      unchanged(s);
      return;
    }
    // Past kDenseBeyond of the inputs the outputs they reach are as many or
    // nearly so: go dense without marking and listing them (a frame that
    // changed everywhere then costs what dense costs plus detection).
    if (accepted->kind == ChangeSet::Kind::All || s.full || accepted->fraction() > kDenseBeyond) {
      dense(s, *source);
      out_set.set_all();
      s.stats->changed_fraction = 1.0;
      s.stats->macs = dense_macs;
      return;
    }

    auto t0 = Clock::now();
    mark_affected_outputs(*accepted, g_, *s.flags);
    out_set.set_grid(g_.batch, g_.out_h, g_.out_w);
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
    if (packed_)
      sparse_runs(s, *source, out_set.pixels, out);
    else
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

  // Changed output pixels as runs of consecutive indices, each computed by the
  // packed implicit-GEMM kernel with bias and activation in registers.
  void sparse_runs(ChangeStep& s, const Tensor& source, const std::vector<int32_t>& pixels, Tensor& out) const {
    auto t0 = Clock::now();
    const int64_t out_hw = g_.out_pixels(), in_hw = g_.in_pixels();
    std::vector<int32_t>& runs = *s.runs;
    runs.clear();
    for (size_t i = 0; i < pixels.size();) {
      const int64_t image = pixels[i] / out_hw, first = pixels[i] % out_hw;
      int64_t end = first + 1;
      size_t j = i + 1;
      while (j < pixels.size() && pixels[j] == pixels[j - 1] + 1 && pixels[j] / out_hw == image &&
             end - first < kMaxRun) {
        ++end;
        ++j;
      }
      runs.insert(runs.end(), {static_cast<int32_t>(image), static_cast<int32_t>(first), static_cast<int32_t>(end)});
      i = j;
    }
    auto t1 = Clock::now();
    const int64_t cin_g = g_.in_channels / g_.group, cout_g = g_.out_channels / g_.group;
    const float* bias = bias_ ? bias_->f32() : nullptr;
    const int64_t count = static_cast<int64_t>(runs.size() / 3);
    if (static_cast<int64_t>(pixels.size()) < kShortRuns * count) {
      sparse_pixels(s, source, pixels, out);
      s.times->extract_ms += ms_between(t0, t1);
      s.times->gemm_ms += ms_between(t1, Clock::now());
      return;
    }
    parallel_for(count * g_.group, s.exec->threads, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t r = t / g_.group, grp = t % g_.group;
        const int64_t image = runs[3 * r], first = runs[3 * r + 1], end = runs[3 * r + 2];
        packed_conv_tile(*packed_, grp, source.f32() + (image * g_.in_channels + grp * cin_g) * in_hw, window_, first,
                         end, out.f32() + (image * g_.out_channels + grp * cout_g) * out_hw,
                         bias ? bias + grp * cout_g : nullptr, act_);
      }
    });
    s.times->extract_ms += ms_between(t0, t1);
    s.times->gemm_ms += ms_between(t1, Clock::now());
  }

  // Changed output pixels gathered 32 at a time into full strips.
  void sparse_pixels(ChangeStep& s, const Tensor& source, const std::vector<int32_t>& pixels, Tensor& out) const {
    const int64_t out_hw = g_.out_pixels(), in_hw = g_.in_pixels();
    const int64_t cin_g = g_.in_channels / g_.group, cout_g = g_.out_channels / g_.group;
    const int64_t acc_floats = packed_->panels() * PackedWeights::kPanelRows * 32;
    const int threads = std::max(1, s.exec->threads);
    float* accumulators = s.exec->scratch->floats(static_cast<size_t>(acc_floats * threads), 102);
    struct Work {
      const ConvChangeKernel* self;
      const Tensor* source;
      const std::vector<int32_t>* pixels;
      Tensor* out;
      float* accumulators;
      int64_t acc_floats, out_hw, in_hw, cin_g, cout_g;
      int chunks;
    } work{this, &source, &pixels, &out, accumulators, acc_floats, out_hw, in_hw, cin_g, cout_g, threads};
    run_chunks(
        threads,
        [](void* p, int chunk) {
          const Work& w = *static_cast<const Work*>(p);
          const ConvChangeKernel& k = *w.self;
          const int64_t total = static_cast<int64_t>(w.pixels->size());
          // Equal slices of the list, on 32-pixel boundaries; each slice split where the image changes.
          const int64_t strips = (total + 31) / 32;
          int64_t i = std::min(total, strips * chunk / w.chunks * 32);
          const int64_t end = std::min(total, strips * (chunk + 1) / w.chunks * 32);
          const float* bias = k.bias_ ? k.bias_->f32() : nullptr;
          while (i < end) {
            const int64_t image = (*w.pixels)[static_cast<size_t>(i)] / w.out_hw;
            int64_t j = i;
            while (j < end && (*w.pixels)[static_cast<size_t>(j)] / w.out_hw == image) ++j;
            for (int64_t grp = 0; grp < k.g_.group; ++grp)
              packed_conv_pixels(*k.packed_, grp,
                                 w.source->f32() + (image * k.g_.in_channels + grp * w.cin_g) * w.in_hw, k.window_,
                                 w.pixels->data() + i, j - i, image * w.out_hw,
                                 w.out->f32() + (image * k.g_.out_channels + grp * w.cout_g) * w.out_hw,
                                 bias ? bias + grp * w.cout_g : nullptr, k.act_, w.accumulators + chunk * w.acc_floats);
            i = j;
          }
        },
        &work);
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
  std::unique_ptr<Gate> gate_;  // null for 1x1 layers
  ConvGeometry g_;
  Window window_;
  const PackedWeights* packed_ = nullptr;  // nullptr: gather + sgemm path (no AVX-512, or depthwise)
  PackedWeights own_packed_;               // when the dense operator did not pack
  const Tensor* weight_;
  const Tensor* bias_;
  Activation act_;
};

}  // namespace

std::unique_ptr<ChangeKernel> make_conv_change_kernel(const Node& node, Op& op,
                                                      const std::vector<const Tensor*>& inputs,
                                                      const std::vector<const Tensor*>& outputs,
                                                      const GateChoice& gates) {
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
  WindowAttrs attrs = window_attrs(node);
  attrs.kernel = {w->dim(2), w->dim(3)};
  Window window;
  if (!plan_window(attrs, {g.in_h, g.in_w}, window).empty()) return nullptr;
  // Spatial windows detect changes through a gate; 1x1 layers reuse their input's indexes (§III-E).
  std::unique_ptr<Gate> gate = g.is_pointwise() ? nullptr : make_gate(gates, node.name, g.in_channels, *w);
  return std::make_unique<ConvChangeKernel>(op, g, window, w, b, fused_activation(node), std::move(gate));
}

}  // namespace sparseinfer

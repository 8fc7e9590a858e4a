// CBinfer §III on the GPU for one convolution layer; mirrors the CPU change
// kernel (core/engine/change_conv_kernel.cpp) decision for decision.
#include "cuda_change_conv.h"

#include <algorithm>

#include "cuda_check.h"
#include "cuda_context.h"

namespace sparseinfer::cuda {

CudaChangeConv::CudaChangeConv(CudaContext& ctx, const ConvGeometry& g, const float* weights, const float* bias,
                               const Activation& act, const CudaChangeConvOptions& options)
    : ctx_(ctx), g_(g), act_(act), options_(options), dense_(g) {
  const int64_t in_grid = g.batch * g.in_h * g.in_w, out_grid = g.batch * g.out_h * g.out_w;
  if (in_grid > INT32_MAX || out_grid > INT32_MAX)
    throw Error("CudaChangeConv: pixel indices of this layer exceed int32");
  const int64_t k = g.patch_size(), cout_g = g.out_channels / g.group;
  const size_t weight_count = static_cast<size_t>(g.out_channels * k);
  weights_.upload(weights, weight_count, ctx);
  has_bias_ = bias != nullptr;
  if (has_bias_) bias_.upload(bias, static_cast<size_t>(g.out_channels), ctx);
  if (detects()) {
    state_.reserve(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w));
    in_flags_.reserve(static_cast<size_t>(in_grid));
    in_pixels_.reserve(static_cast<size_t>(in_grid));
    out_flags_.reserve(static_cast<size_t>(out_grid));
  }
  output_.reserve(static_cast<size_t>(g.batch * g.out_channels * g.out_h * g.out_w));
  out_pixels_.reserve(static_cast<size_t>(out_grid));
  counts_.reserve(2);
  if (!g.is_depthwise()) {
    chunk_ = std::max<int64_t>(1, std::min<int64_t>(out_grid, options.max_patch_floats / std::max<int64_t>(k, 1)));
    y_.reserve(static_cast<size_t>(chunk_ * cout_g));
    if (options.fp16) {
      weights_f16_.reserve(weight_count);
      convert_to_f16(ctx, weights_.data(), static_cast<int64_t>(weight_count), weights_f16_.data());
      patches_f16_.reserve(static_cast<size_t>(chunk_ * k));
    } else {
      patches_.reserve(static_cast<size_t>(chunk_ * k));
    }
  }
  ctx.synchronize();  // the host weights may go away once we return
}

CudaChangeConv::~CudaChangeConv() {
  for (CUevent_st* e : events_) cudaEventDestroy(e);
}

bool CudaChangeConv::detects() const {
  return !g_.is_pointwise();
}

void CudaChangeConv::mark(Stage ended) {
  if (!options_.timing) return;
  if (events_used_ == events_.size()) {
    cudaEvent_t e = nullptr;
    check_cuda(cudaEventCreate(&e), "cudaEventCreate");
    events_.push_back(e);
    event_stages_.push_back(ended);
  }
  event_stages_[events_used_] = ended;
  check_cuda(cudaEventRecord(events_[events_used_++], ctx_.stream()), "cudaEventRecord");
}

CudaStageTimes CudaChangeConv::stage_times() const {
  CudaStageTimes t;
  if (events_used_ < 2) return t;
  check_cuda(cudaEventSynchronize(events_[events_used_ - 1]), "cudaEventSynchronize");
  for (size_t i = 1; i < events_used_; ++i) {
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, events_[i - 1], events_[i]), "cudaEventElapsedTime");
    switch (event_stages_[i]) {
      case Stage::Detect:
        t.detect_ms += ms;
        break;
      case Stage::Extract:
        t.extract_ms += ms;
        break;
      case Stage::Gather:
        t.gather_ms += ms;
        break;
      case Stage::Gemm:
        t.gemm_ms += ms;
        break;
      case Stage::Update:
        t.update_ms += ms;
        break;
    }
  }
  return t;
}

size_t CudaChangeConv::device_bytes() const {
  return weights_.bytes() + bias_.bytes() + state_.bytes() + output_.bytes() + patches_.bytes() + y_.bytes() +
         weights_f16_.bytes() + patches_f16_.bytes() + in_flags_.bytes() + out_flags_.bytes() + in_pixels_.bytes() +
         out_pixels_.bytes() + counts_.bytes();
}

void CudaChangeConv::set_unchanged() {
  all_changed_ = false;
  out_count_ = 0;
  macs_ = 0;
}

void CudaChangeConv::run_dense(const float* source) {
  dense_.run(ctx_, source, weights_.data(), has_bias_ ? bias_.data() : nullptr, act_, output_.data());
  mark(Stage::Gemm);
  all_changed_ = true;
  out_count_ = static_cast<int>(g_.batch * g_.out_h * g_.out_w);
  macs_ = g_.batch * g_.out_h * g_.out_w * g_.out_channels * g_.patch_size();
}

void CudaChangeConv::run_sparse(const float* source, int64_t total) {
  const int32_t* pixels = out_pixels_.data();
  const float* bias = has_bias_ ? bias_.data() : nullptr;
  all_changed_ = false;
  out_count_ = static_cast<int>(total);
  macs_ = total * g_.out_channels * g_.patch_size();
  if (g_.is_depthwise()) {
    depthwise_at_pixels(ctx_, source, weights_.data(), bias, act_, g_, pixels, total, output_.data());
    mark(Stage::Gemm);
    return;
  }
  const int64_t k = g_.patch_size(), cout_g = g_.out_channels / g_.group;
  for (int64_t grp = 0; grp < g_.group; ++grp) {
    for (int64_t b = 0; b < total; b += chunk_) {
      const int64_t n = std::min(chunk_, total - b);
      if (options_.fp16) {
        gather_patches_f16(ctx_, source, g_, grp, pixels + b, n, patches_f16_.data());
        mark(Stage::Gather);
        gemm_weights_patches_f16(ctx_, cout_g, n, k, weights_f16_.data() + grp * cout_g * k, patches_f16_.data(),
                                 y_.data());
      } else {
        gather_patches(ctx_, source, g_, grp, pixels + b, n, patches_.data());
        mark(Stage::Gather);
        gemm_weights_patches(ctx_, cout_g, n, k, weights_.data() + grp * cout_g * k, patches_.data(), y_.data());
      }
      mark(Stage::Gemm);
      scatter_outputs(ctx_, y_.data(), bias, act_, g_, grp, pixels + b, n, output_.data());
      mark(Stage::Update);
    }
  }
}

void CudaChangeConv::run(const float* input, const int32_t* candidates, int n_candidates, float threshold) {
  events_used_ = 0;
  mark(Stage::Detect);  // opens the run; its own stage is never read
  const int64_t in_grid = g_.batch * g_.in_h * g_.in_w, out_grid = g_.batch * g_.out_h * g_.out_w;
  in_count_ = -1;

  if (!primed_) {
    // First frame: dense, and the input becomes the closed-loop state.
    if (detects()) {
      copy_on_device(state_.data(), input,
                     static_cast<size_t>(g_.batch * g_.in_channels * g_.in_h * g_.in_w) * sizeof(float), ctx_);
      last_threshold_ = threshold;
    }
    run_dense(input);
    primed_ = true;
    return;
  }

  const float* source = input;
  if (detects()) {
    // Below last frame's threshold, pixels skipped then may count now: look at all of them.
    const bool rescan = threshold < last_threshold_;
    if (candidates && n_candidates == 0 && !rescan) {
      set_unchanged();
      in_count_ = 0;
      return;
    }
    const bool all = rescan || !candidates;
    detect_changes(ctx_, input, state_.data(), g_.batch, g_.in_channels, g_.in_h, g_.in_w, all ? nullptr : candidates,
                   all ? 0 : n_candidates, threshold, in_flags_.data());
    mark(Stage::Detect);
    last_threshold_ = threshold;
    source = state_.data();  // closed loop: the output is always conv(input state)
    extractor_.select(ctx_, in_flags_.data(), in_grid, in_pixels_.data(), counts_.data());
    mark_affected_outputs(ctx_, in_flags_.data(), g_, out_flags_.data());
    extractor_.select(ctx_, out_flags_.data(), out_grid, out_pixels_.data(), counts_.data() + 1);
    mark(Stage::Extract);
    int32_t counts[2] = {0, 0};
    counts_.download(counts, 2, ctx_);  // the one wait of the layer: the host needs the sizes
    in_count_ = counts[0];
    if (counts[0] == 0) {
      set_unchanged();
      return;
    }
    if (static_cast<double>(counts[1]) / static_cast<double>(out_grid) > options_.dense_beyond) {
      run_dense(source);
      return;
    }
    run_sparse(source, counts[1]);
    return;
  }

  // 1x1 unpadded stride-1 layer: the output pixels that change are exactly the
  // input's (CBinfer §III-E), so the candidate list is reused as is.
  in_count_ = candidates ? n_candidates : -1;
  if (!candidates) {
    run_dense(input);
    return;
  }
  if (n_candidates == 0) {
    set_unchanged();
    return;
  }
  copy_on_device(out_pixels_.data(), candidates, static_cast<size_t>(n_candidates) * sizeof(int32_t), ctx_);
  mark(Stage::Extract);
  if (static_cast<double>(n_candidates) / static_cast<double>(out_grid) > options_.dense_beyond) {
    run_dense(input);
    return;
  }
  run_sparse(input, n_candidates);
}

}  // namespace sparseinfer::cuda

#include "cuda_change_pool.h"

#include "cuda_context.h"

namespace sparseinfer::cuda {

CudaChangePool::CudaChangePool(CudaContext& ctx, const ConvGeometry& g, PoolKind kind, bool count_include_pad)
    : ctx_(ctx), g_(g), kind_(kind), count_include_pad_(count_include_pad) {
  const int64_t in_grid = g.batch * g.in_h * g.in_w, out_grid = g.batch * g.out_h * g.out_w;
  output_.reserve(static_cast<size_t>(g.out_channels * out_grid));
  in_flags_.reserve(static_cast<size_t>(in_grid));
  out_flags_.reserve(static_cast<size_t>(out_grid));
  out_pixels_.reserve(static_cast<size_t>(out_grid));
  count_.reserve(1);
}

void CudaChangePool::run(const float* input, const int32_t* changed, int n_changed) {
  const int64_t out_grid = g_.batch * g_.out_h * g_.out_w;
  if (!changed) {
    pool_at_pixels(ctx_, input, kind_, count_include_pad_, g_, nullptr, out_grid, output_.data());
    all_changed_ = true;
    out_count_ = static_cast<int>(out_grid);
    return;
  }
  all_changed_ = false;
  if (n_changed == 0) {
    out_count_ = 0;
    return;
  }
  flag_pixels(ctx_, changed, n_changed, g_.batch * g_.in_h * g_.in_w, in_flags_.data());
  mark_affected_outputs(ctx_, in_flags_.data(), g_, out_flags_.data());
  extractor_.select(ctx_, out_flags_.data(), out_grid, out_pixels_.data(), count_.data());
  int32_t count = 0;
  count_.download(&count, 1, ctx_);  // the host sizes the pooling launch
  out_count_ = count;
  pool_at_pixels(ctx_, input, kind_, count_include_pad_, g_, out_pixels_.data(), count, output_.data());
}

size_t CudaChangePool::device_bytes() const {
  return output_.bytes() + in_flags_.bytes() + out_flags_.bytes() + out_pixels_.bytes() + count_.bytes();
}

}  // namespace sparseinfer::cuda

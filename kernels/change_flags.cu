// A list of changed pixels back into a flag map, so a layer that reuses its
// input's change indexes (pooling, §III-E) can dilate them by its window.
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"

namespace sparseinfer::cuda {

namespace {

__global__ void set_flags_kernel(const int32_t* __restrict__ pixels, int32_t n, uint8_t* __restrict__ flags) {
  const int32_t j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j < n) flags[pixels[j]] = 1;
}

}  // namespace

void flag_pixels(const CudaContext& ctx, const int32_t* pixels, int64_t n, int64_t grid, uint8_t* flags) {
  fill_zero(flags, static_cast<size_t>(grid), ctx);
  if (n <= 0) return;
  set_flags_kernel<<<blocks_for(n), kBlock, 0, ctx.stream()>>>(pixels, static_cast<int32_t>(n), flags);
  ctx.check_launch("flag_pixels");
}

}  // namespace sparseinfer::cuda

// Change detection with closed-loop input state (CBinfer §III-C, eq. 3).
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"
#include "device_activation.cuh"

namespace sparseinfer::cuda {

namespace {

// One thread per examined pixel: consecutive threads read consecutive pixels
// of each channel plane, so the loads coalesce.
__global__ void detect_kernel(const float* __restrict__ input, float* __restrict__ state, int32_t pixels, int64_t hw,
                              int64_t channels, const int32_t* __restrict__ candidates, float threshold,
                              uint8_t* __restrict__ flags) {
  const int32_t j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= pixels) return;
  const int64_t p = candidates ? candidates[j] : j;
  const int64_t n = p / hw, q = p % hw;
  const float* in = input + n * channels * hw + q;
  float* st = state + n * channels * hw + q;
  float diff = 0.0f;
  for (int64_t c = 0; c < channels; ++c) diff = std_max(diff, fabsf(in[c * hw] - st[c * hw]));
  const bool changed = diff > threshold;
  flags[p] = changed;
  if (changed)
    for (int64_t c = 0; c < channels; ++c) st[c * hw] = in[c * hw];
}

}  // namespace

void detect_changes(const CudaContext& ctx, const float* input, float* state, int64_t batch, int64_t channels,
                    int64_t height, int64_t width, const int32_t* candidates, int64_t n_candidates, float threshold,
                    uint8_t* flags) {
  const int64_t hw = height * width, grid = batch * hw;
  // Pixels that are not candidates did not change: clear them all first.
  if (candidates) fill_zero(flags, static_cast<size_t>(grid), ctx);
  const int64_t examined = candidates ? n_candidates : grid;
  if (examined <= 0) return;
  detect_kernel<<<blocks_for(examined), kBlock, 0, ctx.stream()>>>(input, state, static_cast<int32_t>(examined), hw,
                                                                   channels, candidates, threshold, flags);
  ctx.check_launch("detect_changes");
}

}  // namespace sparseinfer::cuda

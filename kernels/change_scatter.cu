// Output update of change-based convolution: the GEMM result written back to
// the affected output pixels with bias and activation fused (CBinfer §III-A).
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"
#include "device_activation.cuh"

namespace sparseinfer::cuda {

namespace {

// One thread per (c, j), j fastest: the reads of Y coalesce; the writes go to
// the listed pixels of one channel plane.
__global__ void scatter_kernel(const float* __restrict__ Y, const float* __restrict__ bias, Activation act,
                               int64_t cout_g, int64_t first_channel, int64_t out_channels, int64_t out_hw,
                               const int32_t* __restrict__ pixels, int64_t n, float* __restrict__ output) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= cout_g * n) return;
  const int64_t c = e / n, j = e - c * n;
  const int64_t oc = first_channel + c;
  const int64_t p = pixels[j], nb = p / out_hw;
  const float bv = bias ? bias[oc] : 0.0f;
  output[(nb * out_channels + oc) * out_hw + p % out_hw] = apply_activation(act, Y[e] + bv);
}

}  // namespace

void scatter_outputs(const CudaContext& ctx, const float* Y, const float* bias, const Activation& act,
                     const ConvGeometry& g, int64_t grp, const int32_t* pixels, int64_t n, float* output) {
  const int64_t cout_g = g.out_channels / g.group;
  if (n <= 0 || cout_g <= 0) return;
  scatter_kernel<<<blocks_for(cout_g * n), kBlock, 0, ctx.stream()>>>(
      Y, bias, act, cout_g, grp * cout_g, g.out_channels, g.out_h * g.out_w, pixels, n, output);
  ctx.check_launch("scatter_outputs");
}

}  // namespace sparseinfer::cuda

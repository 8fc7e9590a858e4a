// Depthwise convolution at listed output pixels: one multiply per tap, so it
// runs directly instead of through a patch matrix and a GEMM per channel.
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"
#include "device_activation.cuh"

namespace sparseinfer::cuda {

namespace {

// One thread per (c, j), j fastest. Taps are summed in the CPU's order,
// starting from the bias, with separately rounded products (no FMA).
__global__ void depthwise_kernel(const float* __restrict__ input, const float* __restrict__ weights,
                                 const float* __restrict__ bias, Activation act, ConvGeometry g,
                                 const int32_t* __restrict__ pixels, int64_t n, float* __restrict__ output) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= g.out_channels * n) return;
  const int64_t c = e / n, j = e - c * n;
  const int64_t out_hw = g.out_h * g.out_w, in_hw = g.in_h * g.in_w, kk = g.kernel_h * g.kernel_w;
  const int64_t p = pixels ? pixels[j] : j, nb = p / out_hw, q = p % out_hw, oy = q / g.out_w, ox = q % g.out_w;
  const int64_t y0 = oy * g.stride_h - g.pad_top, x0 = ox * g.stride_w - g.pad_left;
  const float* plane = input + (nb * g.in_channels + c) * in_hw;
  const float* w = weights + c * kk;
  float sum = bias ? bias[c] : 0.0f;
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    const int64_t iy = y0 + ky * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) continue;
    for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
      const int64_t ix = x0 + kx * g.dilation_w;
      if (ix >= 0 && ix < g.in_w) sum = __fadd_rn(sum, __fmul_rn(w[ky * g.kernel_w + kx], plane[iy * g.in_w + ix]));
    }
  }
  output[(nb * g.out_channels + c) * out_hw + q] = apply_activation(act, sum);
}

}  // namespace

void depthwise_at_pixels(const CudaContext& ctx, const float* input, const float* weights, const float* bias,
                         const Activation& act, const ConvGeometry& g, const int32_t* pixels, int64_t n,
                         float* output) {
  if (!g.is_depthwise()) throw Error("depthwise_at_pixels: the convolution is not depthwise");
  if (n <= 0) return;
  depthwise_kernel<<<blocks_for(g.out_channels * n), kBlock, 0, ctx.stream()>>>(input, weights, bias, act, g, pixels, n,
                                                                                output);
  ctx.check_launch("depthwise_at_pixels");
}

}  // namespace sparseinfer::cuda

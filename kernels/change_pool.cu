// Change-based pooling (CBinfer §III-E): windows evaluated only at the output
// pixels whose input window changed, reusing the change indexes.
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"
#include "device_activation.cuh"

namespace sparseinfer::cuda {

namespace {

// One thread per (c, j), j fastest; the window is walked in the CPU's order.
__global__ void pool_kernel(const float* __restrict__ input, bool is_max, bool count_include_pad, ConvGeometry g,
                            const int32_t* __restrict__ pixels, int64_t n, float* __restrict__ output) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= g.in_channels * n) return;
  const int64_t c = e / n, j = e - c * n;
  const int64_t out_hw = g.out_h * g.out_w, in_hw = g.in_h * g.in_w;
  const int64_t p = pixels ? pixels[j] : j, nb = p / out_hw, q = p % out_hw, oy = q / g.out_w, ox = q % g.out_w;
  const int64_t y0 = oy * g.stride_h - g.pad_top, x0 = ox * g.stride_w - g.pad_left;
  const float* plane = input + (nb * g.in_channels + c) * in_hw;
  float acc = is_max ? -INFINITY : 0.0f;
  int64_t valid = 0, padded = 0;
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    const int64_t iy = y0 + ky * g.dilation_h;
    for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
      const int64_t ix = x0 + kx * g.dilation_w;
      const bool inside = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
      if (iy < g.in_h + g.pad_bottom && ix < g.in_w + g.pad_right) {
        ++padded;
        valid += inside;
      }
      if (!inside) continue;
      const float v = plane[iy * g.in_w + ix];
      acc = is_max ? std_max(acc, v) : acc + v;
    }
  }
  if (!is_max) acc /= static_cast<float>(count_include_pad ? padded : (valid > 1 ? valid : 1));
  output[(nb * g.out_channels + c) * out_hw + q] = acc;
}

}  // namespace

void pool_at_pixels(const CudaContext& ctx, const float* input, PoolKind kind, bool count_include_pad,
                    const ConvGeometry& g, const int32_t* pixels, int64_t n, float* output) {
  if (n <= 0 || g.in_channels <= 0) return;
  pool_kernel<<<blocks_for(g.in_channels * n), kBlock, 0, ctx.stream()>>>(input, kind == PoolKind::Max,
                                                                          count_include_pad, g, pixels, n, output);
  ctx.check_launch("pool_at_pixels");
}

}  // namespace sparseinfer::cuda

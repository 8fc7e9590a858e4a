// Dilation of changed input pixels to the affected output pixels (CBinfer eq. 4).
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"

namespace sparseinfer::cuda {

namespace {

// Window geometry with 32-bit fields: device integer division is cheaper.
struct Window32 {
  int in_h, in_w, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
};

// One thread per output pixel: it is affected when any tap of its window
// lands on a flagged input pixel (the gather form of the CPU's scatter).
__global__ void dilate_kernel(const uint8_t* __restrict__ in_flags, Window32 w, int32_t outputs,
                              uint8_t* __restrict__ out_flags) {
  const int32_t p = blockIdx.x * blockDim.x + threadIdx.x;
  if (p >= outputs) return;
  const int32_t out_hw = w.out_h * w.out_w;
  const int32_t n = p / out_hw, q = p % out_hw, oy = q / w.out_w, ox = q % w.out_w;
  const uint8_t* plane = in_flags + static_cast<int64_t>(n) * w.in_h * w.in_w;
  const int y0 = oy * w.stride_h - w.pad_top, x0 = ox * w.stride_w - w.pad_left;
  uint8_t hit = 0;
  for (int ky = 0; ky < w.kernel_h && !hit; ++ky) {
    const int iy = y0 + ky * w.dilation_h;
    if (iy < 0 || iy >= w.in_h) continue;
    for (int kx = 0; kx < w.kernel_w; ++kx) {
      const int ix = x0 + kx * w.dilation_w;
      if (ix >= 0 && ix < w.in_w && plane[iy * w.in_w + ix]) {
        hit = 1;
        break;
      }
    }
  }
  out_flags[p] = hit;
}

}  // namespace

void mark_affected_outputs(const CudaContext& ctx, const uint8_t* in_flags, const ConvGeometry& g, uint8_t* out_flags) {
  const int64_t outputs = g.batch * g.out_h * g.out_w;
  if (outputs <= 0) return;
  const Window32 w{static_cast<int>(g.in_h),       static_cast<int>(g.in_w),     static_cast<int>(g.out_h),
                   static_cast<int>(g.out_w),      static_cast<int>(g.kernel_h), static_cast<int>(g.kernel_w),
                   static_cast<int>(g.stride_h),   static_cast<int>(g.stride_w), static_cast<int>(g.dilation_h),
                   static_cast<int>(g.dilation_w), static_cast<int>(g.pad_top),  static_cast<int>(g.pad_left)};
  dilate_kernel<<<blocks_for(outputs), kBlock, 0, ctx.stream()>>>(in_flags, w, static_cast<int32_t>(outputs),
                                                                  out_flags);
  ctx.check_launch("mark_affected_outputs");
}

}  // namespace sparseinfer::cuda

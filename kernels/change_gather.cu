// Matrix generation (CBinfer §III-A): the receptive fields of the affected
// output pixels, one row per pixel, for one group of a convolution.
#include <cuda_fp16.h>

#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"

namespace sparseinfer::cuda {

namespace {

struct GatherGeometry {
  int in_channels, in_h, in_w, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top,
      pad_left, cin_g, patch;
};

GatherGeometry gather_geometry(const ConvGeometry& g) {
  return {static_cast<int>(g.in_channels), static_cast<int>(g.in_h),
          static_cast<int>(g.in_w),        static_cast<int>(g.out_h),
          static_cast<int>(g.out_w),       static_cast<int>(g.kernel_h),
          static_cast<int>(g.kernel_w),    static_cast<int>(g.stride_h),
          static_cast<int>(g.stride_w),    static_cast<int>(g.dilation_h),
          static_cast<int>(g.dilation_w),  static_cast<int>(g.pad_top),
          static_cast<int>(g.pad_left),    static_cast<int>(g.in_channels / g.group),
          static_cast<int>(g.patch_size())};
}

__device__ __forceinline__ void store(float* dst, float v) {
  *dst = v;
}
__device__ __forceinline__ void store(__half* dst, float v) {
  *dst = __float2half_rn(v);
}

// One thread per patch element (j, c, ky, kx): the writes of a warp are
// consecutive; the reads follow the window rows.
template <typename T>
__global__ void gather_kernel(const float* __restrict__ input, GatherGeometry g, int grp,
                              const int32_t* __restrict__ pixels, int64_t elements, T* __restrict__ patches) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= elements) return;
  const int64_t j = e / g.patch;
  const int r = static_cast<int>(e - j * g.patch);
  const int kx = r % g.kernel_w, ky = (r / g.kernel_w) % g.kernel_h, c = r / (g.kernel_w * g.kernel_h);
  const int32_t p = pixels[j], out_hw = g.out_h * g.out_w;
  const int32_t nb = p / out_hw, q = p % out_hw, oy = q / g.out_w, ox = q % g.out_w;
  const int iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
  const int ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
  float v = 0.0f;
  if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w) {
    const int64_t plane = static_cast<int64_t>(nb) * g.in_channels + static_cast<int64_t>(grp) * g.cin_g + c;
    v = input[(plane * g.in_h + iy) * g.in_w + ix];
  }
  store(patches + e, v);
}

__global__ void to_half_kernel(const float* __restrict__ src, int64_t count, __half* __restrict__ dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) dst[i] = __float2half_rn(src[i]);
}

}  // namespace

void gather_patches(const CudaContext& ctx, const float* input, const ConvGeometry& g, int64_t grp,
                    const int32_t* pixels, int64_t n, float* patches) {
  const int64_t elements = n * g.patch_size();
  if (elements <= 0) return;
  gather_kernel<float><<<blocks_for(elements), kBlock, 0, ctx.stream()>>>(
      input, gather_geometry(g), static_cast<int>(grp), pixels, elements, patches);
  ctx.check_launch("gather_patches");
}

void gather_patches_f16(const CudaContext& ctx, const float* input, const ConvGeometry& g, int64_t grp,
                        const int32_t* pixels, int64_t n, uint16_t* patches) {
  const int64_t elements = n * g.patch_size();
  if (elements <= 0) return;
  gather_kernel<__half><<<blocks_for(elements), kBlock, 0, ctx.stream()>>>(
      input, gather_geometry(g), static_cast<int>(grp), pixels, elements, reinterpret_cast<__half*>(patches));
  ctx.check_launch("gather_patches_f16");
}

void convert_to_f16(const CudaContext& ctx, const float* src, int64_t count, uint16_t* dst) {
  if (count <= 0) return;
  to_half_kernel<<<blocks_for(count), kBlock, 0, ctx.stream()>>>(src, count, reinterpret_cast<__half*>(dst));
  ctx.check_launch("convert_to_f16");
}

}  // namespace sparseinfer::cuda

#include <algorithm>

#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"
#include "dense_conv.h"
#include "device_activation.cuh"

namespace sparseinfer::cuda {

namespace {

// Column tile [K x len] of image nb, group grp, output pixels [p0, p0 + len):
// one thread per element, pixels fastest so neighbouring threads read
// neighbouring input columns.
__global__ void im2col_tile_kernel(const float* __restrict__ input, ConvGeometry g, int64_t nb, int64_t grp, int64_t p0,
                                   int64_t len, float* __restrict__ columns) {
  const int64_t k = g.in_channels / g.group * g.kernel_h * g.kernel_w;
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= k * len) return;
  const int64_t r = e / len, i = e - r * len;
  const int64_t kx = r % g.kernel_w, ky = (r / g.kernel_w) % g.kernel_h, c = r / (g.kernel_w * g.kernel_h);
  const int64_t q = p0 + i, oy = q / g.out_w, ox = q % g.out_w;
  const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
  const int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
  float v = 0.0f;
  if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w)
    v = input[((nb * g.in_channels + grp * (g.in_channels / g.group) + c) * g.in_h + iy) * g.in_w + ix];
  columns[e] = v;
}

__global__ void bias_activation_kernel(float* __restrict__ output, const float* __restrict__ bias, Activation act,
                                       int64_t channels, int64_t plane, int64_t total) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const float bv = bias ? bias[(e / plane) % channels] : 0.0f;
  output[e] = apply_activation(act, output[e] + bv);
}

}  // namespace

void bias_activation_planes(const CudaContext& ctx, float* output, const float* bias, const Activation& act,
                            int64_t batch, int64_t channels, int64_t plane) {
  const int64_t total = batch * channels * plane;
  if (total <= 0 || (!bias && act.kind == ActivationKind::None)) return;
  bias_activation_kernel<<<blocks_for(total), kBlock, 0, ctx.stream()>>>(output, bias, act, channels, plane, total);
  ctx.check_launch("bias_activation_planes");
}

CudaDenseConv::CudaDenseConv(const ConvGeometry& g, int64_t max_tile_floats) : g_(g) {
  const int64_t out_hw = g.out_h * g.out_w, k = g.patch_size();
  if (g.group < 1 || g.in_channels % g.group || g.out_channels % g.group)
    throw Error("CudaDenseConv: channels are not divisible by the group count");
  if (out_hw > INT32_MAX || k > INT32_MAX) throw Error("CudaDenseConv: the layer exceeds cuBLAS int dimensions");
  tile_pixels_ = std::max<int64_t>(1, std::min<int64_t>(out_hw, max_tile_floats / std::max<int64_t>(k, 1)));
  if (!g.is_depthwise() && !g.is_pointwise()) columns_.reserve(static_cast<size_t>(tile_pixels_ * k));
}

void CudaDenseConv::run(const CudaContext& ctx, const float* input, const float* weights, const float* bias,
                        const Activation& act, float* output) {
  const ConvGeometry& g = g_;
  const int64_t out_hw = g.out_h * g.out_w, in_hw = g.in_h * g.in_w, k = g.patch_size();
  const int64_t cin_g = g.in_channels / g.group, cout_g = g.out_channels / g.group;
  if (g.is_depthwise()) {
    depthwise_at_pixels(ctx, input, weights, bias, act, g, nullptr, g.batch * out_hw, output);
    return;
  }
  const float one = 1.0f, zero = 0.0f;
  for (int64_t nb = 0; nb < g.batch; ++nb) {
    for (int64_t grp = 0; grp < g.group; ++grp) {
      const float* w = weights + grp * cout_g * k;
      float* y = output + (nb * g.out_channels + grp * cout_g) * out_hw;
      // Row-major Y[cout_g x pixels] (ld out_hw) is column-major Y^T = columns^T * W^T.
      if (g.is_pointwise()) {
        // A 1x1 stride-1 unpadded window: the input planes are the columns.
        const float* x = input + (nb * g.in_channels + grp * cin_g) * in_hw;
        check_cublas(cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(out_hw),
                                 static_cast<int>(cout_g), static_cast<int>(k), &one, x, static_cast<int>(in_hw), w,
                                 static_cast<int>(k), &zero, y, static_cast<int>(out_hw)),
                     "cublasSgemm (dense 1x1 conv)");
        continue;
      }
      for (int64_t p0 = 0; p0 < out_hw; p0 += tile_pixels_) {
        const int64_t len = std::min(tile_pixels_, out_hw - p0);
        im2col_tile_kernel<<<blocks_for(k * len), kBlock, 0, ctx.stream()>>>(input, g, nb, grp, p0, len,
                                                                             columns_.data());
        ctx.check_launch("im2col tile");
        check_cublas(
            cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(len), static_cast<int>(cout_g),
                        static_cast<int>(k), &one, columns_.data(), static_cast<int>(len), w, static_cast<int>(k),
                        &zero, y + p0, static_cast<int>(out_hw)),
            "cublasSgemm (dense conv)");
      }
    }
  }
  bias_activation_planes(ctx, output, bias, act, g.batch, g.out_channels, out_hw);
}

}  // namespace sparseinfer::cuda

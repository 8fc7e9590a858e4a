// Dense convolution on the GPU, the in-process baseline of change-based
// inference and its fallback when most outputs changed: implicit im2col in
// tiles of output pixels, one cuBLAS GEMM per tile and group writing straight
// into the NCHW output, then bias + activation in one pass.
#pragma once

#include <cstdint>

#include "device_buffer.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

namespace sparseinfer::cuda {

class CudaContext;

class CudaDenseConv {
 public:
  // Sizes the column tile once (at most max_tile_floats floats), so run() never allocates.
  explicit CudaDenseConv(const ConvGeometry& g, int64_t max_tile_floats = int64_t(1) << 24);

  // output = act(conv(input, weights) + bias) over the whole batch. Device
  // pointers: input NCHW, weights [Cout x Cin/group x kh x kw], bias [Cout] or null.
  void run(const CudaContext& ctx, const float* input, const float* weights, const float* bias, const Activation& act,
           float* output);

  const ConvGeometry& geometry() const { return g_; }

 private:
  ConvGeometry g_;
  int64_t tile_pixels_ = 0;
  DeviceBuffer<float> columns_;
};

// output[(n*C + c)*plane + i] = act(output[...] + bias[c]) in place.
void bias_activation_planes(const CudaContext& ctx, float* output, const float* bias, const Activation& act,
                            int64_t batch, int64_t channels, int64_t plane);

}  // namespace sparseinfer::cuda

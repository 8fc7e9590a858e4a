// Convolution as tiled im2col + GEMM with bias and activation fused into the
// epilogue of each tile: out[Cout x pixels] = W[Cout x K] * col[K x pixels].
#pragma once

#include <cstdint>

#include "cpu/packed_gemm.h"
#include "ops/activation.h"
#include "ops/window.h"

namespace sparseinfer {

struct ConvGemmShape {
  Window window;
  int64_t groups = 1;
  int64_t in_channels = 0;   // per image, all groups
  int64_t out_channels = 0;  // per image, all groups
  int64_t tile_pixels = 0;   // output pixels per im2col tile (0: pick one)
  // Weights packed for packed_gemm (constant weights on an AVX-512 CPU);
  // nullptr: OpenBLAS sgemm on the weights as given.
  const PackedWeights* packed = nullptr;

  int64_t in_per_group() const { return in_channels / groups; }
  int64_t out_per_group() const { return out_channels / groups; }
  int64_t k_per_group() const { return in_per_group() * window.kernel_size(); }
};

// Output pixels per tile for a layer (the tile's column block stays near L2).
int64_t conv_gemm_default_tile(const ConvGemmShape& s, int threads);

// Floats of scratch conv_gemm_image needs with this many threads.
int64_t conv_gemm_scratch_floats(const ConvGemmShape& s, int threads);

// One image: in [Cin, D, H, W], weights [Cout, Cin/groups, kD, kH, kW],
// bias [Cout] or nullptr, out [Cout, oD, oH, oW].
void conv_gemm_image(const float* in, const float* weights, const float* bias, float* out, const ConvGemmShape& s,
                     const Activation& act, int threads, float* scratch);

}  // namespace sparseinfer

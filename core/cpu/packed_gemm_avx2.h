// The AVX2 + FMA variants of the packed implicit-GEMM convolution
// (cpu/packed_gemm.h), used on CPUs without AVX-512. Same arguments and
// results as packed_conv_tile / packed_conv_pixels, which dispatch here.
#pragma once

#include <cstdint>

#include "cpu/packed_gemm.h"

namespace sparseinfer {

// Floats of the strip block (`block`, or a per-thread buffer when nullptr).
constexpr int64_t kPackedAvx2BlockFloats = 32 * 1024;

void packed_conv_tile_avx2(const PackedWeights& w, int64_t group, const float* in, const Window& win, int64_t p0,
                           int64_t p1, float* out, const float* bias, const Activation& act, float* block);

void packed_conv_pixels_avx2(const PackedWeights& w, int64_t group, const float* in, const Window& win,
                             const int32_t* pixels, int64_t n, int64_t pixel_base, float* out, const float* bias,
                             const Activation& act, float* accumulator);

}  // namespace sparseinfer

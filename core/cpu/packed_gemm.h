// Convolution as an implicit GEMM (im2col strips built on the fly from the
// input) with weights packed once at plan time, on an AVX-512 micro-kernel. OpenBLAS repacks the weights on every call
// and, on CPUs its runtime detection does not know (Sapphire Rapids in Debian's 0.3.21), runs its AVX2 kernel; this
// path removes both costs.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/activation.h"
#include "ops/window.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

// Weights [groups][m][k] in panels of kPanelRows rows: panel p of group g
// holds k steps of kPanelRows values (rows past m are zero).
struct PackedWeights {
  static constexpr int64_t kPanelRows = 8;
  int64_t groups = 0, m = 0, k = 0;
  std::vector<float, AlignedAllocator<float>> data;

  bool empty() const { return data.empty(); }
  int64_t panels() const { return (m + kPanelRows - 1) / kPanelRows; }
  const float* panel(int64_t group, int64_t p) const { return data.data() + (group * panels() + p) * kPanelRows * k; }
};

// True when this CPU runs every packed kernel at full speed (AVX-512F).
bool packed_gemm_supported();

// True when packed_conv_tile runs on this CPU (AVX-512F, or AVX2 + FMA): the
// dense Conv packs its weights for it. On AVX2 the scattered-pixel kernel
// (packed_conv_pixels) gathers its strips one value at a time, slower than
// change mode's own path there, so change mode keeps to packed_gemm_supported.
bool packed_conv_tile_supported();

// Packs w, row-major [groups * m, k].
void pack_weights(const float* w, int64_t groups, int64_t m, int64_t k, PackedWeights& out);

// Output pixels [p0, p1) of one image and group, with no im2col buffer:
// out[m x pixels] = act(W_group * im2col(in) + bias), where in is the group's
// input [channels, D, H, W] and out its output plane block [m, oD, oH, oW].
void packed_conv_tile(const PackedWeights& w, int64_t group, const float* in, const Window& win, int64_t p0, int64_t p1,
                      float* out, const float* bias, const Activation& act);

// Floats of working memory one packed_conv_tile call uses for its strips
// (the AVX2 kernel's strip block; 0 where the strips live on the stack).
int64_t packed_conv_tile_block_floats();

// As above, with the strip block in `block` (packed_conv_tile_block_floats()
// floats, or nullptr for a per-thread buffer of its own).
void packed_conv_tile(const PackedWeights& w, int64_t group, const float* in, const Window& win, int64_t p0, int64_t p1,
                      float* out, const float* bias, const Activation& act, float* block);

// Arbitrary output pixels of one image and group (2-D windows): pixels[j] -
// pixel_base are indices into the output plane, any order. Each group of 32 pixels is
// gathered into a strip (AVX-512 masked gathers, zero where the window reads
// padding), multiplied, finished with bias and activation and scattered to
// out (the group's output plane block). `accumulator` holds
// panels() * kPanelRows * 32 floats for this call's private use.
// Suits changed pixels that form short runs, where packed_conv_tile would
// leave most of its 32 lanes idle.
void packed_conv_pixels(const PackedWeights& w, int64_t group, const float* in, const Window& win,
                        const int32_t* pixels, int64_t n, int64_t pixel_base, float* out, const float* bias,
                        const Activation& act, float* accumulator);

}  // namespace sparseinfer

// im2col / col2im over a tile of output pixels, so convolution never
// materializes the full column matrix of a large layer.
#pragma once

#include <cstdint>

#include "ops/window.h"

namespace sparseinfer {

// Fills col, a row-major [(channels * kernel volume) x (p1 - p0)] matrix
// with row stride ld, with the inputs that output pixels [p0, p1) of the
// window read from `in` ([channels, D, H, W] of one image); padding reads as zero.
void im2col_tile(const float* in, int64_t channels, const Window& w, int64_t p0, int64_t p1, float* col, int64_t ld);

// The adjoint of im2col_tile for one channel range: adds every entry of col
// (rows for channels [c0, c1), all output pixels of w) into the input
// positions it was read from. ConvTranspose = GEMM + this.
void col2im_add(const float* col, int64_t c0, int64_t c1, const Window& w, float* in);

}  // namespace sparseinfer

// CPU kernels of Skip-Conv's norm gates (Skip-Convolutions §3.2.1, §3.2.3):
// the per-pixel L1 norm of the residual between a layer's input and its
// closed-loop input state, the k x k structure of the gate, and the state
// update of the pixels a gate accepted.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/change_set.h"

namespace sparseinfer {

// Sets flags[n*H*W + y*W + x] = 1 where scale * sum_c |input - state| > threshold
// (eq. 5 with scale 1, eq. 7 with the weight norm as scale; L1 as in §3.2.1).
// Only `candidates` are examined (every pixel when All); others stay 0. The
// state is not touched: a structured gate first widens the choice to cells.
void residual_norm_flags(const float* input, const float* state, int64_t batch, int64_t channels, int64_t height,
                         int64_t width, const ChangeSet& candidates, float scale, float threshold,
                         std::vector<uint8_t>& flags, int threads);

// §3.2.3 structured gate: max-pool of the per-pixel decisions over cells of
// `cell` x `cell` pixels (from the top-left corner; edge cells are cut)
// followed by nearest upsampling, i.e. a cell with any flagged pixel gets
// every pixel flagged. The max of the norms exceeds the threshold exactly when
// one of them does, so pooling the decisions equals pooling the norms.
void pool_flags_to_cells(std::vector<uint8_t>& flags, int64_t batch, int64_t height, int64_t width, int64_t cell);

// Closed loop: state = input at the listed pixels (all channels).
void copy_pixels(const float* input, float* state, int64_t channels, int64_t height, int64_t width,
                 const std::vector<int32_t>& pixels, int threads);

}  // namespace sparseinfer

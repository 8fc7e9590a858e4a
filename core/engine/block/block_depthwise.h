// Depthwise convolution on the executed blocks straight from the stored input
// map (BlockCopy §3.1: the halo comes from the neighbours' stored features).
// Per channel and block the patch is copied into an L1-sized buffer, split
// into its stride phases, and the taps are summed into the block's cell of
// the stacked output: one pass instead of gather, the dense kernel's own
// padded copy, and a compaction.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/block/block_layout.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

namespace sparseinfer {

// Strides 1 or 2. map: the layer's input [C, in_h, in_w]; weights [C, 1, kh, kw] (channel
// multiplier 1); out: [C, cell_h, blocks.size() * cell_w], block j's output
// cell at columns j * cell_w (cells past the map edge hold values computed
// on zero padding).
void block_depthwise(const float* map, const ConvGeometry& g, const std::vector<BlockRef>& blocks, int64_t cell_h,
                     int64_t cell_w, const float* weights, const float* bias, const Activation& act, float* out,
                     int threads);

}  // namespace sparseinfer

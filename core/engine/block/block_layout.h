// How the block grid of the network input maps onto every feature map
// (BlockCopy §3.1: the grid follows each layer's stride), and the copies
// between full maps and stacked patches of executed blocks. Patches are
// stacked vertically into one image [C, N * pitch, width], so a dense kernel
// runs once per layer over all executed blocks.
#pragma once

#include <cstdint>
#include <vector>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

// One executed block, by grid position.
struct BlockRef {
  int64_t row = 0, col = 0;
};

// A value's place in the grid. `blocked`: a [1, C, H, W] map whose stride s
// from the network input divides the block size, so every block covers
// block/s x block/s of its pixels; other values (deep maps coarser than a
// block, vectors, detection lists) are computed whole.
struct CellLayout {
  bool blocked = false;
  int64_t channels = 0, height = 0, width = 0;
  int64_t cell_h = 0, cell_w = 0;
};

// rows x cols: the input grid, block: its side in input pixels.
CellLayout cell_layout(const Shape& shape, int64_t in_h, int64_t in_w, int64_t block, int64_t rows, int64_t cols);

// Where a block's patch starts and how big it is: block (r, c) reads rows
// r * step_h - offset_h ... + patch_h - 1 (likewise columns); each patch
// occupies `pitch_w` >= patch_w columns of the stacked image (extra columns
// and pixels outside the map hold pad_value).
struct PatchGeometry {
  int64_t step_h = 1, step_w = 1;
  int64_t offset_h = 0, offset_w = 0;
  int64_t patch_h = 1, patch_w = 1;
  int64_t pitch_w = 1;
};

// map [C, H, W] -> stacked [C, patch_h, blocks.size() * pitch_w].
void gather_patches(const float* map, int64_t channels, int64_t height, int64_t width,
                    const std::vector<BlockRef>& blocks, const PatchGeometry& g, float pad_value, float* stacked,
                    int threads);

// stacked [C, cell_h, stacked_width] -> map [C, H, W]: block j's cell starts
// at stacked column j * pitch_w; block (r, c) writes its cell_h x cell_w cell
// at (r * cell_h, c * cell_w), cut at the map edge.
void scatter_cells(const float* stacked, int64_t stacked_width, int64_t channels, int64_t height, int64_t width,
                   const std::vector<BlockRef>& blocks, int64_t cell_h, int64_t cell_w, int64_t pitch_w, float* map,
                   int threads);

// Copies the cells of `blocks` from src to dst, both [C, H, W].
void copy_cells(const float* src, int64_t channels, int64_t height, int64_t width, const std::vector<BlockRef>& blocks,
                int64_t cell_h, int64_t cell_w, float* dst, int threads);

}  // namespace sparseinfer

#include "engine/block/block_layout.h"

#include <algorithm>
#include <cstring>

#include "util/parallel.h"

namespace sparseinfer {

CellLayout cell_layout(const Shape& shape, int64_t in_h, int64_t in_w, int64_t block, int64_t rows, int64_t cols) {
  CellLayout l;
  if (shape.size() != 4 || shape[0] != 1 || shape[2] <= 0 || shape[3] <= 0) return l;
  l.channels = shape[1];
  l.height = shape[2];
  l.width = shape[3];
  if (in_h % l.height != 0 || in_w % l.width != 0) return l;
  const int64_t sh = in_h / l.height, sw = in_w / l.width;
  if (block % sh != 0 || block % sw != 0) return l;
  l.cell_h = block / sh;
  l.cell_w = block / sw;
  // Deep maps with odd sizes (ceil division) can give a grid of another shape.
  if ((l.height + l.cell_h - 1) / l.cell_h != rows || (l.width + l.cell_w - 1) / l.cell_w != cols) return l;
  l.blocked = true;
  return l;
}

void gather_patches(const float* map, int64_t channels, int64_t height, int64_t width,
                    const std::vector<BlockRef>& blocks, const PatchGeometry& g, float pad_value, float* stacked,
                    int threads) {
  const int64_t n = static_cast<int64_t>(blocks.size());
  const int64_t row_len = n * g.pitch_w, plane = g.patch_h * row_len;
  // Small copies are not worth waking a second thread for.
  if (channels * plane < 32768) threads = 1;
  parallel_for(channels, threads, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float* src = map + c * height * width;
      for (int64_t y = 0; y < g.patch_h; ++y) {
        float* row = stacked + c * plane + y * row_len;
        for (int64_t j = 0; j < n; ++j) {
          float* seg = row + j * g.pitch_w;
          const int64_t iy = blocks[j].row * g.step_h - g.offset_h + y;
          const int64_t x0 = blocks[j].col * g.step_w - g.offset_w;
          // Columns of the patch that fall inside the map.
          const int64_t xa = std::clamp<int64_t>(-x0, 0, g.patch_w);
          const int64_t xb = std::clamp<int64_t>(width - x0, xa, g.patch_w);
          if (iy < 0 || iy >= height || xa == xb) {
            std::fill(seg, seg + g.pitch_w, pad_value);
            continue;
          }
          std::fill(seg, seg + xa, pad_value);
          const float* in = src + iy * width + x0;
          for (int64_t x = xa; x < xb; ++x) seg[x] = in[x];
          std::fill(seg + xb, seg + g.pitch_w, pad_value);
        }
      }
    }
  });
}

namespace {

// One channel's cells; CW > 0 fixes the cell width, so the short rows of deep
// layers (1-4 pixels) copy without a loop per row.
template <int64_t CW>
void scatter_channel(const float* src, int64_t stacked_width, int64_t height, int64_t width,
                     const std::vector<BlockRef>& blocks, int64_t cell_h, int64_t cell_w, int64_t pitch_w, float* dst) {
  for (int64_t j = 0; j < static_cast<int64_t>(blocks.size()); ++j) {
    const int64_t y0 = blocks[j].row * cell_h, x0 = blocks[j].col * cell_w;
    const int64_t rows = std::min(cell_h, height - y0), cols = std::min(cell_w, width - x0);
    for (int64_t y = 0; y < rows; ++y) {
      const float* from = src + y * stacked_width + j * pitch_w;
      float* to = dst + (y0 + y) * width + x0;
      if (CW > 0 && cols == CW)
        for (int64_t x = 0; x < CW; ++x) to[x] = from[x];
      else
        for (int64_t x = 0; x < cols; ++x) to[x] = from[x];
    }
  }
}

}  // namespace

void scatter_cells(const float* stacked, int64_t stacked_width, int64_t channels, int64_t height, int64_t width,
                   const std::vector<BlockRef>& blocks, int64_t cell_h, int64_t cell_w, int64_t pitch_w, float* map,
                   int threads) {
  const int64_t plane = cell_h * stacked_width;
  if (channels * plane < 32768) threads = 1;
  auto channel = scatter_channel<0>;
  switch (cell_w) {
    case 1:
      channel = scatter_channel<1>;
      break;
    case 2:
      channel = scatter_channel<2>;
      break;
    case 4:
      channel = scatter_channel<4>;
      break;
    case 8:
      channel = scatter_channel<8>;
      break;
    case 16:
      channel = scatter_channel<16>;
      break;
    default:
      break;
  }
  parallel_for(channels, threads, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      channel(stacked + c * plane, stacked_width, height, width, blocks, cell_h, cell_w, pitch_w,
              map + c * height * width);
  });
}

void copy_cells(const float* src, int64_t channels, int64_t height, int64_t width, const std::vector<BlockRef>& blocks,
                int64_t cell_h, int64_t cell_w, float* dst, int threads) {
  if (channels * static_cast<int64_t>(blocks.size()) * cell_h * cell_w < 32768) threads = 1;
  parallel_for(channels, threads, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (const BlockRef& b : blocks) {
        const int64_t y0 = b.row * cell_h, x0 = b.col * cell_w;
        const int64_t rows = std::min(cell_h, height - y0), cols = std::min(cell_w, width - x0);
        for (int64_t y = 0; y < rows; ++y) {
          const int64_t at = c * height * width + (y0 + y) * width + x0;
          std::memcpy(dst + at, src + at, static_cast<size_t>(cols) * sizeof(float));
        }
      }
  });
}

}  // namespace sparseinfer

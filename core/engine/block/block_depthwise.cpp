#include "engine/block/block_depthwise.h"

#include <algorithm>

#include "cpu/epilogue.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

// A block's patch split into stride phases: output (oy, ox) of tap t reads
// phase plane `plane[t]` at (oy + row[t], ox + col[t]), a fixed offset, so
// every tap is a contiguous run over an output row. Stride-1 blocks inside
// the map need no copy: their taps read the map itself.
struct PhaseTaps {
  int64_t sh = 1, sw = 1;
  int64_t patch_h = 0, patch_w = 0;  // input pixels a cell reads
  int64_t rows = 0, cols = 0;        // of one phase plane
  std::vector<int64_t> offset;       // per tap, in the phase planes: plane * rows * cols + row * cols + col
  std::vector<int64_t> map_offset;   // per tap, in the map (stride 1): row * in_w + col
};

PhaseTaps phase_taps(const ConvGeometry& g, int64_t cell_h, int64_t cell_w) {
  PhaseTaps p;
  p.sh = g.stride_h;
  p.sw = g.stride_w;
  p.patch_h = (cell_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1;
  p.patch_w = (cell_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1;
  p.rows = (p.patch_h + p.sh - 1) / p.sh;
  p.cols = (p.patch_w + p.sw - 1) / p.sw;
  for (int64_t i = 0; i < g.kernel_h; ++i)
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      const int64_t y = i * g.dilation_h, x = j * g.dilation_w;
      const int64_t plane = (y % p.sh) * p.sw + x % p.sw;
      p.offset.push_back(plane * p.rows * p.cols + (y / p.sh) * p.cols + x / p.sw);
      p.map_offset.push_back(y * g.in_w + x);
    }
  return p;
}

// planes <- the patch at (iy0, ix0) of one channel's map, zero outside it.
// Strides are 1 or 2 (checked by the caller).
inline void load_patch(const float* map, int64_t height, int64_t width, int64_t iy0, int64_t ix0, const PhaseTaps& p,
                       float* planes) {
  const int64_t plane = p.rows * p.cols;
  const int64_t xa = std::clamp<int64_t>(-ix0, 0, p.patch_w), xb = std::clamp<int64_t>(width - ix0, xa, p.patch_w);
  for (int64_t y = 0; y < p.patch_h; ++y) {
    const int64_t iy = iy0 + y;
    const int64_t phase = p.sh == 2 ? (y & 1) : 0, yy = p.sh == 2 ? (y >> 1) : y;
    float* dst = planes + phase * p.sw * plane + yy * p.cols;
    if (iy < 0 || iy >= height) {
      for (int64_t b = 0; b < p.sw; ++b)
        for (int64_t x = 0; x < p.cols; ++x) dst[b * plane + x] = 0.0f;
      continue;
    }
    const float* row = map + iy * width + ix0;
    if (p.sw == 1) {
      for (int64_t x = 0; x < p.patch_w; ++x) dst[x] = x >= xa && x < xb ? row[x] : 0.0f;
      continue;
    }
    float* odd = dst + plane;
    if (xa == 0 && xb == p.patch_w) {
      const int64_t pairs = p.patch_w / 2;
      for (int64_t x = 0; x < pairs; ++x) {
        dst[x] = row[2 * x];
        odd[x] = row[2 * x + 1];
      }
      if (p.patch_w & 1) dst[pairs] = row[p.patch_w - 1];
      continue;
    }
    for (int64_t x = 0; x < p.patch_w; ++x) (x & 1 ? odd : dst)[x >> 1] = x >= xa && x < xb ? row[x] : 0.0f;
    // A plane's last column past the patch (odd widths) is read by no valid output.
  }
}

// One channel of one block: tap t of output row oy reads src + offs[t] + oy * pitch.
template <int64_t CW>
inline void cell_taps(const float* src, int64_t pitch, const int64_t* offs, const float* w, int taps, float bias,
                      int64_t cell_h, int64_t cell_w, float* out, int64_t out_pitch) {
  const int64_t cw = CW > 0 ? CW : cell_w;
  for (int64_t oy = 0; oy < cell_h; ++oy) {
    float acc[CW > 0 ? CW : 1];
    float* a = CW > 0 ? acc : out + oy * out_pitch;
    for (int64_t x = 0; x < cw; ++x) a[x] = bias;
    for (int t = 0; t < taps; ++t) {
      const float wv = w[t];
      const float* row = src + offs[t] + oy * pitch;
      for (int64_t x = 0; x < cw; ++x) a[x] += wv * row[x];
    }
    if (CW > 0)
      for (int64_t x = 0; x < CW; ++x) out[oy * out_pitch + x] = acc[x];
  }
}

// Everything one call needs, shared by the channel ranges.
struct DepthwiseBlocks {
  const float* map;
  const ConvGeometry* g;
  const std::vector<BlockRef>* blocks;
  int64_t cell_h, cell_w;
  const float* weights;
  const float* bias;
  const Activation* act;
  float* out;
  PhaseTaps taps;
};

template <int64_t CW>
void channel_range(const DepthwiseBlocks& d, int64_t c0, int64_t c1) {
  const ConvGeometry& g = *d.g;
  const PhaseTaps& p = d.taps;
  const int64_t n = static_cast<int64_t>(d.blocks->size());
  const int64_t pitch = n * d.cell_w, plane_out = d.cell_h * pitch;
  const int taps = static_cast<int>(g.kernel_h * g.kernel_w);
  std::vector<float> planes(static_cast<size_t>(p.sh * p.sw * p.rows * p.cols), 0.0f);
  for (int64_t c = c0; c < c1; ++c) {
    const float* in = d.map + c * g.in_h * g.in_w;
    const float* w = d.weights + c * taps;
    const float b = d.bias ? d.bias[c] : 0.0f;
    float* o = d.out + c * plane_out;
    for (int64_t j = 0; j < n; ++j) {
      const BlockRef& blk = (*d.blocks)[static_cast<size_t>(j)];
      const int64_t iy0 = blk.row * d.cell_h * g.stride_h - g.pad_top;
      const int64_t ix0 = blk.col * d.cell_w * g.stride_w - g.pad_left;
      if (p.sh == 1 && p.sw == 1 && iy0 >= 0 && ix0 >= 0 && iy0 + p.patch_h <= g.in_h && ix0 + p.patch_w <= g.in_w) {
        cell_taps<CW>(in + iy0 * g.in_w + ix0, g.in_w, p.map_offset.data(), w, taps, b, d.cell_h, d.cell_w,
                      o + j * d.cell_w, pitch);
        continue;
      }
      load_patch(in, g.in_h, g.in_w, iy0, ix0, p, planes.data());
      cell_taps<CW>(planes.data(), p.cols, p.offset.data(), w, taps, b, d.cell_h, d.cell_w, o + j * d.cell_w, pitch);
    }
    bias_activation(o, plane_out, 0.0f, *d.act);
  }
}

using ChannelRange = void (*)(const DepthwiseBlocks&, int64_t, int64_t);

// Common cell widths get a fixed trip count: the row accumulator stays in registers.
ChannelRange pick_range(int64_t cell_w) {
  switch (cell_w) {
    case 1:
      return channel_range<1>;
    case 2:
      return channel_range<2>;
    case 4:
      return channel_range<4>;
    case 8:
      return channel_range<8>;
    case 16:
      return channel_range<16>;
    default:
      return channel_range<0>;
  }
}

}  // namespace

void block_depthwise(const float* map, const ConvGeometry& g, const std::vector<BlockRef>& blocks, int64_t cell_h,
                     int64_t cell_w, const float* weights, const float* bias, const Activation& act, float* out,
                     int threads) {
  const DepthwiseBlocks d{map, &g, &blocks, cell_h, cell_w, weights, bias, &act, out, phase_taps(g, cell_h, cell_w)};
  const ChannelRange range = pick_range(cell_w);
  if (g.in_channels * cell_h * cell_w * static_cast<int64_t>(blocks.size()) < 32768) threads = 1;
  parallel_for(g.in_channels, threads, [&](int64_t c0, int64_t c1) { range(d, c0, c1); });
}

}  // namespace sparseinfer

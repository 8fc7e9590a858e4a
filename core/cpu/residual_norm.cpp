#include "cpu/residual_norm.h"

#include <algorithm>
#include <cmath>

#include "util/parallel.h"

namespace sparseinfer {

void residual_norm_flags(const float* input, const float* state, int64_t batch, int64_t channels, int64_t height,
                         int64_t width, const ChangeSet& candidates, float scale, float threshold,
                         std::vector<uint8_t>& flags, int threads) {
  const int64_t hw = height * width;
  flags.resize(static_cast<size_t>(batch * hw));
  if (candidates.kind == ChangeSet::Kind::None) return;

  // As detect_changes: few candidates walk the channels of each pixel; many
  // (or All) are marked and summed plane by plane so the loads stay contiguous.
  const bool masked =
      candidates.kind == ChangeSet::Kind::Pixels && static_cast<int64_t>(candidates.pixels.size()) * 8 > batch * hw;
  if (masked)
    for (int32_t p : candidates.pixels) flags[static_cast<size_t>(p)] = 1;

  if (candidates.kind == ChangeSet::Kind::Pixels && !masked) {
    parallel_for(static_cast<int64_t>(candidates.pixels.size()), candidates.pixels.size() > 4096 ? threads : 1,
                 [&](int64_t b, int64_t e) {
                   for (int64_t j = b; j < e; ++j) {
                     const int64_t p = candidates.pixels[static_cast<size_t>(j)];
                     const int64_t n = p / hw, q = p % hw;
                     const float* in = input + n * channels * hw + q;
                     const float* st = state + n * channels * hw + q;
                     float norm = 0.0f;
                     for (int64_t c = 0; c < channels; ++c) norm += std::fabs(in[c * hw] - st[c * hw]);
                     if (scale * norm > threshold) flags[static_cast<size_t>(p)] = 1;
                   }
                 });
    return;
  }

  constexpr int64_t kChunk = 1024;
  const int64_t chunks = (hw + kChunk - 1) / kChunk;
  parallel_for(batch * chunks, threads, [&](int64_t b, int64_t e) {
    float norm[kChunk];
    for (int64_t t = b; t < e; ++t) {
      const int64_t n = t / chunks, p0 = (t % chunks) * kChunk, len = std::min(kChunk, hw - p0);
      std::fill(norm, norm + len, 0.0f);
      for (int64_t c = 0; c < channels; ++c) {
        const float* in = input + (n * channels + c) * hw + p0;
        const float* st = state + (n * channels + c) * hw + p0;
        for (int64_t i = 0; i < len; ++i) norm[i] += std::fabs(in[i] - st[i]);
      }
      uint8_t* f = flags.data() + n * hw + p0;
      for (int64_t i = 0; i < len; ++i) f[i] = (masked ? f[i] != 0 : true) && scale * norm[i] > threshold;
    }
  });
}

void pool_flags_to_cells(std::vector<uint8_t>& flags, int64_t batch, int64_t height, int64_t width, int64_t cell) {
  if (cell <= 1) return;
  const int64_t hw = height * width;
  for (int64_t n = 0; n < batch; ++n) {
    uint8_t* f = flags.data() + n * hw;
    for (int64_t y0 = 0; y0 < height; y0 += cell) {
      const int64_t y1 = std::min(height, y0 + cell);
      for (int64_t x0 = 0; x0 < width; x0 += cell) {
        const int64_t x1 = std::min(width, x0 + cell);
        bool any = false;
        for (int64_t y = y0; y < y1 && !any; ++y)
          for (int64_t x = x0; x < x1; ++x) any |= f[y * width + x] != 0;
        if (!any) continue;
        for (int64_t y = y0; y < y1; ++y) std::fill(f + y * width + x0, f + y * width + x1, uint8_t(1));
      }
    }
  }
}

void copy_pixels(const float* input, float* state, int64_t channels, int64_t height, int64_t width,
                 const std::vector<int32_t>& pixels, int threads) {
  const int64_t hw = height * width;
  parallel_for(static_cast<int64_t>(pixels.size()), pixels.size() > 4096 ? threads : 1, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t p = pixels[static_cast<size_t>(j)];
      const int64_t n = p / hw, q = p % hw;
      const float* in = input + n * channels * hw + q;
      float* st = state + n * channels * hw + q;
      for (int64_t c = 0; c < channels; ++c) st[c * hw] = in[c * hw];
    }
  });
}

}  // namespace sparseinfer

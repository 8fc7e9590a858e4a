#include "cpu/change_pool.h"

#include <algorithm>
#include <limits>

#include "util/parallel.h"

namespace sparseinfer {

void pool_at_pixels(const float* input, PoolKind kind, bool count_include_pad, const ConvGeometry& g,
                    const int32_t* pixels, int64_t n, float* output, int threads) {
  const int64_t out_hw = g.out_h * g.out_w, in_hw = g.in_h * g.in_w;
  parallel_for(n, n > 512 ? threads : 1, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t p = pixels[j], nb = p / out_hw, q = p % out_hw, oy = q / g.out_w, ox = q % g.out_w;
      const int64_t y0 = oy * g.stride_h - g.pad_top, x0 = ox * g.stride_w - g.pad_left;
      // Window bounds inside the input, and inside the padded input for count_include_pad.
      int64_t valid = 0, padded = 0;
      for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
        int64_t iy = y0 + ky * g.dilation_h;
        if (iy >= g.in_h + g.pad_bottom) continue;
        for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
          int64_t ix = x0 + kx * g.dilation_w;
          if (ix >= g.in_w + g.pad_right) continue;
          ++padded;
          if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w) ++valid;
        }
      }
      for (int64_t c = 0; c < g.in_channels; ++c) {
        const float* plane = input + (nb * g.in_channels + c) * in_hw;
        float acc = kind == PoolKind::Max ? -std::numeric_limits<float>::infinity() : 0.0f;
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          int64_t iy = y0 + ky * g.dilation_h;
          if (iy < 0 || iy >= g.in_h) continue;
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            int64_t ix = x0 + kx * g.dilation_w;
            if (ix < 0 || ix >= g.in_w) continue;
            float v = plane[iy * g.in_w + ix];
            acc = kind == PoolKind::Max ? std::max(acc, v) : acc + v;
          }
        }
        if (kind == PoolKind::Average)
          acc /= static_cast<float>(count_include_pad ? padded : std::max<int64_t>(valid, 1));
        output[(nb * g.out_channels + c) * out_hw + q] = acc;
      }
    }
  });
}

}  // namespace sparseinfer

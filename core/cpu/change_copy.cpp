#include "cpu/change_copy.h"

#include <cstddef>

#include "util/parallel.h"

namespace sparseinfer {

void concat_at_pixels(const std::vector<const float*>& inputs, const std::vector<int64_t>& channels, int64_t hw,
                      const int32_t* pixels, int64_t n, float* output, int threads) {
  int64_t out_channels = 0;
  for (int64_t c : channels) out_channels += c;
  parallel_for(n, n > 1024 ? threads : 1, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t p = pixels[j], nb = p / hw, q = p % hw;
      float* dst = output + nb * out_channels * hw + q;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const float* src = inputs[i] + nb * channels[i] * hw + q;
        for (int64_t c = 0; c < channels[i]; ++c) dst[c * hw] = src[c * hw];
        dst += channels[i] * hw;
      }
    }
  });
}

void mark_upsampled_outputs(const ChangeSet& changed_inputs, const UpsampleGeometry& g,
                            std::vector<uint8_t>& out_flags) {
  const int64_t in_hw = g.in_h * g.in_w, out_w = g.out_w(), out_hw = g.out_h() * out_w;
  out_flags.resize(static_cast<std::size_t>(g.batch * out_hw));
  for (int32_t p : changed_inputs.pixels) {
    const int64_t nb = p / in_hw, iy = (p % in_hw) / g.in_w, ix = p % g.in_w;
    uint8_t* f = out_flags.data() + nb * out_hw;
    for (int64_t oy = iy * g.sy; oy < (iy + 1) * g.sy; ++oy)
      for (int64_t ox = ix * g.sx; ox < (ix + 1) * g.sx; ++ox) f[oy * out_w + ox] = 1;
  }
}

void upsample_nearest_at_pixels(const float* input, const UpsampleGeometry& g, const int32_t* pixels, int64_t n,
                                float* output, int threads) {
  const int64_t in_hw = g.in_h * g.in_w, out_w = g.out_w(), out_hw = g.out_h() * out_w;
  parallel_for(n, n > 1024 ? threads : 1, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t p = pixels[j], nb = p / out_hw, q = p % out_hw;
      const int64_t src_q = (q / out_w) / g.sy * g.in_w + (q % out_w) / g.sx;
      const float* src = input + nb * g.channels * in_hw + src_q;
      float* dst = output + nb * g.channels * out_hw + q;
      for (int64_t c = 0; c < g.channels; ++c) dst[c * out_hw] = src[c * in_hw];
    }
  });
}

}  // namespace sparseinfer

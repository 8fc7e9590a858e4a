#include "cpu/change_resize.h"

#include <algorithm>
#include <cstddef>

#include "util/parallel.h"

namespace sparseinfer {

void index_readers(LinearTaps& taps, int64_t in_len) {
  taps.first.assign(static_cast<std::size_t>(in_len), 0);
  taps.end.assign(static_cast<std::size_t>(in_len), 0);
  const int32_t outputs = static_cast<int32_t>(taps.i0.size());
  for (int32_t o = outputs - 1; o >= 0; --o)
    for (int32_t i : {taps.i0[static_cast<std::size_t>(o)], taps.i1[static_cast<std::size_t>(o)]})
      taps.first[static_cast<std::size_t>(i)] = o;
  for (int32_t o = 0; o < outputs; ++o)
    for (int32_t i : {taps.i0[static_cast<std::size_t>(o)], taps.i1[static_cast<std::size_t>(o)]})
      taps.end[static_cast<std::size_t>(i)] = o + 1;
}

void mark_bilinear_outputs(const ChangeSet& changed_inputs, const BilinearGeometry& g,
                           std::vector<uint8_t>& out_flags) {
  const int64_t in_hw = g.in_h * g.in_w, out_hw = g.out_h * g.out_w;
  out_flags.resize(static_cast<std::size_t>(g.batch * out_hw));
  for (int32_t p : changed_inputs.pixels) {
    const int64_t nb = p / in_hw, iy = (p % in_hw) / g.in_w, ix = p % g.in_w;
    uint8_t* f = out_flags.data() + nb * out_hw;
    const int64_t x0 = g.x.first[static_cast<std::size_t>(ix)], x1 = g.x.end[static_cast<std::size_t>(ix)];
    if (x1 <= x0) continue;
    for (int64_t oy = g.y.first[static_cast<std::size_t>(iy)]; oy < g.y.end[static_cast<std::size_t>(iy)]; ++oy)
      std::fill(f + oy * g.out_w + x0, f + oy * g.out_w + x1, uint8_t{1});
  }
}

void bilinear_at_pixels(const float* input, const BilinearGeometry& g, const int32_t* pixels, int64_t n, float* output,
                        int threads) {
  const int64_t in_hw = g.in_h * g.in_w, out_hw = g.out_h * g.out_w;
  const int32_t* i0 = g.x.i0.data();
  const int32_t* i1 = g.x.i1.data();
  const float* w0 = g.x.w0.data();
  const float* w1 = g.x.w1.data();
  parallel_for(n, n > 256 ? threads : 1, [&](int64_t b, int64_t e) {
    // Runs of consecutive pixels on one output row: each channel is then one
    // contiguous pass, blended as the dense kernel blends a row (horizontal
    // taps first, then the two rows).
    for (int64_t j = b; j < e;) {
      const int64_t p = pixels[j], nb = p / out_hw, q = p % out_hw, oy = q / g.out_w, ox0 = q % g.out_w;
      int64_t k = j + 1;
      while (k < e && pixels[k] == pixels[k - 1] + 1 && (pixels[k] % out_hw) % g.out_w != 0) ++k;
      const int64_t ox1 = ox0 + (k - j);
      const int64_t ya = g.y.i0[static_cast<std::size_t>(oy)], yb = g.y.i1[static_cast<std::size_t>(oy)];
      const float wa = g.y.w0[static_cast<std::size_t>(oy)], wb = g.y.w1[static_cast<std::size_t>(oy)];
      for (int64_t c = 0; c < g.channels; ++c) {
        const float* plane = input + (nb * g.channels + c) * in_hw;
        const float* ra = plane + ya * g.in_w;
        const float* rb = plane + yb * g.in_w;
        float* d = output + (nb * g.channels + c) * out_hw + oy * g.out_w;
        for (int64_t o = ox0; o < ox1; ++o) {
          const float a = w0[o] * ra[i0[o]] + w1[o] * ra[i1[o]];
          const float bb = w0[o] * rb[i0[o]] + w1[o] * rb[i1[o]];
          d[o] = wa * a + wb * bb;
        }
      }
      j = k;
    }
  });
}

}  // namespace sparseinfer

#include "cpu/change_conv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "util/parallel.h"

namespace sparseinfer {

void detect_changes(const float* input, float* state, int64_t batch, int64_t channels, int64_t height, int64_t width,
                    const ChangeSet& candidates, float threshold, std::vector<uint8_t>& flags, int threads) {
  const int64_t hw = height * width;
  flags.resize(static_cast<size_t>(batch * hw));
  if (candidates.kind == ChangeSet::Kind::None) return;

  // Many candidates (a frame that changed almost everywhere, the second after a
  // reset): strided walks over the channels of each pixel miss the TLB on
  // every load at 4K, so mark them and take the contiguous plane-wise path.
  const bool masked =
      candidates.kind == ChangeSet::Kind::Pixels && static_cast<int64_t>(candidates.pixels.size()) * 8 > batch * hw;
  if (masked)
    for (int32_t p : candidates.pixels) flags[static_cast<size_t>(p)] = 1;

  if (candidates.kind == ChangeSet::Kind::Pixels && !masked) {
    // Few pixels: walk the channels of each one (strided, but little data).
    parallel_for(static_cast<int64_t>(candidates.pixels.size()), candidates.pixels.size() > 4096 ? threads : 1,
                 [&](int64_t b, int64_t e) {
                   for (int64_t j = b; j < e; ++j) {
                     const int64_t p = candidates.pixels[static_cast<size_t>(j)];
                     const int64_t n = p / hw, q = p % hw;
                     const float* in = input + n * channels * hw + q;
                     float* st = state + n * channels * hw + q;
                     float diff = 0.0f;
                     for (int64_t c = 0; c < channels; ++c) diff = std::max(diff, std::fabs(in[c * hw] - st[c * hw]));
                     if (diff > threshold) {
                       flags[static_cast<size_t>(p)] = 1;
                       for (int64_t c = 0; c < channels; ++c) st[c * hw] = in[c * hw];
                     }
                   }
                 });
    return;
  }

  // Every pixel (or the marked ones): plane by plane over chunks of pixels so the loads stay contiguous.
  constexpr int64_t kChunk = 1024;
  const int64_t chunks = (hw + kChunk - 1) / kChunk;
  parallel_for(batch * chunks, threads, [&](int64_t b, int64_t e) {
    float maxdiff[kChunk];
    for (int64_t t = b; t < e; ++t) {
      const int64_t n = t / chunks, p0 = (t % chunks) * kChunk, len = std::min(kChunk, hw - p0);
      std::fill(maxdiff, maxdiff + len, 0.0f);
      for (int64_t c = 0; c < channels; ++c) {
        const float* in = input + (n * channels + c) * hw + p0;
        const float* st = state + (n * channels + c) * hw + p0;
        for (int64_t i = 0; i < len; ++i) maxdiff[i] = std::max(maxdiff[i], std::fabs(in[i] - st[i]));
      }
      uint8_t* f = flags.data() + n * hw + p0;
      bool any = false;
      for (int64_t i = 0; i < len; ++i) {
        f[i] = (masked ? f[i] != 0 : true) && maxdiff[i] > threshold;
        any |= f[i] != 0;
      }
      if (!any) continue;
      for (int64_t c = 0; c < channels; ++c) {
        const float* in = input + (n * channels + c) * hw + p0;
        float* st = state + (n * channels + c) * hw + p0;
        for (int64_t i = 0; i < len; ++i)
          if (f[i]) st[i] = in[i];
      }
    }
  });
}

void mark_affected_outputs(const ChangeSet& changed_inputs, const ConvGeometry& g, std::vector<uint8_t>& out_flags) {
  const int64_t in_hw = g.in_h * g.in_w, out_hw = g.out_h * g.out_w;
  out_flags.resize(static_cast<size_t>(g.batch * out_hw));
  // Output rows/columns reached from input row iy: oy*stride - pad + k*dilation == iy.
  auto reach = [](int64_t i, int64_t pad, int64_t k_count, int64_t dil, int64_t stride, int64_t out, int64_t* list) {
    int count = 0;
    for (int64_t k = 0; k < k_count; ++k) {
      int64_t t = i + pad - k * dil;
      if (t < 0 || t % stride) continue;
      int64_t o = t / stride;
      if (o < out) list[count++] = o;
    }
    return count;
  };
  std::vector<int64_t> rows(static_cast<size_t>(g.kernel_h)), cols(static_cast<size_t>(g.kernel_w));
  for (int32_t p : changed_inputs.pixels) {
    const int64_t n = p / in_hw, iy = (p % in_hw) / g.in_w, ix = p % g.in_w;
    int nr = reach(iy, g.pad_top, g.kernel_h, g.dilation_h, g.stride_h, g.out_h, rows.data());
    int nc = reach(ix, g.pad_left, g.kernel_w, g.dilation_w, g.stride_w, g.out_w, cols.data());
    uint8_t* f = out_flags.data() + n * out_hw;
    for (int r = 0; r < nr; ++r)
      for (int c = 0; c < nc; ++c) f[rows[static_cast<size_t>(r)] * g.out_w + cols[static_cast<size_t>(c)]] = 1;
  }
}

void gather_patches(const float* input, const ConvGeometry& g, int64_t grp, const int32_t* pixels, int64_t n,
                    float* patches, int threads) {
  const int64_t cin_g = g.in_channels / g.group, out_hw = g.out_h * g.out_w, k = g.patch_size();
  parallel_for(n, threads, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t p = pixels[j], nb = p / out_hw, oy = (p % out_hw) / g.out_w, ox = p % g.out_w;
      float* row = patches + j * k;
      const int64_t y0 = oy * g.stride_h - g.pad_top, x0 = ox * g.stride_w - g.pad_left;
      for (int64_t c = 0; c < cin_g; ++c) {
        const float* plane = input + ((nb * g.in_channels) + grp * cin_g + c) * g.in_h * g.in_w;
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          const int64_t iy = y0 + ky * g.dilation_h;
          float* dst = row + (c * g.kernel_h + ky) * g.kernel_w;
          if (iy < 0 || iy >= g.in_h) {
            std::memset(dst, 0, static_cast<size_t>(g.kernel_w) * sizeof(float));
            continue;
          }
          const float* src = plane + iy * g.in_w;
          if (g.dilation_w == 1 && x0 >= 0 && x0 + g.kernel_w <= g.in_w) {
            std::memcpy(dst, src + x0, static_cast<size_t>(g.kernel_w) * sizeof(float));
            continue;
          }
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            const int64_t ix = x0 + kx * g.dilation_w;
            dst[kx] = ix >= 0 && ix < g.in_w ? src[ix] : 0.0f;
          }
        }
      }
    }
  });
}

void scatter_outputs(const float* Y, const float* bias, const Activation& act, const ConvGeometry& g, int64_t grp,
                     const int32_t* pixels, int64_t n, float* output, int threads) {
  const int64_t cout_g = g.out_channels / g.group, out_hw = g.out_h * g.out_w;
  parallel_for(cout_g, n * cout_g > 16384 ? threads : 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t oc = grp * cout_g + c;
      const float bv = bias ? bias[oc] : 0.0f;
      const float* y = Y + c * n;
      for (int64_t j = 0; j < n; ++j) {
        const int64_t p = pixels[j], nb = p / out_hw;
        output[(nb * g.out_channels + oc) * out_hw + p % out_hw] = act.apply(y[j] + bv);
      }
    }
  });
}

void depthwise_at_pixels(const float* input, const float* weights, const float* bias, const Activation& act,
                         const ConvGeometry& g, const int32_t* pixels, int64_t n, float* output, int threads) {
  const int64_t out_hw = g.out_h * g.out_w, in_hw = g.in_h * g.in_w, kk = g.kernel_h * g.kernel_w;
  parallel_for(n, n > 256 ? threads : 1, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const int64_t p = pixels[j], nb = p / out_hw, q = p % out_hw, oy = q / g.out_w, ox = q % g.out_w;
      const int64_t y0 = oy * g.stride_h - g.pad_top, x0 = ox * g.stride_w - g.pad_left;
      for (int64_t c = 0; c < g.out_channels; ++c) {
        const float* plane = input + (nb * g.in_channels + c) * in_hw;
        const float* w = weights + c * kk;
        float sum = bias ? bias[c] : 0.0f;
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          const int64_t iy = y0 + ky * g.dilation_h;
          if (iy < 0 || iy >= g.in_h) continue;
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            const int64_t ix = x0 + kx * g.dilation_w;
            if (ix >= 0 && ix < g.in_w) sum += w[ky * g.kernel_w + kx] * plane[iy * g.in_w + ix];
          }
        }
        output[(nb * g.out_channels + c) * out_hw + q] = act.apply(sum);
      }
    }
  });
}

}  // namespace sparseinfer

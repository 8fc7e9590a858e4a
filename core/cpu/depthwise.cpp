#include "cpu/depthwise.h"

// GCC 12's _mm512 intrinsics trip -Wmaybe-uninitialized in its own header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "cpu/activation_avx2.h"
#include "cpu/epilogue.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

// Accumulates one kernel tap over an output row: orow[j] += wv * irow[iw0 + j * stride] where in range.
template <int64_t Stride>
inline void tap_row(float* __restrict orow, const float* __restrict irow, float wv, int64_t iw0, int64_t lo,
                    int64_t hi) {
  for (int64_t j = lo; j < hi; ++j) orow[j] += wv * irow[iw0 + j * Stride];
}

inline void tap_row_strided(float* __restrict orow, const float* __restrict irow, float wv, int64_t iw0, int64_t stride,
                            int64_t lo, int64_t hi) {
  for (int64_t j = lo; j < hi; ++j) orow[j] += wv * irow[iw0 + j * stride];
}

void depthwise_channel(const float* in, const float* wk, float bias, float* out, const Window& w,
                       const Activation& act) {
  const int64_t in_d = w.in[0], in_h = w.in[1], in_w = w.in[2];
  const int64_t out_w = w.out[2];
  const int64_t sw = w.stride[2];
  for (int64_t od = 0; od < w.out[0]; ++od)
    for (int64_t oh = 0; oh < w.out[1]; ++oh) {
      float* orow = out + (od * w.out[1] + oh) * out_w;
      std::fill(orow, orow + out_w, bias);
      for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
        const int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
        if (id < 0 || id >= in_d) continue;
        for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
          const int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
          if (ih < 0 || ih >= in_h) continue;
          const float* irow = in + (id * in_h + ih) * in_w;
          const float* wrow = wk + (kd * w.kernel[1] + kh) * w.kernel[2];
          for (int64_t kw = 0; kw < w.kernel[2]; ++kw) {
            const int64_t iw0 = kw * w.dilation[2] - w.pad_begin[2];
            // Output columns j with 0 <= iw0 + j * sw < in_w.
            int64_t lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
            int64_t hi = iw0 >= in_w ? 0 : (in_w - iw0 + sw - 1) / sw;
            lo = std::min(lo, out_w);
            hi = std::clamp(hi, lo, out_w);
            if (sw == 1)
              tap_row<1>(orow, irow, wrow[kw], iw0, lo, hi);
            else if (sw == 2)
              tap_row<2>(orow, irow, wrow[kw], iw0, lo, hi);
            else
              tap_row_strided(orow, irow, wrow[kw], iw0, sw, lo, hi);
          }
        }
      }
      bias_activation(orow, out_w, 0.0f, act);
    }
}

constexpr int kMaxVectorTaps = 64;

// acc[i] = bias + sum_t wts[t] * src[i + offs[t]] for i in [0, n): all taps
// summed in registers, eight independent vectors to cover the FMA latency.
__attribute__((target("avx512f"))) void taps_avx512(const float* src, const int64_t* offs, const float* wts, int taps,
                                                    float bias, float* acc, int64_t n) {
#define SI_ACC_APPLY(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7)
  for (int64_t i = 0; i < n; i += 128) {
#define SI_MASK(v)                                                                           \
  const int64_t left##v = std::clamp<int64_t>(n - i - 16 * v, 0, 16);                        \
  const __mmask16 m##v = left##v == 16 ? __mmask16(0xFFFF) : __mmask16((1u << left##v) - 1); \
  __m512 a##v = _mm512_set1_ps(bias);
    SI_ACC_APPLY(SI_MASK)
#undef SI_MASK
    for (int t = 0; t < taps; ++t) {
      const __m512 wv = _mm512_set1_ps(wts[t]);
      const float* p = src + offs[t] + i;
#define SI_TAP(v) a##v = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m##v, p + 16 * v), a##v);
      SI_ACC_APPLY(SI_TAP)
#undef SI_TAP
    }
#define SI_STORE(v) _mm512_mask_storeu_ps(acc + i + 16 * v, m##v, a##v);
    SI_ACC_APPLY(SI_STORE)
#undef SI_STORE
  }
#undef SI_ACC_APPLY
}

// Row pitch of the zero-padded copy of an input plane.
int64_t padded_width(const Window& w) {
  return w.pad_begin[2] + w.in[2] + w.pad_end[2];
}

// Rows of the padded copy: every row the window reads, plus one so the
// flattened stride-1 loop may run past the last row's end.
int64_t padded_rows(const Window& w) {
  const int64_t needed = (w.out[1] - 1) * w.stride[1] + (w.kernel[1] - 1) * w.dilation[1] + 1;
  return std::max(needed, w.pad_begin[1] + w.in[1]) + 1;
}

// Whether the 2-D padded-plane path applies (the general path handles 3-D).
bool planar(const Window& w) {
  return w.in[0] == 1 && w.kernel[0] == 1 && w.out[0] == 1;
}

// 2-D channel on a zero-padded copy of its input: no bounds checks in the
// tap loops. Stride 1 runs each tap as one loop over whole rows (output
// rows laid out with the padded pitch), so small planes avoid short loops.
void depthwise_channel_padded(const float* in, const float* wk, float bias, float* out, const Window& w,
                              const Activation& act, float* pad, float* acc) {
  const int64_t pw = padded_width(w), ph = padded_rows(w);
  const int64_t in_h = w.in[1], in_w = w.in[2], top = w.pad_begin[1], left = w.pad_begin[2];
  std::fill(pad, pad + ph * pw, 0.0f);
  for (int64_t y = 0; y < in_h && top + y < ph; ++y)
    std::copy(in + y * in_w, in + (y + 1) * in_w, pad + (top + y) * pw + left);
  const int64_t oh_n = w.out[1], ow_n = w.out[2], kh_n = w.kernel[1], kw_n = w.kernel[2];
  const int64_t dh = w.dilation[1], dw = w.dilation[2];
  if (w.stride[1] == 1 && w.stride[2] == 1 && kh_n * kw_n <= kMaxVectorTaps && __builtin_cpu_supports("avx512f")) {
    int64_t offs[kMaxVectorTaps];
    for (int64_t kh = 0; kh < kh_n; ++kh)
      for (int64_t kw = 0; kw < kw_n; ++kw) offs[kh * kw_n + kw] = kh * dh * pw + kw * dw;
    const int64_t rows = std::max<int64_t>(1, 4096 / pw);
    for (int64_t r0 = 0; r0 < oh_n; r0 += rows) {
      const int64_t nrows = std::min(rows, oh_n - r0);
      taps_avx512(pad + r0 * pw, offs, wk, static_cast<int>(kh_n * kw_n), bias, acc, nrows * pw);
      for (int64_t r = 0; r < nrows; ++r) {
        float* orow = out + (r0 + r) * ow_n;
        std::copy(acc + r * pw, acc + r * pw + ow_n, orow);
        bias_activation(orow, ow_n, 0.0f, act);
      }
    }
    return;
  }
  if (w.stride[1] == 1 && w.stride[2] == 1) {
    // Chunks of output rows that keep the accumulator in L1.
    const int64_t rows = std::max<int64_t>(1, 4096 / pw);
    for (int64_t r0 = 0; r0 < oh_n; r0 += rows) {
      const int64_t n = std::min(rows, oh_n - r0) * pw;
      float* __restrict a = acc;
      std::fill(a, a + n, bias);
      for (int64_t kh = 0; kh < kh_n; ++kh)
        for (int64_t kw = 0; kw < kw_n; ++kw) {
          const float wv = wk[kh * kw_n + kw];
          const float* __restrict src = pad + (r0 + kh * dh) * pw + kw * dw;
          for (int64_t i = 0; i < n; ++i) a[i] += wv * src[i];
        }
      for (int64_t r = 0; r < std::min(rows, oh_n - r0); ++r) {
        float* orow = out + (r0 + r) * ow_n;
        std::copy(a + r * pw, a + r * pw + ow_n, orow);
        bias_activation(orow, ow_n, 0.0f, act);
      }
    }
    return;
  }
  const int64_t sh = w.stride[1], sw = w.stride[2];
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    float* __restrict orow = out + oh * ow_n;
    std::fill(orow, orow + ow_n, bias);
    for (int64_t kh = 0; kh < kh_n; ++kh) {
      const float* prow = pad + (oh * sh + kh * dh) * pw;
      for (int64_t kw = 0; kw < kw_n; ++kw) {
        const float wv = wk[kh * kw_n + kw];
        const float* __restrict src = prow + kw * dw;
        if (sw == 2)
          for (int64_t j = 0; j < ow_n; ++j) orow[j] += wv * src[2 * j];
        else
          for (int64_t j = 0; j < ow_n; ++j) orow[j] += wv * src[j * sw];
      }
    }
    bias_activation(orow, ow_n, 0.0f, act);
  }
}

// The AVX2 path: strides 1 and 2 as stride-1 sums over polyphase planes.
// With stride s, output (oh, ow) reads padded input (oh*s + a, ow*s + b) for
// the tap offsets (a, b); plane (a % s, b % s) holds every s-th row and column
// of the padded input, so that read is plane[oh + a / s][ow + b / s]: a fixed
// offset from the output position. Every tap is then one contiguous run over
// the flattened output block, summed in registers with bias and activation
// (stride 2, which a direct loop reads with gaps, costs one pass to split the
// input into the four planes).
struct PhaseGeometry {
  int64_t sh = 1, sw = 1;      // strides = phases per axis
  int64_t rows = 0, cols = 0;  // of one plane
  int64_t plane_floats = 0;    // with slack for the last row's over-read
  int64_t chunk_rows = 0;      // output rows per accumulator block (about 4096 floats)
};

PhaseGeometry phase_geometry(const Window& w) {
  PhaseGeometry g;
  g.sh = w.stride[1];
  g.sw = w.stride[2];
  const int64_t ph = (w.out[1] - 1) * g.sh + (w.kernel[1] - 1) * w.dilation[1] + 1;
  const int64_t pw = (w.out[2] - 1) * g.sw + (w.kernel[2] - 1) * w.dilation[2] + 1;
  g.rows = (ph + g.sh - 1) / g.sh;
  g.cols = (pw + g.sw - 1) / g.sw;
  g.plane_floats = (g.rows + 1) * g.cols + 64;
  g.chunk_rows = std::max<int64_t>(1, 4096 / g.cols);
  return g;
}

bool phase_path(const Window& w) {
  return planar(w) && (w.stride[1] == 1 || w.stride[1] == 2) && (w.stride[2] == 1 || w.stride[2] == 2) &&
         w.kernel[1] * w.kernel[2] <= kMaxVectorTaps && cpu_has_avx2_fma() &&
         !(w.stride[1] == 1 && w.stride[2] == 1 && __builtin_cpu_supports("avx512f"));
}

int64_t phase_scratch_floats(const Window& w) {
  const PhaseGeometry g = phase_geometry(w);
  return g.sh * g.sw * g.plane_floats + g.chunk_rows * g.cols + 64;
}

// acc[i] = act(bias + sum_t wts[t] * srcs[t][i]) for i in [0, round_up(n, 64)):
// eight independent vectors per step to cover the FMA latency, also on the
// last, partial block (a one-vector tail would wait on one FMA chain per
// tap, which small late-stage planes pay on every channel). Reads up to 63
// floats past n from each source (the planes carry slack for it) and writes
// as far into acc.
__attribute__((target("avx2,fma"))) void taps_avx2(const float* const* srcs, const float* wts, int taps, float bias,
                                                   const Activation& act, bool vector_act, float* acc, int64_t n) {
  int64_t i = 0;
  for (; i < n; i += 64) {
    __m256 a0 = _mm256_set1_ps(bias), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int t = 0; t < taps; ++t) {
      const __m256 wv = _mm256_set1_ps(wts[t]);
      const float* p = srcs[t] + i;
      a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p), a0);
      a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 8), a1);
      a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 16), a2);
      a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 24), a3);
      a4 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 32), a4);
      a5 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 40), a5);
      a6 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 48), a6);
      a7 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(p + 56), a7);
    }
    if (vector_act) {
      a0 = activate_avx2(a0, act);
      a1 = activate_avx2(a1, act);
      a2 = activate_avx2(a2, act);
      a3 = activate_avx2(a3, act);
      a4 = activate_avx2(a4, act);
      a5 = activate_avx2(a5, act);
      a6 = activate_avx2(a6, act);
      a7 = activate_avx2(a7, act);
    }
    _mm256_storeu_ps(acc + i, a0);
    _mm256_storeu_ps(acc + i + 8, a1);
    _mm256_storeu_ps(acc + i + 16, a2);
    _mm256_storeu_ps(acc + i + 24, a3);
    _mm256_storeu_ps(acc + i + 32, a4);
    _mm256_storeu_ps(acc + i + 40, a5);
    _mm256_storeu_ps(acc + i + 48, a6);
    _mm256_storeu_ps(acc + i + 56, a7);
  }
}

// One input row into the two column phases: even[x] = row[2x + o],
// odd[x] = row[2x + 1 + o] for x in [0, cols), zero outside [0, in_w).
__attribute__((target("avx2,fma"))) void split_columns(const float* row, int64_t in_w, int64_t o, int64_t cols,
                                                       float* even, float* odd) {
  // Vector blocks of 8 outputs need source columns [2x + o, 2x + o + 16) inside the row.
  const int64_t x_lo = std::min(cols, std::max<int64_t>(0, (-o + 1) / 2));
  int64_t x = 0;
  for (; x < x_lo; ++x) {
    const int64_t c = 2 * x + o;
    even[x] = c >= 0 && c < in_w ? row[c] : 0.0f;
    odd[x] = c + 1 >= 0 && c + 1 < in_w ? row[c + 1] : 0.0f;
  }
  for (; x + 8 <= cols && 2 * x + o + 16 <= in_w; x += 8) {
    const __m256 v0 = _mm256_loadu_ps(row + 2 * x + o), v1 = _mm256_loadu_ps(row + 2 * x + o + 8);
    // shuffle_ps picks within 128-bit lanes; permute4x64 restores the order.
    const __m256 e = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m256 d = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
    _mm256_storeu_ps(even + x, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
    _mm256_storeu_ps(odd + x, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(d), 0xD8)));
  }
  for (; x < cols; ++x) {
    const int64_t c = 2 * x + o;
    even[x] = c >= 0 && c < in_w ? row[c] : 0.0f;
    odd[x] = c + 1 >= 0 && c + 1 < in_w ? row[c + 1] : 0.0f;
  }
}

// dst[0, n) = src[0, n) for the short rows of late layers, where a memcpy
// call per row costs more than the copy.
__attribute__((target("avx2,fma"))) inline void copy_row(float* __restrict dst, const float* __restrict src,
                                                         int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

// Splits the zero-padded input plane into its sh * sw polyphase planes.
// `init`: the planes hold another geometry's data (the first channel of a
// call), so the padding and slack are zeroed too; later channels of the same
// layer write only what comes from the input, the zeros stay.
void build_phases(const float* in, const Window& w, const PhaseGeometry& g, float* planes, bool init) {
  const int64_t in_h = w.in[1], in_w = w.in[2], top = w.pad_begin[1], left = w.pad_begin[2];
  if (init) std::fill(planes, planes + g.sh * g.sw * g.plane_floats, 0.0f);
  if (g.sw == 2) {
    for (int64_t rp = 0; rp < g.sh; ++rp) {
      float* even = planes + (rp * 2) * g.plane_floats;
      float* odd = planes + (rp * 2 + 1) * g.plane_floats;
      for (int64_t y = 0; y < g.rows; ++y) {
        const int64_t py = y * g.sh + rp - top;
        if (py >= 0 && py < in_h)
          split_columns(in + py * in_w, in_w, -left, g.cols, even + y * g.cols, odd + y * g.cols);
      }
    }
    return;
  }
  // sw == 1: one column phase per row phase.
  const int64_t x_lo = std::min(g.cols, left), x_hi = std::clamp<int64_t>(in_w + left, x_lo, g.cols);
  for (int64_t rp = 0; rp < g.sh; ++rp) {
    float* plane = planes + rp * g.plane_floats;
    for (int64_t y = 0; y < g.rows; ++y) {
      const int64_t py = y * g.sh + rp - top;
      if (py >= 0 && py < in_h) copy_row(plane + y * g.cols + x_lo, in + py * in_w + x_lo - left, x_hi - x_lo);
    }
  }
}

void depthwise_channel_phases(const float* in, const float* wk, float bias, float* out, const Window& w,
                              const Activation& act, float* scratch, bool init) {
  const PhaseGeometry g = phase_geometry(w);
  float* acc = scratch + g.sh * g.sw * g.plane_floats;
  build_phases(in, w, g, scratch, init);
  const int64_t kh_n = w.kernel[1], kw_n = w.kernel[2], oh_n = w.out[1], ow_n = w.out[2];
  const float* srcs[kMaxVectorTaps];
  const bool vector_act = has_avx2_form(act.kind);
  for (int64_t r0 = 0; r0 < oh_n; r0 += g.chunk_rows) {
    const int64_t nrows = std::min(g.chunk_rows, oh_n - r0);
    for (int64_t kh = 0; kh < kh_n; ++kh)
      for (int64_t kw = 0; kw < kw_n; ++kw) {
        const int64_t a = kh * w.dilation[1], b = kw * w.dilation[2];
        const float* plane = scratch + ((a % g.sh) * g.sw + b % g.sw) * g.plane_floats;
        srcs[kh * kw_n + kw] = plane + (r0 + a / g.sh) * g.cols + b / g.sw;
      }
    taps_avx2(srcs, wk, static_cast<int>(kh_n * kw_n), bias, act, vector_act, acc, nrows * g.cols);
    for (int64_t r = 0; r < nrows; ++r) {
      float* orow = out + (r0 + r) * ow_n;
      copy_row(orow, acc + r * g.cols, ow_n);
      if (!vector_act) act.apply_inplace(orow, ow_n);
    }
  }
}

int64_t scratch_per_thread(const Window& w) {
  if (!planar(w)) return 0;
  if (phase_path(w)) return phase_scratch_floats(w);
  return padded_width(w) * padded_rows(w) + 4096 + padded_width(w);
}

}  // namespace

int64_t depthwise_scratch_floats(const Window& w, int threads) {
  return std::max(threads, 1) * scratch_per_thread(w);
}

void depthwise_conv_image(const float* in, const float* weights, const float* bias, float* out, int64_t channels,
                          int64_t multiplier, const Window& w, const Activation& act, int threads, float* scratch) {
  const int64_t out_channels = channels * multiplier;
  const int64_t kvol = w.kernel_size();
  const int64_t work = out_channels * w.out_size() * kvol;
  // Small layers (SE blocks, late stages) are not worth waking threads for.
  const int workers = static_cast<int>(std::min<int64_t>(work < 32768 ? 1 : std::max(threads, 1), out_channels));
  const int64_t per_thread = scratch_per_thread(w);
  parallel_for(workers, workers, [&](int64_t w0, int64_t w1) {
    for (int64_t worker = w0; worker < w1; ++worker) {
      float* pad = scratch + worker * per_thread;
      float* acc = pad + padded_width(w) * padded_rows(w);
      const int64_t first = out_channels * worker / workers;
      for (int64_t oc = first; oc < out_channels * (worker + 1) / workers; ++oc) {
        const float* in_c = in + (oc / multiplier) * w.in_size();
        float* out_c = out + oc * w.out_size();
        const float b = bias ? bias[oc] : 0.0f;
        if (phase_path(w))
          depthwise_channel_phases(in_c, weights + oc * kvol, b, out_c, w, act, pad, oc == first);
        else if (planar(w))
          depthwise_channel_padded(in_c, weights + oc * kvol, b, out_c, w, act, pad, acc);
        else
          depthwise_channel(in_c, weights + oc * kvol, b, out_c, w, act);
      }
    }
  });
}

}  // namespace sparseinfer

#include "cpu/depthwise.h"

// GCC 12's _mm512 intrinsics trip -Wmaybe-uninitialized in its own header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

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

int64_t scratch_per_thread(const Window& w) {
  if (!planar(w)) return 0;
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
      for (int64_t oc = out_channels * worker / workers; oc < out_channels * (worker + 1) / workers; ++oc) {
        const float* in_c = in + (oc / multiplier) * w.in_size();
        float* out_c = out + oc * w.out_size();
        const float b = bias ? bias[oc] : 0.0f;
        if (planar(w))
          depthwise_channel_padded(in_c, weights + oc * kvol, b, out_c, w, act, pad, acc);
        else
          depthwise_channel(in_c, weights + oc * kvol, b, out_c, w, act);
      }
    }
  });
}

}  // namespace sparseinfer

#include "cpu/packed_gemm.h"

// GCC 12's _mm512_max_ps/_mm512_min_ps pass _mm512_undefined_ps() as the
// pass-through operand, which -Wmaybe-uninitialized reports at every use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "cpu/activation_avx2.h"
#include "cpu/packed_gemm_avx2.h"

namespace sparseinfer {

namespace {

constexpr int64_t kRows = PackedWeights::kPanelRows;
constexpr int64_t kCols = 32;    // two 16-float vectors of output pixels
constexpr int64_t kDepth = 256;  // k block: an A block of a panel and a B strip stay in L1/L2

// Bias and activation applied in registers on the last k block, so small-K
// layers (MobileNet 1x1) do not pay a second pass over the output.
struct Epilogue {
  bool active = false;          // this call finishes the sum
  const float* bias = nullptr;  // per row of the panel, or nullptr
  Activation act;               // applied in-kernel when vector_act
  bool vector_act = false;
};

bool has_vector_form(ActivationKind kind) {
  return kind != ActivationKind::Sigmoid && kind != ActivationKind::Tanh;
}

__attribute__((target("avx512f"))) inline __m512 activate(__m512 x, const Activation& act) {
  switch (act.kind) {
    case ActivationKind::Relu:
      return _mm512_max_ps(x, _mm512_setzero_ps());
    case ActivationKind::Clip:
      return _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(act.min)), _mm512_set1_ps(act.max));
    case ActivationKind::LeakyRelu: {
      const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
      return _mm512_mask_mul_ps(x, neg, x, _mm512_set1_ps(act.alpha));
    }
    case ActivationKind::HardSigmoid: {
      const __m512 y = _mm512_fmadd_ps(x, _mm512_set1_ps(act.alpha), _mm512_set1_ps(act.beta));
      return _mm512_min_ps(_mm512_max_ps(y, _mm512_setzero_ps()), _mm512_set1_ps(1.0f));
    }
    case ActivationKind::HardSwish: {
      const __m512 g = _mm512_fmadd_ps(x, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
      return _mm512_mul_ps(x, _mm512_min_ps(_mm512_max_ps(g, _mm512_setzero_ps()), _mm512_set1_ps(1.0f)));
    }
    default:
      return x;
  }
}

// c[rows x nr] (+)= a_panel[kc][kRows] * b[kc x kCols]; 2 * ROWS accumulators
// in named registers (GCC spills an accumulator array to the stack every step).
#define SI_ROWS_APPLY(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7)
template <int ROWS>
__attribute__((target("avx512f"))) void micro_kernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                     int64_t ldc, int64_t nr, bool accumulate, const Epilogue& ep) {
  const __mmask16 m0 = nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? __mmask16(0xFFFF) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
#define SI_DECLARE(r) __m512 lo##r = _mm512_setzero_ps(), hi##r = _mm512_setzero_ps();
  SI_ROWS_APPLY(SI_DECLARE)
#undef SI_DECLARE
  if (accumulate) {
#define SI_LOAD(r)                                       \
  if constexpr (r < ROWS) {                              \
    lo##r = _mm512_maskz_loadu_ps(m0, c + r * ldc);      \
    hi##r = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16); \
  }
    SI_ROWS_APPLY(SI_LOAD)
#undef SI_LOAD
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * ldb);
    const __m512 b1 = _mm512_loadu_ps(b + k * ldb + 16);
    const float* ak = a + k * kRows;
#define SI_FMA(r)                            \
  if constexpr (r < ROWS) {                  \
    const __m512 av = _mm512_set1_ps(ak[r]); \
    lo##r = _mm512_fmadd_ps(av, b0, lo##r);  \
    hi##r = _mm512_fmadd_ps(av, b1, hi##r);  \
  }
    SI_ROWS_APPLY(SI_FMA)
#undef SI_FMA
  }
#define SI_FINISH(r)                                \
  if constexpr (r < ROWS) {                         \
    if (ep.bias) {                                  \
      const __m512 bv = _mm512_set1_ps(ep.bias[r]); \
      lo##r = _mm512_add_ps(lo##r, bv);             \
      hi##r = _mm512_add_ps(hi##r, bv);             \
    }                                               \
    if (ep.vector_act) {                            \
      lo##r = activate(lo##r, ep.act);              \
      hi##r = activate(hi##r, ep.act);              \
    }                                               \
  }
  if (ep.active) {
    SI_ROWS_APPLY(SI_FINISH)
  }
#undef SI_FINISH
#define SI_STORE(r)                                     \
  if constexpr (r < ROWS) {                             \
    _mm512_mask_storeu_ps(c + r * ldc, m0, lo##r);      \
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, hi##r); \
  }
  SI_ROWS_APPLY(SI_STORE)
#undef SI_STORE
}
#undef SI_ROWS_APPLY

using MicroKernel = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, int64_t, bool,
                             const Epilogue&);
constexpr MicroKernel kKernels[kRows + 1] = {nullptr,         micro_kernel<1>, micro_kernel<2>,
                                             micro_kernel<3>, micro_kernel<4>, micro_kernel<5>,
                                             micro_kernel<6>, micro_kernel<7>, micro_kernel<8>};

}  // namespace

bool packed_gemm_supported() {
  return __builtin_cpu_supports("avx512f");
}

bool packed_conv_tile_supported() {
  return __builtin_cpu_supports("avx512f") || cpu_has_avx2_fma();
}

static bool use_avx512() {
  return __builtin_cpu_supports("avx512f");
}

void pack_weights(const float* w, int64_t groups, int64_t m, int64_t k, PackedWeights& out) {
  out.groups = groups;
  out.m = m;
  out.k = k;
  out.data.assign(static_cast<size_t>(groups * out.panels() * kRows * k), 0.0f);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t row = 0; row < m; ++row) {
      float* panel = const_cast<float*>(out.panel(g, row / kRows));
      const float* src = w + (g * m + row) * k;
      for (int64_t i = 0; i < k; ++i) panel[i * kRows + row % kRows] = src[i];
    }
}

namespace {

// Fills strip[kc][kCols] with rows [k0, k0 + kc) of the implicit im2col
// matrix for output pixels [p, p + nr) (all on one output row unless the
// window is pointwise); zero where the window reads padding or past nr.
__attribute__((target("avx512f"))) void build_strip(const float* in, const Window& w, int64_t k0, int64_t kc, int64_t p,
                                                    int64_t nr, bool pointwise, float* strip) {
  const __mmask16 full0 = nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1);
  const __mmask16 full1 = nr >= 32 ? __mmask16(0xFFFF) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
  if (pointwise) {
    const int64_t plane = w.in_size();
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = in + (k0 + k) * plane + p;
      _mm512_store_ps(strip + k * kCols, _mm512_maskz_loadu_ps(full0, src));
      _mm512_store_ps(strip + k * kCols + 16, _mm512_maskz_loadu_ps(full1, src + 16));
    }
    return;
  }
  const int64_t ow_n = w.out[2], oh_n = w.out[1];
  const int64_t ow = p % ow_n, oh = (p / ow_n) % oh_n, od = p / (ow_n * oh_n);
  const int64_t kw_n = w.kernel[2], kh_n = w.kernel[1], kd_n = w.kernel[0];
  const int64_t sw = w.stride[2], in_w = w.in[2];
  const int64_t iw_base = ow * sw - w.pad_begin[2];
  // Decode k0 once, then step (channel, kd, kh, kw) like an odometer.
  int64_t kw = k0 % kw_n, kh = (k0 / kw_n) % kh_n, kd = (k0 / (kw_n * kh_n)) % kd_n, c = k0 / (kw_n * kh_n * kd_n);
  for (int64_t k = 0; k < kc; ++k) {
    float* dst = strip + k * kCols;
    const int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
    const int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
    if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
      _mm512_store_ps(dst, _mm512_setzero_ps());
      _mm512_store_ps(dst + 16, _mm512_setzero_ps());
    } else {
      const float* row = in + c * w.in_size() + (id * w.in[1] + ih) * in_w;
      const int64_t iw0 = iw_base + kw * w.dilation[2];
      // Columns j with 0 <= iw0 + j * sw < in_w.
      int64_t lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
      int64_t hi = iw0 >= in_w ? 0 : (in_w - iw0 + sw - 1) / sw;
      lo = std::min(lo, nr);
      hi = std::clamp(hi, lo, nr);
      if (sw == 1) {
        // Masked lanes are not read, so the load may start before the row.
        const uint32_t bits = (hi - lo >= 32 ? 0xFFFFFFFFu : ((1u << (hi - lo)) - 1u)) << lo;
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps(__mmask16(bits & 0xFFFF), row + iw0));
        _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(__mmask16(bits >> 16), row + iw0 + 16));
      } else if (sw == 2) {
        // Load the 64 source lanes (zero outside the row), keep the even ones.
        const int64_t s_lo = std::clamp<int64_t>(-iw0, 0, 64), s_hi = std::clamp<int64_t>(in_w - iw0, s_lo, 64);
        const uint64_t span = s_hi - s_lo >= 64 ? ~uint64_t(0) : ((uint64_t(1) << (s_hi - s_lo)) - 1);
        const uint64_t bits = span << s_lo;
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512 v0 = _mm512_maskz_loadu_ps(__mmask16(bits), row + iw0);
        const __m512 v1 = _mm512_maskz_loadu_ps(__mmask16(bits >> 16), row + iw0 + 16);
        const __m512 v2 = _mm512_maskz_loadu_ps(__mmask16(bits >> 32), row + iw0 + 32);
        const __m512 v3 = _mm512_maskz_loadu_ps(__mmask16(bits >> 48), row + iw0 + 48);
        _mm512_store_ps(dst, _mm512_maskz_mov_ps(full0, _mm512_permutex2var_ps(v0, even, v1)));
        _mm512_store_ps(dst + 16, _mm512_maskz_mov_ps(full1, _mm512_permutex2var_ps(v2, even, v3)));
      } else {
        _mm512_store_ps(dst, _mm512_setzero_ps());
        _mm512_store_ps(dst + 16, _mm512_setzero_ps());
        for (int64_t j = lo; j < hi; ++j) dst[j] = row[iw0 + j * sw];
      }
    }
    if (++kw == kw_n) {
      kw = 0;
      if (++kh == kh_n) {
        kh = 0;
        if (++kd == kd_n) {
          kd = 0;
          ++c;
        }
      }
    }
  }
}

}  // namespace

void packed_conv_tile(const PackedWeights& w, int64_t group, const float* in, const Window& win, int64_t p0, int64_t p1,
                      float* out, const float* bias, const Activation& act) {
  packed_conv_tile(w, group, in, win, p0, p1, out, bias, act, nullptr);
}

int64_t packed_conv_tile_block_floats() {
  return use_avx512() ? 0 : kPackedAvx2BlockFloats;
}

void packed_conv_tile(const PackedWeights& w, int64_t group, const float* in, const Window& win, int64_t p0, int64_t p1,
                      float* out, const float* bias, const Activation& act, float* block) {
  if (!use_avx512()) {
    packed_conv_tile_avx2(w, group, in, win, p0, p1, out, bias, act, block);
    return;
  }
  alignas(64) float strip[kDepth * kCols];
  const int64_t ldc = win.out_size();
  const bool pointwise = win.is_pointwise();
  Epilogue ep;
  ep.act = act;
  ep.vector_act = has_vector_form(act.kind);
  for (int64_t k0 = 0; k0 < w.k; k0 += kDepth) {
    const int64_t kc = std::min(kDepth, w.k - k0);
    const bool last = k0 + kc == w.k;
    for (int64_t p = p0; p < p1;) {
      // A strip never crosses an output row: its pixels are contiguous in the input row.
      int64_t nr = std::min(kCols, p1 - p);
      if (!pointwise) nr = std::min(nr, win.out[2] - p % win.out[2]);
      build_strip(in, win, k0, kc, p, nr, pointwise, strip);
      for (int64_t panel = 0; panel < w.panels(); ++panel) {
        const int64_t rows = std::min(kRows, w.m - panel * kRows);
        float* c_block = out + panel * kRows * ldc + p;
        ep.active = last;
        ep.bias = bias ? bias + panel * kRows : nullptr;
        kKernels[rows](kc, w.panel(group, panel) + k0 * kRows, strip, kCols, c_block, ldc, nr, k0 > 0, ep);
        if (last && !ep.vector_act)
          for (int64_t r = 0; r < rows; ++r) act.apply_inplace(c_block + r * ldc, nr);
      }
      p += nr;
    }
  }
}

namespace {

// Strip rows [k0, k0 + kc) for the output pixels at (oy[j], ox[j]), j < nr,
// of a 2-D window; lanes past nr and taps in the padding are zero.
__attribute__((target("avx512f"))) void build_strip_pixels(const float* in, const Window& w, int64_t k0, int64_t kc,
                                                           const int32_t* oy, const int32_t* ox, int64_t nr,
                                                           float* strip) {
  const __mmask16 lanes[2] = {nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1),
                              nr >= 32  ? __mmask16(0xFFFF)
                              : nr > 16 ? __mmask16((1u << (nr - 16)) - 1)
                                        : __mmask16(0)};
  const int32_t in_h = static_cast<int32_t>(w.in[1]), in_w = static_cast<int32_t>(w.in[2]);
  const int32_t plane = static_cast<int32_t>(w.in_size());
  __m512i y0[2], x0[2];
  for (int h = 0; h < 2; ++h) {
    const __m512i vy = _mm512_loadu_si512(oy + 16 * h), vx = _mm512_loadu_si512(ox + 16 * h);
    y0[h] = _mm512_sub_epi32(_mm512_mullo_epi32(vy, _mm512_set1_epi32(static_cast<int32_t>(w.stride[1]))),
                             _mm512_set1_epi32(static_cast<int32_t>(w.pad_begin[1])));
    x0[h] = _mm512_sub_epi32(_mm512_mullo_epi32(vx, _mm512_set1_epi32(static_cast<int32_t>(w.stride[2]))),
                             _mm512_set1_epi32(static_cast<int32_t>(w.pad_begin[2])));
  }
  const int64_t kw_n = w.kernel[2], kh_n = w.kernel[1];
  int64_t kw = k0 % kw_n, kh = (k0 / kw_n) % kh_n, c = k0 / (kw_n * kh_n);
  const __m512i zero = _mm512_setzero_si512(), h_lim = _mm512_set1_epi32(in_h), w_lim = _mm512_set1_epi32(in_w);
  for (int64_t k = 0; k < kc; ++k) {
    const __m512i dy = _mm512_set1_epi32(static_cast<int32_t>(kh * w.dilation[1]));
    const __m512i dx = _mm512_set1_epi32(static_cast<int32_t>(kw * w.dilation[2]));
    for (int h = 0; h < 2; ++h) {
      const __m512i iy = _mm512_add_epi32(y0[h], dy), ix = _mm512_add_epi32(x0[h], dx);
      __mmask16 m = lanes[h];
      m = _mm512_mask_cmpge_epi32_mask(m, iy, zero);
      m = _mm512_mask_cmplt_epi32_mask(m, iy, h_lim);
      m = _mm512_mask_cmpge_epi32_mask(m, ix, zero);
      m = _mm512_mask_cmplt_epi32_mask(m, ix, w_lim);
      const __m512i idx = _mm512_add_epi32(_mm512_mullo_epi32(iy, w_lim), ix);
      const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, in + c * plane, 4);
      _mm512_store_ps(strip + k * kCols + 16 * h, v);
    }
    if (++kw == kw_n) {
      kw = 0;
      if (++kh == kh_n) {
        kh = 0;
        ++c;
      }
    }
  }
}

}  // namespace

void packed_conv_pixels(const PackedWeights& w, int64_t group, const float* in, const Window& win,
                        const int32_t* pixels, int64_t n, int64_t pixel_base, float* out, const float* bias,
                        const Activation& act, float* accumulator) {
  if (!use_avx512()) {
    packed_conv_pixels_avx2(w, group, in, win, pixels, n, pixel_base, out, bias, act, accumulator);
    return;
  }
  alignas(64) float strip[kDepth * kCols];
  alignas(64) int32_t oy[kCols], ox[kCols];
  const int64_t ldc = win.out_size(), out_w = win.out[2];
  Epilogue ep;
  ep.act = act;
  ep.vector_act = has_vector_form(act.kind);
  for (int64_t p = 0; p < n; p += kCols) {
    const int64_t nr = std::min(kCols, n - p);
    for (int64_t j = 0; j < kCols; ++j) {
      const int64_t q = pixels[p + std::min(j, nr - 1)] - pixel_base;
      oy[j] = static_cast<int32_t>(q / out_w);
      ox[j] = static_cast<int32_t>(q % out_w);
    }
    for (int64_t k0 = 0; k0 < w.k; k0 += kDepth) {
      const int64_t kc = std::min(kDepth, w.k - k0);
      const bool last = k0 + kc == w.k;
      build_strip_pixels(in, win, k0, kc, oy, ox, nr, strip);
      for (int64_t panel = 0; panel < w.panels(); ++panel) {
        const int64_t rows = std::min(kRows, w.m - panel * kRows);
        float* c_block = accumulator + panel * kRows * kCols;
        ep.active = last;
        ep.bias = bias ? bias + panel * kRows : nullptr;
        kKernels[rows](kc, w.panel(group, panel) + k0 * kRows, strip, kCols, c_block, kCols, nr, k0 > 0, ep);
        if (last && !ep.vector_act)
          for (int64_t r = 0; r < rows; ++r) act.apply_inplace(c_block + r * kCols, nr);
      }
    }
    for (int64_t r = 0; r < w.m; ++r) {
      const float* src = accumulator + r * kCols;
      float* dst = out + r * ldc;
      for (int64_t j = 0; j < nr; ++j) dst[pixels[p + j] - pixel_base] = src[j];
    }
  }
}

}  // namespace sparseinfer

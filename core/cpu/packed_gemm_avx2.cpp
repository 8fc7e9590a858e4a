// The packed implicit-GEMM convolution on AVX2 + FMA (CPUs without
// AVX-512): the same packed weights (8-row panels) and the same contract as
// packed_gemm.cpp's AVX-512 kernels, which dispatch here.
//
// Micro-kernel: 4 output channels x 24 output pixels, 12 accumulators in
// named registers; per k step three vector loads of the input strip and four
// broadcasts of weights feed 12 FMAs, so the FMA units, not the loads, set the
// pace (a 6 x 16 tile needs 8 loads for the same 12 FMAs). An 8-row panel is
// two such halves over the same strip, which stays in L1.
#include "cpu/packed_gemm_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "cpu/activation_avx2.h"

namespace sparseinfer {

namespace {

constexpr int64_t kRows = PackedWeights::kPanelRows;  // 8: two 4-row halves
constexpr int64_t kHalf = 4;
constexpr int64_t kStrip = 24;   // output pixels per strip: three 8-float vectors
constexpr int64_t kDepth = 192;  // k block: a 24-pixel strip of it is 18 KiB, in L1 with the weights

struct Epilogue {
  bool active = false;          // this call finishes the sum
  const float* bias = nullptr;  // per row of the half, or nullptr
  Activation act;
  bool vector_act = false;
};

// Lanes [lo, hi) of vector v (pixels 8v .. 8v+7) as a maskload/maskstore mask.
__attribute__((target("avx2,fma"))) inline __m256i lane_mask(int64_t v, int64_t lo, int64_t hi) {
  const __m256i idx =
      _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int32_t>(8 * v)));
  const __m256i ge = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(static_cast<int32_t>(lo - 1)));
  const __m256i lt = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(hi)), idx);
  return _mm256_and_si256(ge, lt);
}

// c[rows x nr] (+)= a[kc][kRows] (first 4 rows from `a`) * b[kc x 8*NV].
// `rows` <= 4 rows of c are stored; the panel's padding rows are zero.
#define SI_ROWS(OP) OP(0) OP(1) OP(2) OP(3)
template <int NV>
__attribute__((target("avx2,fma"))) void micro_kernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                                                      int64_t ldc, int64_t rows, int64_t nr, bool accumulate,
                                                      const Epilogue& ep) {
  static_assert(NV >= 1 && NV <= 3, "at most three vectors of pixels");
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, c20 = c00, c21 = c00,
         c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  const bool full = nr >= 8 * NV;
  __m256i m0 = _mm256_set1_epi32(-1), m1 = m0, m2 = m0;
  if (!full) {
    m0 = lane_mask(0, 0, nr);
    m1 = lane_mask(1, 0, nr);
    m2 = lane_mask(2, 0, nr);
  }
  if (accumulate) {
#define SI_LOAD(r)                                                            \
  if (r < rows) {                                                             \
    c##r##0 = _mm256_maskload_ps(c + r * ldc, m0);                            \
    if constexpr (NV > 1) c##r##1 = _mm256_maskload_ps(c + r * ldc + 8, m1);  \
    if constexpr (NV > 2) c##r##2 = _mm256_maskload_ps(c + r * ldc + 16, m2); \
  }
    SI_ROWS(SI_LOAD)
#undef SI_LOAD
  }
  for (int64_t k = 0; k < kc; ++k) {
    const float* bk = b + k * ldb;
    const __m256 b0 = _mm256_load_ps(bk);
    const __m256 b1 = NV > 1 ? _mm256_load_ps(bk + 8) : b0;
    const __m256 b2 = NV > 2 ? _mm256_load_ps(bk + 16) : b0;
    const float* ak = a + k * kRows;
#define SI_FMA(r)                                                     \
  {                                                                   \
    const __m256 av = _mm256_broadcast_ss(ak + r);                    \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                       \
    if constexpr (NV > 1) c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1); \
    if constexpr (NV > 2) c##r##2 = _mm256_fmadd_ps(av, b2, c##r##2); \
  }
    SI_ROWS(SI_FMA)
#undef SI_FMA
  }
#define SI_FINISH(r)                                                  \
  if (ep.active && r < rows) {                                        \
    if (ep.bias) {                                                    \
      const __m256 bv = _mm256_set1_ps(ep.bias[r]);                   \
      c##r##0 = _mm256_add_ps(c##r##0, bv);                           \
      if constexpr (NV > 1) c##r##1 = _mm256_add_ps(c##r##1, bv);     \
      if constexpr (NV > 2) c##r##2 = _mm256_add_ps(c##r##2, bv);     \
    }                                                                 \
    if (ep.vector_act) {                                              \
      c##r##0 = activate_avx2(c##r##0, ep.act);                       \
      if constexpr (NV > 1) c##r##1 = activate_avx2(c##r##1, ep.act); \
      if constexpr (NV > 2) c##r##2 = activate_avx2(c##r##2, ep.act); \
    }                                                                 \
  }
  SI_ROWS(SI_FINISH)
#undef SI_FINISH
#define SI_STORE(r)                                                             \
  if (r < rows) {                                                               \
    if (full) {                                                                 \
      _mm256_storeu_ps(c + r * ldc, c##r##0);                                   \
      if constexpr (NV > 1) _mm256_storeu_ps(c + r * ldc + 8, c##r##1);         \
      if constexpr (NV > 2) _mm256_storeu_ps(c + r * ldc + 16, c##r##2);        \
    } else {                                                                    \
      _mm256_maskstore_ps(c + r * ldc, m0, c##r##0);                            \
      if constexpr (NV > 1) _mm256_maskstore_ps(c + r * ldc + 8, m1, c##r##1);  \
      if constexpr (NV > 2) _mm256_maskstore_ps(c + r * ldc + 16, m2, c##r##2); \
    }                                                                           \
  }
  SI_ROWS(SI_STORE)
#undef SI_STORE
}
#undef SI_ROWS

// One panel of 8 rows (`rows` of them real) against one strip: two halves.
template <int NV>
void panel_times_strip(const float* a, int64_t kc, const float* strip, int64_t ldb, float* c, int64_t ldc, int64_t rows,
                       int64_t nr, bool accumulate, Epilogue ep, const float* bias) {
  for (int64_t h = 0; h * kHalf < rows; ++h) {
    ep.bias = bias ? bias + h * kHalf : nullptr;
    micro_kernel<NV>(kc, a + h * kHalf, strip, ldb, c + h * kHalf * ldc, ldc, std::min(kHalf, rows - h * kHalf), nr,
                     accumulate, ep);
  }
}

// Fills strip[kc][kStrip] with rows [k0, k0 + kc) of the implicit im2col
// matrix for output pixels [p, p + nr) (on one output row unless the window
// is pointwise); zero where the window reads padding and past nr.
__attribute__((target("avx2,fma"))) void build_strip(const float* in, const Window& w, int64_t k0, int64_t kc,
                                                     int64_t p, int64_t nr, bool pointwise, float* strip) {
  const __m256i n0 = lane_mask(0, 0, nr), n1 = lane_mask(1, 0, nr), n2 = lane_mask(2, 0, nr);
  if (pointwise) {
    const int64_t plane = w.in_size();
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = in + (k0 + k) * plane + p;
      float* dst = strip + k * kStrip;
      _mm256_store_ps(dst, _mm256_maskload_ps(src, n0));
      _mm256_store_ps(dst + 8, _mm256_maskload_ps(src + 8, n1));
      _mm256_store_ps(dst + 16, _mm256_maskload_ps(src + 16, n2));
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
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    float* dst = strip + k * kStrip;
    const int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
    const int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
    if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
      _mm256_store_ps(dst, zero);
      _mm256_store_ps(dst + 8, zero);
      _mm256_store_ps(dst + 16, zero);
    } else {
      const float* row = in + c * w.in_size() + (id * w.in[1] + ih) * in_w;
      const int64_t iw0 = iw_base + kw * w.dilation[2];
      // Columns j with 0 <= iw0 + j * sw < in_w.
      int64_t lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
      int64_t hi = iw0 >= in_w ? 0 : (in_w - iw0 + sw - 1) / sw;
      lo = std::min(lo, nr);
      hi = std::clamp(hi, lo, nr);
      if (sw == 1 && lo == 0 && hi == kStrip && iw0 + kStrip <= in_w) {
        // A full strip inside the row (most of them): plain loads.
        _mm256_store_ps(dst, _mm256_loadu_ps(row + iw0));
        _mm256_store_ps(dst + 8, _mm256_loadu_ps(row + iw0 + 8));
        _mm256_store_ps(dst + 16, _mm256_loadu_ps(row + iw0 + 16));
      } else if (sw == 2 && lo == 0 && hi == kStrip && iw0 + 2 * kStrip <= in_w) {
        for (int64_t v = 0; v < 3; ++v) {
          const __m256 a = _mm256_loadu_ps(row + iw0 + 16 * v), b = _mm256_loadu_ps(row + iw0 + 16 * v + 8);
          const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
          _mm256_store_ps(dst + 8 * v, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8)));
        }
      } else if (sw == 1) {
        // Masked lanes are not read (no fault), so the load may start before the row.
        _mm256_store_ps(dst, _mm256_maskload_ps(row + iw0, lane_mask(0, lo, hi)));
        _mm256_store_ps(dst + 8, _mm256_maskload_ps(row + iw0 + 8, lane_mask(1, lo, hi)));
        _mm256_store_ps(dst + 16, _mm256_maskload_ps(row + iw0 + 16, lane_mask(2, lo, hi)));
      } else if (sw == 2) {
        // Source lanes t = 2j (+1) of [iw0, iw0 + 48): load those inside the
        // row (masked lanes read nothing, so no read leaves it), keep the even ones.
        const int64_t t_lo = 2 * lo, t_hi = std::min(2 * hi, in_w - iw0);
        for (int64_t v = 0; v < 3; ++v) {
          const float* src = row + iw0 + 16 * v;
          const __m256 a = _mm256_maskload_ps(src, lane_mask(0, t_lo - 16 * v, t_hi - 16 * v));
          const __m256 b = _mm256_maskload_ps(src + 8, lane_mask(1, t_lo - 16 * v, t_hi - 16 * v));
          const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
          _mm256_store_ps(dst + 8 * v, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8)));
        }
      } else {
        _mm256_store_ps(dst, zero);
        _mm256_store_ps(dst + 8, zero);
        _mm256_store_ps(dst + 16, zero);
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

// The strips of a pointwise block: `strips` strips of kStrip pixels from
// pixel p (the last one `last_nr` wide), rows [k0, k0 + kc), zero past the end.
__attribute__((target("avx2,fma"))) void build_pointwise_block(const float* in, int64_t plane, int64_t k0, int64_t kc,
                                                               int64_t p, int64_t strips, int64_t last_nr,
                                                               float* block) {
  const __m256i n0 = lane_mask(0, 0, last_nr), n1 = lane_mask(1, 0, last_nr), n2 = lane_mask(2, 0, last_nr);
  for (int64_t k = 0; k < kc; ++k) {
    const float* src = in + (k0 + k) * plane + p;
    float* dst = block + k * kStrip;
    for (int64_t st = 0; st + 1 < strips; ++st, src += kStrip, dst += kc * kStrip) {
      _mm256_store_ps(dst, _mm256_loadu_ps(src));
      _mm256_store_ps(dst + 8, _mm256_loadu_ps(src + 8));
      _mm256_store_ps(dst + 16, _mm256_loadu_ps(src + 16));
    }
    _mm256_store_ps(dst, _mm256_maskload_ps(src, n0));
    _mm256_store_ps(dst + 8, _mm256_maskload_ps(src + 8, n1));
    _mm256_store_ps(dst + 16, _mm256_maskload_ps(src + 16, n2));
  }
}

// Strip rows [k0, k0 + kc) for the output pixels at (oy[j], ox[j]), j < nr,
// of a 2-D window, `width` floats per row; lanes past nr and taps in the
// padding are zero.
void build_strip_pixels(const float* in, const Window& w, int64_t k0, int64_t kc, const int32_t* oy, const int32_t* ox,
                        int64_t nr, int64_t width, float* strip) {
  const int64_t in_h = w.in[1], in_w = w.in[2], plane = w.in_size();
  const int64_t kw_n = w.kernel[2], kh_n = w.kernel[1];
  int64_t kw = k0 % kw_n, kh = (k0 / kw_n) % kh_n, c = k0 / (kw_n * kh_n);
  for (int64_t k = 0; k < kc; ++k) {
    float* dst = strip + k * width;
    const float* src = in + c * plane;
    for (int64_t j = 0; j < nr; ++j) {
      const int64_t iy = oy[j] * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
      const int64_t ix = ox[j] * w.stride[2] - w.pad_begin[2] + kw * w.dilation[2];
      dst[j] = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w ? src[iy * in_w + ix] : 0.0f;
    }
    std::fill(dst + nr, dst + width, 0.0f);
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

void packed_conv_tile_avx2(const PackedWeights& w, int64_t group, const float* in, const Window& win, int64_t p0,
                           int64_t p1, float* out, const float* bias, const Activation& act, float* block_mem) {
  // GotoBLAS order: a block of strips (kc x about 128 KiB / kc pixels, in L2)
  // is built once, then each weight panel (kc x 8, in L1) sweeps it, so every
  // output row is written in long contiguous runs rather than 24 pixels at a
  // time across all output channels (which made wide, shallow 1x1 layers
  // such as MobileNetV2's 16 -> 96 expansion store-bound).
  constexpr int64_t kBlockFloats = kPackedAvx2BlockFloats;
  constexpr int64_t kMaxStrips = kBlockFloats / kStrip;
  static thread_local std::vector<float, AlignedAllocator<float>> own;
  if (!block_mem && own.size() < static_cast<size_t>(kBlockFloats)) own.resize(kBlockFloats);
  float* const block = block_mem ? block_mem : own.data();
  int64_t strip_p[kMaxStrips], strip_n[kMaxStrips];
  const int64_t ldc = win.out_size();
  const bool pointwise = win.is_pointwise();
  Epilogue ep;
  ep.act = act;
  ep.vector_act = has_avx2_form(act.kind);
  for (int64_t k0 = 0; k0 < w.k; k0 += kDepth) {
    const int64_t kc = std::min(kDepth, w.k - k0);
    const bool last = k0 + kc == w.k;
    ep.active = last;
    const int64_t max_strips = std::max<int64_t>(1, std::min(kMaxStrips, kBlockFloats / (kc * kStrip)));
    for (int64_t q = p0; q < p1;) {
      int64_t strips = 0;
      for (; strips < max_strips && q < p1; ++strips) {
        // A strip never crosses an output row: its pixels are contiguous in the input row.
        int64_t nr = std::min(kStrip, p1 - q);
        if (!pointwise) nr = std::min(nr, win.out[2] - q % win.out[2]);
        if (!pointwise) build_strip(in, win, k0, kc, q, nr, pointwise, block + strips * kc * kStrip);
        strip_p[strips] = q;
        strip_n[strips] = nr;
        q += nr;
      }
      // Pointwise: channel by channel over the whole block, so each input
      // row is read in one long run (one prefetch stream) rather than 24
      // pixels from each of kc rows at a time.
      if (pointwise) build_pointwise_block(in, win.in_size(), k0, kc, strip_p[0], strips, strip_n[strips - 1], block);
      // Deep sums (k >= 128) hold each strip in L1 while the weight panels
      // stream from L2 (4 floats per 12 FMAs); shallow ones (MobileNet's
      // expansions) hold a panel while the strips stream, so the many output
      // rows are written in long runs.
      const bool strips_outer = kc >= 128;
      const int64_t outer = strips_outer ? strips : w.panels(), inner = strips_outer ? w.panels() : strips;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t panel = strips_outer ? i : o, st = strips_outer ? o : i;
          const int64_t rows = std::min(kRows, w.m - panel * kRows);
          const float* a = w.panel(group, panel) + k0 * kRows;
          const float* b_panel = bias ? bias + panel * kRows : nullptr;
          const int64_t nr = strip_n[st];
          const float* strip = block + st * kc * kStrip;
          float* c_block = out + panel * kRows * ldc + strip_p[st];
          if (nr > 16)
            panel_times_strip<3>(a, kc, strip, kStrip, c_block, ldc, rows, nr, k0 > 0, ep, b_panel);
          else if (nr > 8)
            panel_times_strip<2>(a, kc, strip, kStrip, c_block, ldc, rows, nr, k0 > 0, ep, b_panel);
          else
            panel_times_strip<1>(a, kc, strip, kStrip, c_block, ldc, rows, nr, k0 > 0, ep, b_panel);
          if (last && !ep.vector_act)
            for (int64_t r = 0; r < rows; ++r) act.apply_inplace(c_block + r * ldc, nr);
        }
    }
  }
}

void packed_conv_pixels_avx2(const PackedWeights& w, int64_t group, const float* in, const Window& win,
                             const int32_t* pixels, int64_t n, int64_t pixel_base, float* out, const float* bias,
                             const Activation& act, float* accumulator) {
  constexpr int64_t kCols = 32;  // pixels per strip, as the accumulator is sized for
  alignas(32) float strip[kDepth * kCols];
  int32_t oy[kCols], ox[kCols];
  const int64_t ldc = win.out_size(), out_w = win.out[2];
  Epilogue ep;
  ep.act = act;
  ep.vector_act = has_avx2_form(act.kind);
  for (int64_t p = 0; p < n; p += kCols) {
    const int64_t nr = std::min(kCols, n - p);
    for (int64_t j = 0; j < nr; ++j) {
      const int64_t q = pixels[p + j] - pixel_base;
      oy[j] = static_cast<int32_t>(q / out_w);
      ox[j] = static_cast<int32_t>(q % out_w);
    }
    for (int64_t k0 = 0; k0 < w.k; k0 += kDepth) {
      const int64_t kc = std::min(kDepth, w.k - k0);
      const bool last = k0 + kc == w.k;
      ep.active = last;
      build_strip_pixels(in, win, k0, kc, oy, ox, nr, kCols, strip);
      for (int64_t panel = 0; panel < w.panels(); ++panel) {
        const int64_t rows = std::min(kRows, w.m - panel * kRows);
        float* c_block = accumulator + panel * kRows * kCols;
        const float* a = w.panel(group, panel) + k0 * kRows;
        const float* b_panel = bias ? bias + panel * kRows : nullptr;
        // 32 pixels: 24 in one kernel, the last 8 in another.
        panel_times_strip<3>(a, kc, strip, kCols, c_block, kCols, rows, std::min<int64_t>(nr, 24), k0 > 0, ep, b_panel);
        if (nr > 24)
          panel_times_strip<1>(a, kc, strip + 24, kCols, c_block + 24, kCols, rows, nr - 24, k0 > 0, ep, b_panel);
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

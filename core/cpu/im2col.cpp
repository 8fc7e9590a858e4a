#include "cpu/im2col.h"

#include <algorithm>
#include <cstring>

namespace sparseinfer {

namespace {

// Range [lo, hi) of j in [0, n) for which 0 <= first + j * stride < limit.
inline void valid_range(int64_t first, int64_t stride, int64_t limit, int64_t n, int64_t& lo, int64_t& hi) {
  lo = first >= 0 ? 0 : (-first + stride - 1) / stride;
  hi = first >= limit ? 0 : (limit - first + stride - 1) / stride;
  lo = std::min(lo, n);
  hi = std::clamp(hi, lo, n);
}

// Walks output pixels [p0, p1) as row segments of constant (od, oh), calling
// fn(od, oh, ow, count, offset_in_tile).
template <typename Fn>
inline void for_each_row_segment(const Window& w, int64_t p0, int64_t p1, Fn&& fn) {
  const int64_t ow_n = w.out[2], oh_n = w.out[1];
  int64_t ow = p0 % ow_n, oh = (p0 / ow_n) % oh_n, od = p0 / (ow_n * oh_n);
  for (int64_t p = p0; p < p1;) {
    const int64_t count = std::min(ow_n - ow, p1 - p);
    fn(od, oh, ow, count, p - p0);
    p += count;
    ow = 0;
    if (++oh == oh_n) {
      oh = 0;
      ++od;
    }
  }
}

}  // namespace

void im2col_tile(const float* in, int64_t channels, const Window& w, int64_t p0, int64_t p1, float* col, int64_t ld) {
  const int64_t in_d = w.in[0], in_h = w.in[1], in_w = w.in[2];
  const int64_t sw = w.stride[2];
  float* row = col;
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = in + c * w.in_size();
    for (int64_t kd = 0; kd < w.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < w.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < w.kernel[2]; ++kw, row += ld) {
          for_each_row_segment(w, p0, p1, [&](int64_t od, int64_t oh, int64_t ow, int64_t count, int64_t at) {
            float* __restrict dst = row + at;
            const int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
            const int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
            if (id < 0 || id >= in_d || ih < 0 || ih >= in_h) {
              std::memset(dst, 0, sizeof(float) * count);
              return;
            }
            const float* __restrict src = plane + (id * in_h + ih) * in_w;
            const int64_t iw0 = ow * sw - w.pad_begin[2] + kw * w.dilation[2];
            int64_t lo, hi;
            valid_range(iw0, sw, in_w, count, lo, hi);
            if (lo > 0) std::memset(dst, 0, sizeof(float) * lo);
            if (sw == 1) {
              if (hi > lo) std::memcpy(dst + lo, src + iw0 + lo, sizeof(float) * (hi - lo));
            } else {
              for (int64_t j = lo; j < hi; ++j) dst[j] = src[iw0 + j * sw];
            }
            if (hi < count) std::memset(dst + hi, 0, sizeof(float) * (count - hi));
          });
        }
  }
}

void col2im_add(const float* col, int64_t c0, int64_t c1, const Window& w, float* in) {
  const int64_t npix = w.out_size();
  const int64_t in_d = w.in[0], in_h = w.in[1], in_w = w.in[2];
  const int64_t sw = w.stride[2];
  const float* row = col + c0 * w.kernel_size() * npix;
  for (int64_t c = c0; c < c1; ++c) {
    float* plane = in + c * w.in_size();
    for (int64_t kd = 0; kd < w.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < w.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < w.kernel[2]; ++kw, row += npix) {
          for_each_row_segment(w, 0, npix, [&](int64_t od, int64_t oh, int64_t ow, int64_t count, int64_t at) {
            const int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
            const int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
            if (id < 0 || id >= in_d || ih < 0 || ih >= in_h) return;
            const float* __restrict src = row + at;
            float* __restrict dst = plane + (id * in_h + ih) * in_w;
            const int64_t iw0 = ow * sw - w.pad_begin[2] + kw * w.dilation[2];
            int64_t lo, hi;
            valid_range(iw0, sw, in_w, count, lo, hi);
            for (int64_t j = lo; j < hi; ++j) dst[iw0 + j * sw] += src[j];
          });
        }
  }
}

}  // namespace sparseinfer

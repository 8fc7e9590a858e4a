#include "cpu/depthwise.h"

#include <algorithm>

#include "cpu/epilogue.h"
#include "cpu/parallel.h"

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

}  // namespace

void depthwise_conv_image(const float* in, const float* weights, const float* bias, float* out, int64_t channels,
                          int64_t multiplier, const Window& w, const Activation& act, int threads) {
  const int64_t out_channels = channels * multiplier;
  const int64_t kvol = w.kernel_size();
  const int64_t work = out_channels * w.out_size() * kvol;
  // Small layers (SE blocks, late stages) are not worth waking threads for.
  const int use = work < 32768 ? 1 : threads;
  parallel_for(out_channels, use, [&](int64_t c0, int64_t c1) {
    for (int64_t oc = c0; oc < c1; ++oc)
      depthwise_channel(in + (oc / multiplier) * w.in_size(), weights + oc * kvol, bias ? bias[oc] : 0.0f,
                        out + oc * w.out_size(), w, act);
  });
}

}  // namespace sparseinfer

#include "cpu/change_eltwise.h"

#include "util/parallel.h"

namespace sparseinfer {

template <typename F>
static void apply_at_pixels(const BroadcastOperand& a, const BroadcastOperand& b, const int64_t out[4],
                            const int32_t* pixels, int64_t n, float* output, int threads, F f) {
  const int64_t hw = out[2] * out[3];
  parallel_for(n, n > 1024 ? threads : 1, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      const int64_t p = pixels[j], nb = p / hw, q = p % hw, y = q / out[3], x = q % out[3];
      const float* pa = a.data + nb * a.stride[0] + y * a.stride[2] + x * a.stride[3];
      const float* pb = b.data ? b.data + nb * b.stride[0] + y * b.stride[2] + x * b.stride[3] : nullptr;
      float* o = output + nb * out[1] * hw + q;
      for (int64_t c = 0; c < out[1]; ++c) o[c * hw] = f(pa[c * a.stride[1]], pb ? pb[c * b.stride[1]] : 0.0f);
    }
  });
}

void eltwise_at_pixels(EltwiseOp op, const Activation& act, const BroadcastOperand& a, const BroadcastOperand& b,
                       const int64_t out[4], const int32_t* pixels, int64_t n, float* output, int threads) {
  switch (op) {
    case EltwiseOp::Activation:
      apply_at_pixels(a, {}, out, pixels, n, output, threads, [&](float x, float) { return act.apply(x); });
      return;
    case EltwiseOp::Add:
      apply_at_pixels(a, b, out, pixels, n, output, threads, [](float x, float y) { return x + y; });
      return;
    case EltwiseOp::Sub:
      apply_at_pixels(a, b, out, pixels, n, output, threads, [](float x, float y) { return x - y; });
      return;
    case EltwiseOp::Mul:
      apply_at_pixels(a, b, out, pixels, n, output, threads, [](float x, float y) { return x * y; });
      return;
    case EltwiseOp::Div:
      apply_at_pixels(a, b, out, pixels, n, output, threads, [](float x, float y) { return x / y; });
      return;
    case EltwiseOp::PRelu:
      apply_at_pixels(a, b, out, pixels, n, output, threads, [](float x, float s) { return x < 0.0f ? x * s : x; });
      return;
  }
}

}  // namespace sparseinfer

#include "tools/output_compare.h"

#include <algorithm>
#include <cmath>

#include "sparseinfer/error.h"

namespace sparseinfer::tools {

static int argmax_at(const float* p, int64_t classes, int64_t stride) {
  int best = 0;
  for (int64_t k = 1; k < classes; ++k)
    if (p[k * stride] > p[best * stride]) best = static_cast<int>(k);
  return best;
}

Comparison compare_outputs(const Tensor& ours, const Tensor& reference) {
  if (ours.shape() != reference.shape() || ours.dtype() != DType::Float32 || reference.dtype() != DType::Float32)
    throw Error("compare_outputs: outputs differ in shape or type");
  Comparison c;
  const int64_t n = ours.numel();
  double se = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(ours.f32()[i]) - reference.f32()[i];
    se += d * d;
    c.max_abs_diff = std::max(c.max_abs_diff, std::fabs(d));
  }
  c.mse = n ? se / static_cast<double>(n) : 0.0;
  if (ours.rank() >= 2 && ours.dim(1) > 1) {
    const int64_t batch = ours.dim(0), classes = ours.dim(1), inner = n / (batch * classes);
    int64_t same = 0;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = b * classes * inner + i;
        same += argmax_at(ours.f32() + base, classes, inner) == argmax_at(reference.f32() + base, classes, inner);
      }
    c.agreement = static_cast<double>(same) / static_cast<double>(batch * inner);
    c.has_agreement = true;
  }
  return c;
}

}  // namespace sparseinfer::tools

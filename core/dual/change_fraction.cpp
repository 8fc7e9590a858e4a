#include "dual/change_fraction.h"

#include <algorithm>
#include <cmath>

#include "sparseinfer/error.h"

namespace sparseinfer {

double change_fraction(const Tensor& current, const Tensor& reference, const std::array<float, 3>& std,
                       float threshold) {
  const Shape& s = current.shape();
  if (s != reference.shape() || s.size() != 4 || s[0] != 1 || s[1] != 3)
    throw Error("change_fraction: frames must both be [1,3,H,W], got " + shape_str(s) + " and " +
                shape_str(reference.shape()));
  const int64_t plane = s[2] * s[3];
  if (plane == 0) return 0.0;
  const float* a = current.f32();
  const float* b = reference.f32();
  int64_t changed = 0;
  for (int64_t i = 0; i < plane; ++i) {
    float diff = 0.0f;
    for (int c = 0; c < 3; ++c) diff = std::max(diff, std::fabs(a[c * plane + i] - b[c * plane + i]) * std[c]);
    changed += diff > threshold;
  }
  return static_cast<double>(changed) / static_cast<double>(plane);
}

}  // namespace sparseinfer

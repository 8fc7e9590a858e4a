// The error measure the engine tests bound: max |ref - got| over every
// output, relative to the reference output's range (so a network whose
// outputs reach |100| and one whose outputs stay in [0, 1] share one bound).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

// `min_range` keeps a near-constant output from dividing by (almost) zero.
inline double range_relative_error(const std::vector<const Tensor*>& ref, const std::vector<const Tensor*>& got,
                                   double min_range) {
  double worst = 0;
  for (size_t o = 0; o < ref.size(); ++o) {
    const Tensor& d = *ref[o];
    const Tensor& c = *got[o];
    EXPECT_EQ(d.shape(), c.shape());
    float lo = d.f32()[0], hi = d.f32()[0];
    double diff = 0;
    for (int64_t i = 0; i < d.numel(); ++i) {
      lo = std::min(lo, d.f32()[i]);
      hi = std::max(hi, d.f32()[i]);
      diff = std::max(diff, static_cast<double>(std::fabs(d.f32()[i] - c.f32()[i])));
    }
    worst = std::max(worst, diff / std::max(min_range, static_cast<double>(hi - lo)));
  }
  return worst;
}

}  // namespace sparseinfer

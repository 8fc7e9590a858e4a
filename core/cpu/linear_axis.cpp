#include "cpu/linear_axis.h"

#include <algorithm>
#include <cmath>

namespace sparseinfer {

bool linear_coord_from_name(const std::string& name, LinearCoord* coord) {
  if (name == "half_pixel")
    *coord = LinearCoord::HalfPixel;
  else if (name == "pytorch_half_pixel")
    *coord = LinearCoord::PytorchHalfPixel;
  else if (name == "align_corners")
    *coord = LinearCoord::AlignCorners;
  else if (name == "asymmetric")
    *coord = LinearCoord::Asymmetric;
  else
    return false;
  return true;
}

LinearAxis linear_axis(LinearCoord coord, int64_t in_len, int64_t out_len, double scale, double resized) {
  LinearAxis axis;
  for (int64_t o = 0; o < out_len; ++o) {
    const double xr = static_cast<double>(o);
    double xo = xr / scale;
    switch (coord) {
      case LinearCoord::HalfPixel:
        xo = (xr + 0.5) / scale - 0.5;
        break;
      case LinearCoord::PytorchHalfPixel:
        xo = out_len > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
        break;
      case LinearCoord::AlignCorners:
        xo = resized == 1.0 ? 0.0 : xr * static_cast<double>(in_len - 1) / (resized - 1.0);
        break;
      case LinearCoord::Asymmetric:
        break;
    }
    const double lower = std::floor(xo), r = xo - lower;
    auto clamp = [&](int64_t i) { return static_cast<int32_t>(std::min(std::max<int64_t>(i, 0), in_len - 1)); };
    axis.i0.push_back(clamp(static_cast<int64_t>(lower)));
    axis.i1.push_back(clamp(static_cast<int64_t>(lower) + 1));
    axis.w0.push_back(static_cast<float>(1.0 - r));
    axis.w1.push_back(static_cast<float>(r));
  }
  return axis;
}

}  // namespace sparseinfer

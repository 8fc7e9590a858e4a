// The taps of one axis of a linear (bilinear) Resize, as ONNX defines them:
// the dense CPU kernel (resize_cpu.cpp) and the change-mode kernel
// (change_resize.cpp) both read these tables, so a pixel recomputed in change
// mode equals the dense one bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparseinfer {

enum class LinearCoord { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric };

// The ONNX coordinate_transformation_mode `name` as a LinearCoord; false for
// the modes these tables do not serve.
bool linear_coord_from_name(const std::string& name, LinearCoord* coord);

// Output index o blends input taps i0[o] and i1[o] with weights w0[o] and w1[o].
struct LinearAxis {
  std::vector<int32_t> i0, i1;
  std::vector<float> w0, w1;
};

// `scale` is the output/input ratio and `resized` the input length times it
// (the ONNX length_resized of align_corners).
LinearAxis linear_axis(LinearCoord coord, int64_t in_len, int64_t out_len, double scale, double resized);

}  // namespace sparseinfer

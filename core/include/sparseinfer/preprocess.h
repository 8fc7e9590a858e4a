// Turns an 8-bit video frame into the network's NCHW float input: resize
// (bilinear, pixel centres aligned), channel order, mean/std normalization.
// Shared by the CLI, the benchmark and the GStreamer elements.
#pragma once

#include <array>
#include <cstdint>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

enum class PixelFormat { RGB, BGR, RGBx, BGRx, RGBA, BGRA, GRAY8 };

struct PreprocessOptions {
  int width = 0;   // network input size; 0 keeps the frame's own
  int height = 0;
  bool rgb = true;  // channel order the network expects (false: BGR)
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // on values scaled to [0, 1]
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// Writes a 1x3xHxW float32 tensor (GRAY8 is replicated to three channels).
// `out` is (re)allocated only when its shape changes.
void preprocess_frame(const uint8_t* pixels, int width, int height, int stride, PixelFormat format,
                      const PreprocessOptions& options, Tensor& out);

}  // namespace sparseinfer

// Turns an 8-bit video frame into the network's NCHW float input: resize
// (bilinear, pixel centres aligned; stretched, or letterboxed to keep the
// aspect ratio), channel order, scale/mean/std normalization.
// Shared by the CLI, the benchmark and the GStreamer elements.
#pragma once

#include <array>
#include <cstdint>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

enum class PixelFormat { RGB, BGR, RGBx, BGRx, RGBA, BGRA, GRAY8 };

enum class ResizeMode {
  Stretch,    // the frame fills the input; the aspect ratio may change
  Letterbox,  // scaled to fit inside, centred, bars filled with `letterbox_fill`
};

struct PreprocessOptions {
  int width = 0;  // network input size; 0 keeps the frame's own
  int height = 0;
  bool rgb = true;  // channel order the network expects (false: BGR)
  ResizeMode resize = ResizeMode::Stretch;
  float letterbox_fill = 0.0f;  // pixel value (0..255, before normalization) of the bars
  // value = (pixel * scale - mean[c]) / std[c]; the default scale puts pixels in [0, 1].
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// Where the frame lands in the network input: the rectangle (in input pixels)
// its resized picture covers. The whole input when stretched or unscaled.
struct ResizePlacement {
  int x = 0, y = 0;
  int width = 0, height = 0;
};
ResizePlacement resize_placement(int frame_width, int frame_height, const PreprocessOptions& options);

// Writes a 1x3xHxW float32 tensor (GRAY8 is replicated to three channels).
// `out` is (re)allocated only when its shape changes.
void preprocess_frame(const uint8_t* pixels, int width, int height, int stride, PixelFormat format,
                      const PreprocessOptions& options, Tensor& out);

}  // namespace sparseinfer

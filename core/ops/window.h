// Sliding-window geometry shared by convolution and pooling: 1 to 3 spatial
// dimensions normalized to 3 (leading dimensions of size 1), so one kernel
// serves Conv1d/2d/3d and every pool.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sparseinfer {

struct Window {
  static constexpr int kDims = 3;
  using Dims = std::array<int64_t, kDims>;
  Dims in{1, 1, 1};      // input spatial size (D, H, W)
  Dims out{1, 1, 1};     // output spatial size
  Dims kernel{1, 1, 1};  // kernel size (undilated)
  Dims stride{1, 1, 1};
  Dims dilation{1, 1, 1};
  Dims pad_begin{0, 0, 0};
  Dims pad_end{0, 0, 0};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  // True when output pixel p reads input pixel p with a 1x1 kernel (conv = plain GEMM).
  bool is_pointwise() const;
};

// Attributes common to Conv and the pools, read once at op creation.
// Vectors have one entry per spatial dimension (pads: begins then ends);
// empty means "not given".
struct WindowAttrs {
  std::vector<int64_t> kernel, stride, dilation, pads;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

// Output size and effective pads for the given input spatial shape, following
// the ONNX Conv/Pool rules (auto_pad SAME_UPPER/SAME_LOWER/VALID, ceil_mode).
// Returns an error message, empty on success.
std::string plan_window(const WindowAttrs& attrs, const std::vector<int64_t>& in_spatial, Window& w);

// Reverse mapping for ConvTranspose: output size and pads from the input
// size, output_padding and optional output_shape. Returns an error message.
std::string plan_transposed_window(const WindowAttrs& attrs, const std::vector<int64_t>& in_spatial,
                                   const std::vector<int64_t>& output_padding, const std::vector<int64_t>& output_shape,
                                   Window& w);

}  // namespace sparseinfer

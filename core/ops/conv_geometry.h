// Geometry of a 2-D convolution or pooling window (strides, pads, dilations,
// auto_pad resolved), shared by the dense operators and the change-based
// kernels so both read a node's attributes the same way.
#pragma once

#include <cstdint>
#include <string>

#include "ops/window.h"
#include "sparseinfer/model.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

struct ConvGeometry {
  int64_t batch = 1;
  int64_t in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t group = 1;

  int64_t in_pixels() const { return in_h * in_w; }
  int64_t out_pixels() const { return out_h * out_w; }
  // Rows of the im2col matrix for one group: (Cin/group) * kh * kw.
  int64_t patch_size() const { return in_channels / group * kernel_h * kernel_w; }
  bool is_depthwise() const { return group > 1 && group == in_channels && group == out_channels; }
  bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
           pad_bottom == 0 && pad_right == 0;
  }
};

// The window attributes of a Conv, ConvTranspose or pooling node
// (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode).
WindowAttrs window_attrs(const Node& node);

// Resolves a Conv / MaxPool / AveragePool node's window over an NCHW input.
// `kernel_h/w` come from the weight shape for Conv (pass 0 to read
// kernel_shape), `out_channels` likewise. ceil_mode applies to pooling.
// Throws sparseinfer::Error on inconsistent attributes.
ConvGeometry resolve_window_2d(const Node& node, const Shape& input, int64_t out_channels, int64_t kernel_h,
                               int64_t kernel_w, int64_t group);

}  // namespace sparseinfer

#include "ops/conv_geometry.h"

#include <algorithm>

#include "sparseinfer/error.h"

namespace sparseinfer {

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pad_lo, int64_t pad_hi,
                        bool ceil_mode) {
  int64_t span = d * (k - 1) + 1;
  int64_t num = in + pad_lo + pad_hi - span;
  if (num < 0) return 0;
  int64_t o = ceil_mode ? (num + s - 1) / s + 1 : num / s + 1;
  // Ceil mode (as PyTorch): a last window starting in the right padding is dropped.
  if (ceil_mode && (o - 1) * s >= in + pad_lo) --o;
  return o;
}

ConvGeometry resolve_window_2d(const Node& node, const Shape& input, int64_t out_channels, int64_t kernel_h,
                               int64_t kernel_w, int64_t group) {
  if (input.size() != 4) throw Error("expects a 4-D NCHW input, got " + shape_str(input));
  ConvGeometry g;
  g.batch = input[0];
  g.in_channels = input[1];
  g.in_h = input[2];
  g.in_w = input[3];
  g.group = group;
  if (kernel_h <= 0 || kernel_w <= 0) {
    auto ks = node.attr_ints("kernel_shape", {});
    if (ks.size() != 2) throw Error("kernel_shape must have 2 values");
    kernel_h = ks[0];
    kernel_w = ks[1];
  }
  g.kernel_h = kernel_h;
  g.kernel_w = kernel_w;
  g.out_channels = out_channels;
  auto strides = node.attr_ints("strides", {1, 1});
  auto dil = node.attr_ints("dilations", {1, 1});
  auto pads = node.attr_ints("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    throw Error("strides/dilations must have 2 values and pads 4");
  g.stride_h = strides[0];
  g.stride_w = strides[1];
  g.dilation_h = dil[0];
  g.dilation_w = dil[1];
  if (g.stride_h <= 0 || g.stride_w <= 0 || g.dilation_h <= 0 || g.dilation_w <= 0 || kernel_h <= 0 || kernel_w <= 0)
    throw Error("kernel, strides and dilations must be positive");
  bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    auto same = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t& lo, int64_t& hi) {
      int64_t o = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (o - 1) * s + d * (k - 1) + 1 - in);
      lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    };
    same(g.in_h, kernel_h, g.stride_h, g.dilation_h, g.pad_top, g.pad_bottom);
    same(g.in_w, kernel_w, g.stride_w, g.dilation_w, g.pad_left, g.pad_right);
  } else if (auto_pad == "VALID") {
    g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 0;
  } else if (auto_pad == "NOTSET") {
    g.pad_top = pads[0];
    g.pad_left = pads[1];
    g.pad_bottom = pads[2];
    g.pad_right = pads[3];
    for (int64_t p : pads)
      if (p < 0) throw Error("negative pads are not supported");
  } else {
    throw Error("auto_pad '" + auto_pad + "' is not a valid value");
  }
  g.out_h = out_size(g.in_h, kernel_h, g.stride_h, g.dilation_h, g.pad_top, g.pad_bottom, ceil_mode);
  g.out_w = out_size(g.in_w, kernel_w, g.stride_w, g.dilation_w, g.pad_left, g.pad_right, ceil_mode);
  if (g.out_h <= 0 || g.out_w <= 0) throw Error("the window is larger than the padded input " + shape_str(input));
  return g;
}

}  // namespace sparseinfer

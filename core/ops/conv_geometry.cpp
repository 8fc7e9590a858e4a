#include "ops/conv_geometry.h"

#include "sparseinfer/error.h"

namespace sparseinfer {

WindowAttrs window_attrs(const Node& node) {
  WindowAttrs a;
  a.kernel = node.attr_ints("kernel_shape", {});
  a.stride = node.attr_ints("strides", {});
  a.dilation = node.attr_ints("dilations", {});
  a.pads = node.attr_ints("pads", {});
  a.auto_pad = node.attr_string("auto_pad", "NOTSET");
  a.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  return a;
}

ConvGeometry resolve_window_2d(const Node& node, const Shape& input, int64_t out_channels, int64_t kernel_h,
                               int64_t kernel_w, int64_t group) {
  if (input.size() != 4) throw Error("expects a 4-D NCHW input, got " + shape_str(input));
  WindowAttrs attrs = window_attrs(node);
  if (kernel_h > 0 && kernel_w > 0) attrs.kernel = {kernel_h, kernel_w};
  if (attrs.kernel.size() != 2) throw Error("kernel_shape must have 2 values");
  Window w;
  std::string err = plan_window(attrs, {input[2], input[3]}, w);
  if (!err.empty()) throw Error(err);
  // Window keeps 3 spatial dimensions; a 2-D window lives in the last two.
  ConvGeometry g;
  g.batch = input[0];
  g.in_channels = input[1];
  g.in_h = w.in[1];
  g.in_w = w.in[2];
  g.out_channels = out_channels;
  g.out_h = w.out[1];
  g.out_w = w.out[2];
  g.kernel_h = w.kernel[1];
  g.kernel_w = w.kernel[2];
  g.stride_h = w.stride[1];
  g.stride_w = w.stride[2];
  g.dilation_h = w.dilation[1];
  g.dilation_w = w.dilation[2];
  g.pad_top = w.pad_begin[1];
  g.pad_left = w.pad_begin[2];
  g.pad_bottom = w.pad_end[1];
  g.pad_right = w.pad_end[2];
  g.group = group;
  return g;
}

}  // namespace sparseinfer

#include "ops/window.h"

#include <algorithm>

namespace sparseinfer {

bool Window::is_pointwise() const {
  for (int i = 0; i < kDims; ++i)
    if (kernel[i] != 1 || stride[i] != 1 || pad_begin[i] != 0 || pad_end[i] != 0) return false;
  return true;
}

static int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Copies the attributes of a `rank`-dimensional window into the trailing
// entries of w (so 1-D and 2-D use W and H,W). Returns an error message.
static std::string load_attrs(const WindowAttrs& a, const std::vector<int64_t>& in_spatial, Window& w) {
  const size_t rank = in_spatial.size();
  if (rank < 1 || rank > Window::kDims)
    return std::to_string(rank) + "-D windows are not supported (1-D to 3-D spatial inputs are)";
  auto check = [&](const std::vector<int64_t>& v, size_t n, const char* name) -> std::string {
    if (!v.empty() && v.size() != n)
      return std::string(name) + " has " + std::to_string(v.size()) + " values, expected " + std::to_string(n);
    return {};
  };
  for (auto err : {check(a.kernel, rank, "kernel_shape"), check(a.stride, rank, "strides"),
                   check(a.dilation, rank, "dilations"), check(a.pads, 2 * rank, "pads")})
    if (!err.empty()) return err;
  w = Window{};
  const size_t off = Window::kDims - rank;
  for (size_t i = 0; i < rank; ++i) {
    w.in[off + i] = in_spatial[i];
    w.kernel[off + i] = a.kernel.empty() ? 1 : a.kernel[i];
    w.stride[off + i] = a.stride.empty() ? 1 : a.stride[i];
    w.dilation[off + i] = a.dilation.empty() ? 1 : a.dilation[i];
    w.pad_begin[off + i] = a.pads.empty() ? 0 : a.pads[i];
    w.pad_end[off + i] = a.pads.empty() ? 0 : a.pads[rank + i];
    if (w.kernel[off + i] < 1) return "kernel_shape values must be positive";
    if (w.stride[off + i] < 1) return "strides must be positive";
    if (w.dilation[off + i] < 1) return "dilations must be positive";
    if (w.pad_begin[off + i] < 0 || w.pad_end[off + i] < 0) return "negative pads are not supported";
  }
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" && a.auto_pad != "VALID")
    return "auto_pad '" + a.auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID";
  return {};
}

std::string plan_window(const WindowAttrs& a, const std::vector<int64_t>& in_spatial, Window& w) {
  std::string err = load_attrs(a, in_spatial, w);
  if (!err.empty()) return err;
  for (int i = 0; i < Window::kDims; ++i) {
    const int64_t span = (w.kernel[i] - 1) * w.dilation[i] + 1;
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      w.out[i] = ceil_div(w.in[i], w.stride[i]);
      int64_t total = std::max<int64_t>(0, (w.out[i] - 1) * w.stride[i] + span - w.in[i]);
      int64_t small = total / 2;
      w.pad_begin[i] = a.auto_pad == "SAME_UPPER" ? small : total - small;
      w.pad_end[i] = total - w.pad_begin[i];
      continue;
    }
    if (a.auto_pad == "VALID") w.pad_begin[i] = w.pad_end[i] = 0;
    const int64_t extent = w.in[i] + w.pad_begin[i] + w.pad_end[i] - span;
    if (extent < 0)
      return "the window (" + std::to_string(span) + " with dilation) is larger than the padded input (" +
             std::to_string(w.in[i] + w.pad_begin[i] + w.pad_end[i]) + ")";
    w.out[i] = (a.ceil_mode ? ceil_div(extent, w.stride[i]) : extent / w.stride[i]) + 1;
    // A window that would start entirely in the end padding is dropped (as PyTorch and onnxruntime do).
    if (a.ceil_mode && (w.out[i] - 1) * w.stride[i] >= w.in[i] + w.pad_begin[i]) --w.out[i];
  }
  return {};
}

std::string plan_transposed_window(const WindowAttrs& a, const std::vector<int64_t>& in_spatial,
                                   const std::vector<int64_t>& output_padding, const std::vector<int64_t>& output_shape,
                                   Window& w) {
  std::string err = load_attrs(a, in_spatial, w);
  if (!err.empty()) return err;
  const size_t rank = in_spatial.size();
  const size_t off = Window::kDims - rank;
  if (!output_padding.empty() && output_padding.size() != rank)
    return "output_padding has " + std::to_string(output_padding.size()) + " values, expected " + std::to_string(rank);
  if (!output_shape.empty() && output_shape.size() != rank)
    return "output_shape has " + std::to_string(output_shape.size()) + " spatial values, expected " +
           std::to_string(rank);
  for (size_t r = 0; r < rank; ++r) {
    const size_t i = off + r;
    const int64_t span = (w.kernel[i] - 1) * w.dilation[i] + 1;
    const int64_t opad = output_padding.empty() ? 0 : output_padding[r];
    if (opad < 0) return "output_padding must not be negative";
    const int64_t full = w.stride[i] * (w.in[i] - 1) + opad + span;
    int64_t target = -1;
    if (!output_shape.empty())
      target = output_shape[r];
    else if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER")
      target = w.in[i] * w.stride[i];
    if (target >= 0) {
      // A target beyond the full size extends the output past what any input reaches (onnxruntime does the same).
      const int64_t total = std::max<int64_t>(0, full - target);
      if (a.auto_pad == "SAME_UPPER") {
        w.pad_begin[i] = total / 2;
        w.pad_end[i] = total - total / 2;
      } else {
        w.pad_begin[i] = total - total / 2;
        w.pad_end[i] = total / 2;
      }
    } else if (a.auto_pad == "VALID") {
      w.pad_begin[i] = w.pad_end[i] = 0;
    }
    w.out[i] = target >= 0 ? target : full - w.pad_begin[i] - w.pad_end[i];
    if (w.out[i] < 1) return "the pads remove the whole output";
  }
  return {};
}

}  // namespace sparseinfer

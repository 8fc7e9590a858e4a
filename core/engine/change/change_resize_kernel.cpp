// Change-based bilinear Resize (the decoder upsampling of segmentation
// networks). As a dense fallback it would recompute the whole output into a
// second output-sized buffer and diff it against the first, every frame: at
// 3840x2160 segnet_small's Resize_1 is 265 MB and that pass its slowest
// layer. Like pooling (CBinfer §III-E) it instead recomputes, in place, only
// the outputs whose 2x2 input taps changed.
#include <string>
#include <utility>

#include "cpu/change_resize.h"
#include "engine/change/change_kernel.h"

namespace sparseinfer {

namespace {

class BilinearChangeKernel : public ChangeKernel {
 public:
  BilinearChangeKernel(Op& op, BilinearGeometry g) : op_(op), g_(std::move(g)) {}

  void run(ChangeStep& s) const override {
    run_at_affected_outputs(
        op_, s, [&](const ChangeSet& in_set, std::vector<uint8_t>& flags) { mark_bilinear_outputs(in_set, g_, flags); },
        [&](const int32_t* pixels, int64_t n) {
          bilinear_at_pixels(s.inputs[0]->f32(), g_, pixels, n, s.outputs[0]->f32(), s.exec->threads);
        });
  }

 private:
  Op& op_;
  BilinearGeometry g_;
};

// The taps of one axis, the dense CPU kernel's tables, plus who reads each input.
LinearTaps linear_taps(LinearCoord coord, int64_t in_len, int64_t out_len, double scale, double resized) {
  LinearTaps taps;
  static_cast<LinearAxis&>(taps) = linear_axis(coord, in_len, out_len, scale, resized);
  index_readers(taps, in_len);
  return taps;
}

bool spatial_float(const Tensor* t) {
  return t && !t->has_data() && t->rank() == 4 && t->dtype() == DType::Float32;
}

}  // namespace

// Resize-11 and later, linear mode on H and W with the plain attributes and
// constant scales or sizes: the cases the dense CPU kernel serves itself.
std::unique_ptr<ChangeKernel> make_resize_change_kernel(const Node& node, Op& op,
                                                        const std::vector<const Tensor*>& inputs,
                                                        const std::vector<const Tensor*>& outputs) {
  if (node.op_type != "Resize" || outputs.size() != 1 || !spatial_float(outputs[0])) return nullptr;
  if (inputs.size() < 3 || !spatial_float(inputs[0])) return nullptr;  // opset 11+: X, roi, scales[, sizes]
  if (node.attr_string("mode", "nearest") != "linear" || node.has_attr("axes") || node.attr_int("antialias", 0) != 0 ||
      node.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
    return nullptr;
  LinearCoord coord;
  if (!linear_coord_from_name(node.attr_string("coordinate_transformation_mode", "half_pixel"), &coord)) return nullptr;
  const Tensor& in = *inputs[0];
  const Tensor& out = *outputs[0];
  if (in.dim(0) != out.dim(0) || in.dim(1) != out.dim(1) || in.dim(2) == 0 || in.dim(3) == 0) return nullptr;
  const Tensor* scales = inputs[2] && inputs[2]->numel() > 0 ? inputs[2] : nullptr;
  std::vector<float> s;
  if (scales) {
    if (!scales->has_data()) return nullptr;
    s = scales->to_f32_vector();
    if (s.size() != 4 || s[0] != 1.0f || s[1] != 1.0f) return nullptr;
  } else if (inputs.size() < 4 || !inputs[3] || !inputs[3]->has_data()) {
    return nullptr;  // sizes computed at run time
  }
  BilinearGeometry g;
  g.batch = out.dim(0);
  g.channels = out.dim(1);
  g.in_h = in.dim(2);
  g.in_w = in.dim(3);
  g.out_h = out.dim(2);
  g.out_w = out.dim(3);
  LinearTaps* axes[2] = {&g.y, &g.x};
  for (int a = 0; a < 2; ++a) {
    const int64_t in_len = in.dim(2 + a), out_len = out.dim(2 + a);
    const double scale = scales ? static_cast<double>(s[static_cast<size_t>(2 + a)])
                                : static_cast<double>(out_len) / static_cast<double>(in_len);
    const double resized = scales ? static_cast<double>(in_len) * scale : static_cast<double>(out_len);
    *axes[a] = linear_taps(coord, in_len, out_len, scale, resized);
  }
  return std::make_unique<BilinearChangeKernel>(op, std::move(g));
}

}  // namespace sparseinfer

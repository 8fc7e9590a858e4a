// The CPU backend's Resize: bilinear resizing of NCHW planes (the decoders of
// segmentation networks: MediaPipe selfie, FPN-style upsampling) as two
// separable passes. Each input row the output needs is interpolated
// horizontally once into a small row cache, and every output row is then
// one contiguous, vectorized blend of two cached rows; the reference visits
// four input taps per output pixel through index tables. Every other mode,
// coordinate transformation and rank goes to the reference (ops/resize.cpp),
// which also does the shape inference and the checks.
#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/cpu_ops.h"
#include "cpu/linear_axis.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

class ResizeCpu : public Op {
 public:
  explicit ResizeCpu(const OpInfo& info) : info_(info), reference_(create_reference_op(info)) {
    const Node& node = *info.node;
    const bool known_coord =
        linear_coord_from_name(node.attr_string("coordinate_transformation_mode", "half_pixel"), &coord_);
    // Resize-11 and later with the plain attributes; Upsample and Resize-10 stay on the reference.
    eligible_ = node.op_type == "Resize" && info.opset >= 11 && node.attr_string("mode", "nearest") == "linear" &&
                known_coord && !node.has_attr("axes") && node.attr_int("antialias", 0) == 0 &&
                node.attr_string("keep_aspect_ratio_policy", "stretch") == "stretch";
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    std::vector<Tensor> outs = reference_->infer(inputs);  // checks everything, throws naming the node
    fast_ = false;
    if (!eligible_ || inputs[0]->rank() != 4 || outs[0].rank() != 4) return outs;
    const Tensor& x = *inputs[0];
    const Shape& y = outs[0].shape();
    if (y[0] != x.dim(0) || y[1] != x.dim(1) || x.dim(2) == 0 || x.dim(3) == 0) return outs;
    const Tensor* scales = inputs.size() > 2 && inputs[2] && inputs[2]->numel() > 0 ? inputs[2] : nullptr;
    std::vector<float> s;
    if (scales) {
      s = scales->to_f32_vector();
      if (s.size() != 4 || s[0] != 1.0f || s[1] != 1.0f) return outs;
    }
    for (int a = 0; a < 2; ++a) {
      const int64_t in_len = x.dim(2 + a), out_len = y[static_cast<size_t>(2 + a)];
      const double scale = scales ? static_cast<double>(s[static_cast<size_t>(2 + a)])
                                  : static_cast<double>(out_len) / static_cast<double>(in_len);
      const double resized = scales ? static_cast<double>(in_len) * scale : static_cast<double>(out_len);
      axes_[a] = linear_axis(coord_, in_len, out_len, scale, resized);
    }
    fast_ = true;
    return outs;
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    if (!fast_) {
      reference_->forward(inputs, outputs, ctx);
      return;
    }
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    const int64_t planes = y.dim(0) * y.dim(1), in_h = x.dim(2), in_w = x.dim(3);
    const int64_t out_h = y.dim(2), out_w = y.dim(3);
    if (planes * out_h * out_w == 0) return;
    const int threads = y.numel() >= (1 << 14) ? std::max(ctx.threads, 1) : 1;
    const int workers = static_cast<int>(std::min<int64_t>(threads, planes));
    if (!ctx.scratch) throw Error("Resize needs scratch memory but the execution context has none");
    float* rows = ctx.scratch->floats(static_cast<size_t>(workers * 2 * out_w));
    const LinearAxis& ay = axes_[0];
    const LinearAxis& ax = axes_[1];
    const float* in = x.f32();
    float* out = y.f32();
    parallel_for(workers, workers, [&](int64_t w0, int64_t w1) {
      for (int64_t worker = w0; worker < w1; ++worker) {
        // Two cached horizontally interpolated input rows and the input row each holds.
        float* cache[2] = {rows + worker * 2 * out_w, rows + worker * 2 * out_w + out_w};
        for (int64_t p = planes * worker / workers; p < planes * (worker + 1) / workers; ++p) {
          const float* src = in + p * in_h * in_w;
          float* dst = out + p * out_h * out_w;
          int64_t held[2] = {-1, -1};
          // Input row iy, interpolated; `keep` is the other tap of the output row, never evicted.
          auto row = [&](int64_t iy, int64_t keep) -> const float* {
            if (held[0] == iy) return cache[0];
            if (held[1] == iy) return cache[1];
            const int slot = held[0] == keep ? 1 : 0;
            const float* s = src + iy * in_w;
            float* h = cache[slot];
            for (int64_t o = 0; o < out_w; ++o) h[o] = ax.w0[o] * s[ax.i0[o]] + ax.w1[o] * s[ax.i1[o]];
            held[slot] = iy;
            return h;
          };
          for (int64_t oy = 0; oy < out_h; ++oy) {
            const float* __restrict a = row(ay.i0[oy], ay.i1[oy]);
            const float* __restrict b = row(ay.i1[oy], ay.i0[oy]);
            const float wa = ay.w0[oy], wb = ay.w1[oy];
            float* __restrict d = dst + oy * out_w;
            for (int64_t o = 0; o < out_w; ++o) d[o] = wa * a[o] + wb * b[o];
          }
        }
      }
    });
  }

  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs) const override {
    return reference_->macs(inputs, outputs);
  }

 private:
  OpInfo info_;
  std::unique_ptr<Op> reference_;
  LinearCoord coord_ = LinearCoord::HalfPixel;
  bool eligible_ = false;
  // Plan from infer().
  bool fast_ = false;
  LinearAxis axes_[2];  // H, W
};

}  // namespace

void register_resize_cpu(OpTable& table) {
  table["Resize"] = [](const OpInfo& info) { return std::make_unique<ResizeCpu>(info); };
}

}  // namespace sparseinfer

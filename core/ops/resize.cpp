// Resize (opset 10, 11, 13+) and Upsample (opset 7, 9): nearest, n-linear and
// cubic interpolation with every coordinate transformation mode of the spec.
// Interpolation is separable: each axis gets a table of input taps (index,
// weight) per output index, built once in infer().
#include <array>
#include <cmath>

#include "ops/op.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

enum class InterpMode { Nearest, Linear, Cubic };
enum class CoordMode { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn, TfCropAndResize };
enum class NearestMode { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct AxisTaps {
  int taps = 1;                  // taps per output index
  std::vector<int64_t> index;    // out_len * taps input indices
  std::vector<float> weight;     // out_len * taps weights
  std::vector<uint8_t> outside;  // per output index: maps outside the input (tf_crop_and_resize)
};

// Keys cubic convolution kernel with parameter a, at distance d.
double cubic_weight(double d, double a) {
  d = std::fabs(d);
  if (d <= 1.0) return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
  if (d < 2.0) return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
  return 0.0;
}

class ResizeOp : public Op {
 public:
  explicit ResizeOp(const OpInfo& info) : info_(info) {
    const Node& node = *info.node;
    const bool legacy = node.op_type == "Upsample" || info.opset < 11;
    std::string mode = node.attr_string("mode", "nearest");
    if (mode == "nearest")
      mode_ = InterpMode::Nearest;
    else if (mode == "linear" || (legacy && mode == "bilinear"))
      mode_ = InterpMode::Linear;
    else if (mode == "cubic" && !legacy)
      mode_ = InterpMode::Cubic;
    else
      op_fail(info, "unsupported mode '" + mode + "'");
    if (legacy) {
      // Upsample and Resize-10 map coordinates asymmetrically and take the floor for nearest.
      coord_ = CoordMode::Asymmetric;
      nearest_ = NearestMode::Floor;
      return;
    }
    if (node.has_attr("axes") || node.has_attr("keep_aspect_ratio_policy"))
      op_fail(info, "the opset 18 attributes 'axes' and 'keep_aspect_ratio_policy' are not supported");
    std::string coord = node.attr_string("coordinate_transformation_mode", "half_pixel");
    if (coord == "half_pixel")
      coord_ = CoordMode::HalfPixel;
    else if (coord == "pytorch_half_pixel")
      coord_ = CoordMode::PytorchHalfPixel;
    else if (coord == "align_corners")
      coord_ = CoordMode::AlignCorners;
    else if (coord == "asymmetric")
      coord_ = CoordMode::Asymmetric;
    else if (coord == "tf_half_pixel_for_nn")
      coord_ = CoordMode::TfHalfPixelForNn;
    else if (coord == "tf_crop_and_resize")
      coord_ = CoordMode::TfCropAndResize;
    else
      op_fail(info, "unsupported coordinate_transformation_mode '" + coord + "'");
    std::string nearest = node.attr_string("nearest_mode", "round_prefer_floor");
    if (nearest == "round_prefer_floor")
      nearest_ = NearestMode::RoundPreferFloor;
    else if (nearest == "round_prefer_ceil")
      nearest_ = NearestMode::RoundPreferCeil;
    else if (nearest == "floor")
      nearest_ = NearestMode::Floor;
    else if (nearest == "ceil")
      nearest_ = NearestMode::Ceil;
    else
      op_fail(info, "unsupported nearest_mode '" + nearest + "'");
    cubic_a_ = node.attr_float("cubic_coeff_a", -0.75f);
    exclude_outside_ = node.attr_int("exclude_outside", 0) != 0;
    extrapolation_ = node.attr_float("extrapolation_value", 0.0f);
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input X");
    const Tensor& x = *inputs[0];
    if (x.dtype() != DType::Float32) op_fail(info_, "only float32 X is supported");
    const int rank = x.rank();
    if (rank == 0) op_fail(info_, "X must have at least one dimension");
    auto input = [&](size_t i) -> const Tensor* {
      const Tensor* t = i < inputs.size() ? inputs[i] : nullptr;
      return t && t->numel() > 0 ? t : nullptr;  // an empty tensor marks an unused input
    };
    auto constant = [&](const Tensor* t, const char* name) {
      if (!t->has_data())
        op_fail(info_, std::string("'") + name + "' must be a constant (initializer or computable from shapes)");
    };

    std::vector<double> scales;
    std::vector<int64_t> sizes;
    const Tensor* scales_in = nullptr;
    const Tensor* sizes_in = nullptr;
    if (info_.node->op_type == "Upsample" && info_.opset < 9) {
      for (float s : info_.node->attr_floats("scales", {})) scales.push_back(s);
      if (scales.empty()) op_fail(info_, "missing 'scales' attribute");
    } else {
      const bool legacy = info_.node->op_type == "Upsample" || info_.opset < 11;
      scales_in = input(legacy ? 1 : 2);
      sizes_in = legacy ? nullptr : input(3);
      if (scales_in && sizes_in) op_fail(info_, "only one of 'scales' and 'sizes' may be given");
      if (!scales_in && !sizes_in) op_fail(info_, "one of 'scales' and 'sizes' is required");
      if (scales_in) {
        constant(scales_in, "scales");
        if (scales_in->dtype() != DType::Float32) op_fail(info_, "'scales' must be float32");
        for (float s : scales_in->to_f32_vector()) scales.push_back(s);
      } else {
        constant(sizes_in, "sizes");
        if (sizes_in->dtype() != DType::Int64) op_fail(info_, "'sizes' must be int64");
        sizes = sizes_in->to_i64_vector();
      }
    }
    if (!scales.empty() && static_cast<int>(scales.size()) != rank)
      op_fail(info_, "'scales' has " + std::to_string(scales.size()) + " values for rank " + std::to_string(rank));
    if (!sizes.empty() && static_cast<int>(sizes.size()) != rank)
      op_fail(info_, "'sizes' has " + std::to_string(sizes.size()) + " values for rank " + std::to_string(rank));

    std::vector<float> roi;
    if (coord_ == CoordMode::TfCropAndResize) {
      const Tensor* roi_in = input(1);
      if (roi_in) {
        constant(roi_in, "roi");
        roi = roi_in->to_f32_vector();
      }
      if (static_cast<int>(roi.size()) != 2 * rank)
        op_fail(info_, "tf_crop_and_resize needs an 'roi' of " + std::to_string(2 * rank) + " values");
    }

    Shape out(static_cast<size_t>(rank));
    axes_.assign(static_cast<size_t>(rank), {});
    for (int a = 0; a < rank; ++a) {
      const int64_t in_len = x.dim(a);
      double scale, resized_len;
      if (sizes.empty()) {
        scale = scales[static_cast<size_t>(a)];
        if (!(scale > 0.0)) op_fail(info_, "scales must be positive");
        resized_len = static_cast<double>(in_len) * scale;
        out[static_cast<size_t>(a)] = static_cast<int64_t>(std::floor(resized_len));
      } else {
        if (sizes[static_cast<size_t>(a)] < 0) op_fail(info_, "sizes must not be negative");
        out[static_cast<size_t>(a)] = sizes[static_cast<size_t>(a)];
        resized_len = static_cast<double>(sizes[static_cast<size_t>(a)]);
        scale = in_len > 0 ? resized_len / static_cast<double>(in_len) : 1.0;
      }
      if (in_len == 0 && out[static_cast<size_t>(a)] > 0) op_fail(info_, "cannot resize an empty axis");
      double roi_start = roi.empty() ? 0.0 : roi[static_cast<size_t>(a)];
      double roi_end = roi.empty() ? 1.0 : roi[static_cast<size_t>(a + rank)];
      axes_[static_cast<size_t>(a)] =
          build_taps(in_len, out[static_cast<size_t>(a)], scale, resized_len, roi_start, roi_end);
    }
    if (rank > kMaxRank)
      op_fail(info_, "rank " + std::to_string(rank) + " is above the supported " + std::to_string(kMaxRank));
    in_strides_.assign(static_cast<size_t>(rank), 1);
    for (int a = rank - 1; a > 0; --a)
      in_strides_[static_cast<size_t>(a - 1)] = in_strides_[static_cast<size_t>(a)] * x.dim(a);
    // Leading axes that map one to one let forward() work plane by plane.
    planar_ = rank >= 2;
    for (int a = 0; a + 2 < rank; ++a) planar_ = planar_ && axes_[static_cast<size_t>(a)].taps == 1;
    return {Tensor::descriptor(DType::Float32, out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    if (y.numel() == 0) return;
    if (planar_)
      forward_planar(x, y, ctx.threads);
    else
      forward_general(x, y);
  }

 private:
  double original_coordinate(int64_t o, int64_t in_len, int64_t out_len, double scale, double resized_len,
                             double roi_start, double roi_end) const {
    const double xr = static_cast<double>(o);
    switch (coord_) {
      case CoordMode::HalfPixel:
        return (xr + 0.5) / scale - 0.5;
      case CoordMode::PytorchHalfPixel:
        return out_len > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
      case CoordMode::AlignCorners:
        return resized_len == 1.0 ? 0.0 : xr * static_cast<double>(in_len - 1) / (resized_len - 1.0);
      case CoordMode::Asymmetric:
        return xr / scale;
      case CoordMode::TfHalfPixelForNn:
        return (xr + 0.5) / scale;
      case CoordMode::TfCropAndResize:
        if (out_len > 1)
          return roi_start * static_cast<double>(in_len - 1) +
                 xr * (roi_end - roi_start) * static_cast<double>(in_len - 1) / static_cast<double>(out_len - 1);
        return 0.5 * (roi_start + roi_end) * static_cast<double>(in_len - 1);
    }
    return xr;
  }

  int64_t nearest_index(double xo) const {
    const double lower = std::floor(xo);
    const double frac = xo - lower;
    if (frac == 0.0) return static_cast<int64_t>(lower);
    switch (nearest_) {
      case NearestMode::RoundPreferFloor:
        return static_cast<int64_t>(frac <= 0.5 ? lower : lower + 1.0);
      case NearestMode::RoundPreferCeil:
        return static_cast<int64_t>(frac < 0.5 ? lower : lower + 1.0);
      case NearestMode::Floor:
        return static_cast<int64_t>(lower);
      case NearestMode::Ceil:
        return static_cast<int64_t>(lower + 1.0);
    }
    return static_cast<int64_t>(lower);
  }

  AxisTaps build_taps(int64_t in_len, int64_t out_len, double scale, double resized_len, double roi_start,
                      double roi_end) const {
    AxisTaps axis;
    axis.taps = mode_ == InterpMode::Nearest ? 1 : mode_ == InterpMode::Linear ? 2 : 4;
    const size_t k = static_cast<size_t>(axis.taps);
    axis.index.resize(static_cast<size_t>(out_len) * k);
    axis.weight.resize(static_cast<size_t>(out_len) * k);
    axis.outside.assign(static_cast<size_t>(out_len), 0);
    auto clamp = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), in_len - 1); };
    for (int64_t o = 0; o < out_len; ++o) {
      const double xo = original_coordinate(o, in_len, out_len, scale, resized_len, roi_start, roi_end);
      if (coord_ == CoordMode::TfCropAndResize && (xo < 0.0 || xo > static_cast<double>(in_len - 1)))
        axis.outside[static_cast<size_t>(o)] = 1;
      int64_t* idx = &axis.index[static_cast<size_t>(o) * k];
      float* w = &axis.weight[static_cast<size_t>(o) * k];
      const double lower = std::floor(xo);
      const double r = xo - lower;
      const int64_t base = static_cast<int64_t>(lower);
      if (mode_ == InterpMode::Nearest) {
        idx[0] = clamp(nearest_index(xo));
        w[0] = 1.0f;
      } else if (mode_ == InterpMode::Linear) {
        idx[0] = clamp(base);
        idx[1] = clamp(base + 1);
        w[0] = static_cast<float>(1.0 - r);
        w[1] = static_cast<float>(r);
      } else {
        double cw[4], total = 0.0;
        for (int t = 0; t < 4; ++t) {
          const int64_t i = base - 1 + t;
          cw[t] = cubic_weight(r - static_cast<double>(t - 1), cubic_a_);
          if (exclude_outside_ && (i < 0 || i >= in_len)) cw[t] = 0.0;
          total += cw[t];
          idx[t] = clamp(i);
        }
        for (int t = 0; t < 4; ++t) w[t] = static_cast<float>(exclude_outside_ && total != 0.0 ? cw[t] / total : cw[t]);
      }
    }
    // An axis where every output takes exactly one input with weight 1 needs one tap.
    bool single = true;
    for (int64_t o = 0; o < out_len && single; ++o) {
      int nonzero = 0;
      for (size_t t = 0; t < k; ++t) {
        float w = axis.weight[static_cast<size_t>(o) * k + t];
        if (w != 0.0f) ++nonzero;
        if (w != 0.0f && w != 1.0f) single = false;
      }
      single = single && nonzero == 1;
    }
    if (single && k > 1) {
      AxisTaps one;
      one.outside = axis.outside;
      for (int64_t o = 0; o < out_len; ++o)
        for (size_t t = 0; t < k; ++t)
          if (axis.weight[static_cast<size_t>(o) * k + t] != 0.0f) {
            one.index.push_back(axis.index[static_cast<size_t>(o) * k + t]);
            one.weight.push_back(1.0f);
          }
      return one;
    }
    return axis;
  }

  // Leading axes have one tap each: interpolate each output plane from one input plane.
  void forward_planar(const Tensor& x, Tensor& y, int threads) const {
    const int rank = x.rank();
    const AxisTaps& ay = axes_[static_cast<size_t>(rank - 2)];
    const AxisTaps& ax = axes_[static_cast<size_t>(rank - 1)];
    const int64_t in_h = x.dim(rank - 2), in_w = x.dim(rank - 1);
    const int64_t out_h = y.dim(rank - 2), out_w = y.dim(rank - 1);
    const int64_t planes = y.numel() / (out_h * out_w);
    const int ky = ay.taps, kx = ax.taps;
    const float* in = x.f32();
    float* out = y.f32();
    const float extrapolation = extrapolation_;
    parallel_for(planes, y.numel() >= (1 << 14) ? threads : 1, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        // Source plane and outside flag from the one-tap leading axes.
        int64_t rem = p, src_plane = 0, stride = 1;
        bool plane_outside = false;
        for (int a = rank - 3; a >= 0; --a) {
          const AxisTaps& lead = axes_[static_cast<size_t>(a)];
          const int64_t o = rem % y.dim(a);
          rem /= y.dim(a);
          src_plane += lead.index[static_cast<size_t>(o)] * stride;
          stride *= x.dim(a);
          plane_outside = plane_outside || lead.outside[static_cast<size_t>(o)];
        }
        const float* src = in + src_plane * in_h * in_w;
        float* dst = out + p * out_h * out_w;
        for (int64_t oy = 0; oy < out_h; ++oy) {
          const int64_t* iy = &ay.index[static_cast<size_t>(oy * ky)];
          const float* wy = &ay.weight[static_cast<size_t>(oy * ky)];
          const bool row_outside = plane_outside || ay.outside[static_cast<size_t>(oy)];
          float* drow = dst + oy * out_w;
          if (ky == 1 && kx == 1 && !row_outside && coord_ != CoordMode::TfCropAndResize) {
            const float* srow = src + iy[0] * in_w;
            for (int64_t ox = 0; ox < out_w; ++ox) drow[ox] = srow[ax.index[static_cast<size_t>(ox)]];
            continue;
          }
          for (int64_t ox = 0; ox < out_w; ++ox) {
            if (row_outside || ax.outside[static_cast<size_t>(ox)]) {
              drow[ox] = extrapolation;
              continue;
            }
            const int64_t* ix = &ax.index[static_cast<size_t>(ox * kx)];
            const float* wx = &ax.weight[static_cast<size_t>(ox * kx)];
            float sum = 0.0f;
            for (int ty = 0; ty < ky; ++ty) {
              const float* srow = src + iy[ty] * in_w;
              float line = 0.0f;
              for (int tx = 0; tx < kx; ++tx) line += wx[tx] * srow[ix[tx]];
              sum += wy[ty] * line;
            }
            drow[ox] = sum;
          }
        }
      }
    });
  }

  // Any rank and tap pattern: every output sums the product of its taps on all axes.
  void forward_general(const Tensor& x, Tensor& y) const {
    const int rank = x.rank();
    const float* in = x.f32();
    float* out = y.f32();
    const std::vector<int64_t>& in_strides = in_strides_;
    std::array<int64_t, kMaxRank> coord{}, tap{};
    for (int64_t n = 0; n < y.numel(); ++n) {
      bool outside = false;
      for (int a = 0; a < rank; ++a)
        outside = outside || axes_[static_cast<size_t>(a)].outside[static_cast<size_t>(coord[static_cast<size_t>(a)])];
      float sum = 0.0f;
      if (outside) {
        sum = extrapolation_;
      } else {
        tap.fill(0);
        for (;;) {
          float w = 1.0f;
          int64_t offset = 0;
          for (int a = 0; a < rank; ++a) {
            const AxisTaps& axis = axes_[static_cast<size_t>(a)];
            size_t at = static_cast<size_t>(coord[static_cast<size_t>(a)] * axis.taps + tap[static_cast<size_t>(a)]);
            w *= axis.weight[at];
            offset += axis.index[at] * in_strides[static_cast<size_t>(a)];
          }
          sum += w * in[offset];
          int a = rank - 1;
          for (; a >= 0; --a) {
            if (++tap[static_cast<size_t>(a)] < axes_[static_cast<size_t>(a)].taps) break;
            tap[static_cast<size_t>(a)] = 0;
          }
          if (a < 0) break;
        }
      }
      out[n] = sum;
      for (int a = rank - 1; a >= 0; --a) {
        if (++coord[static_cast<size_t>(a)] < y.dim(a)) break;
        coord[static_cast<size_t>(a)] = 0;
      }
    }
  }

  OpInfo info_;
  InterpMode mode_ = InterpMode::Nearest;
  CoordMode coord_ = CoordMode::HalfPixel;
  NearestMode nearest_ = NearestMode::RoundPreferFloor;
  double cubic_a_ = -0.75;
  bool exclude_outside_ = false;
  float extrapolation_ = 0.0f;
  static constexpr int kMaxRank = 16;
  std::vector<AxisTaps> axes_;
  std::vector<int64_t> in_strides_;
  bool planar_ = false;
};

}  // namespace

void register_resize_ops(OpTable& table) {
  table["Resize"] = [](const OpInfo& info) { return std::make_unique<ResizeOp>(info); };
  table["Upsample"] = [](const OpInfo& info) { return std::make_unique<ResizeOp>(info); };
}

}  // namespace sparseinfer

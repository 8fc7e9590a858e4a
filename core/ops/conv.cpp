// Conv and ConvTranspose (ONNX opsets 1-17): shape logic here, the kernels in
// core/cpu/ (tiled im2col + SGEMM, direct depthwise, GEMM + col2im).
#include <algorithm>

#include "cpu/conv_gemm.h"
#include "cpu/depthwise.h"
#include "cpu/im2col.h"
#include "cpu/packed_gemm.h"
#include "ops/conv.h"
#include "ops/conv_geometry.h"
#include "util/parallel.h"
#include "cpu/sgemm.h"
#include "ops/window.h"
#include "ops/activation.h"
#include "ops/op.h"

namespace sparseinfer {

namespace {

// Checks X, W and B of a (transposed) convolution. Returns the spatial rank.
int check_conv_inputs(const OpInfo& info, const std::vector<const Tensor*>& inputs, const WindowAttrs& attrs) {
  if (inputs.size() < 2 || !inputs[0] || !inputs[1]) op_fail(info, "needs inputs X and W");
  const Tensor& x = *inputs[0];
  const Tensor& wt = *inputs[1];
  for (size_t i = 0; i < inputs.size() && i < 3; ++i)
    if (inputs[i] && inputs[i]->dtype() != DType::Float32)
      op_fail(info,
              "input " + std::to_string(i) + " is " + dtype_name(inputs[i]->dtype()) + ", only float32 is supported");
  if (x.rank() < 3 || x.rank() > 5)
    op_fail(info,
            "input X has shape " + shape_str(x.shape()) + "; 1-D to 3-D convolutions (rank 3 to 5) are supported");
  if (wt.rank() != x.rank())
    op_fail(info, "weight W has shape " + shape_str(wt.shape()) + ", expected rank " + std::to_string(x.rank()));
  const int rank = x.rank() - 2;
  if (!attrs.kernel.empty()) {
    if (static_cast<int>(attrs.kernel.size()) != rank)
      op_fail(info, "kernel_shape has " + std::to_string(attrs.kernel.size()) + " values for a " +
                        std::to_string(rank) + "-D convolution");
    for (int i = 0; i < rank; ++i)
      if (attrs.kernel[i] != wt.dim(2 + i))
        op_fail(info, "kernel_shape does not match the weight shape " + shape_str(wt.shape()));
  }
  return rank;
}

WindowAttrs with_kernel_from_weight(WindowAttrs a, const Tensor& wt) {
  a.kernel.assign(wt.shape().begin() + 2, wt.shape().end());
  return a;
}

class ConvOp : public Op {
 public:
  explicit ConvOp(const OpInfo& info) : info_(info), attrs_(window_attrs(*info.node)) {
    group_ = info.node->attr_int("group", 1);
    if (group_ < 1) op_fail(info_, "group must be positive");
    act_ = fused_activation(*info.node);
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    const int rank = check_conv_inputs(info_, inputs, attrs_);
    const Tensor& x = *inputs[0];
    const Tensor& wt = *inputs[1];
    const int64_t cin = x.dim(1), cout = wt.dim(0);
    if (cin % group_ != 0 || cout % group_ != 0)
      op_fail(info_, "channels (" + std::to_string(cin) + " in, " + std::to_string(cout) +
                         " out) are not divisible by group " + std::to_string(group_));
    if (wt.dim(1) != cin / group_)
      op_fail(info_, "weight W has shape " + shape_str(wt.shape()) + " but input X has " + std::to_string(cin) +
                         " channels in " + std::to_string(group_) + " groups");
    const Tensor* b = inputs.size() > 2 ? inputs[2] : nullptr;
    if (b && (b->rank() != 1 || b->dim(0) != cout))
      op_fail(info_, "bias B has shape " + shape_str(b->shape()) + ", expected [" + std::to_string(cout) + "]");
    Window win;
    std::vector<int64_t> spatial(x.shape().begin() + 2, x.shape().end());
    std::string err = plan_window(with_kernel_from_weight(attrs_, wt), spatial, win);
    if (!err.empty()) op_fail(info_, err);
    shape_.window = win;
    shape_.groups = group_;
    shape_.in_channels = cin;
    shape_.out_channels = cout;
    batch_ = x.dim(0);
    depthwise_ = group_ == cin && wt.dim(1) == 1 && group_ > 1;
    // Constant weights are packed once here for the AVX-512 kernel; others go to OpenBLAS each frame.
    packed_ = PackedWeights{};
    shape_.packed = nullptr;
    // Below one strip of output pixels (SE blocks: 1x1 maps) the kernel would run mostly masked lanes.
    const bool wide_enough = win.out_size() >= 32;
    if (!depthwise_ && wide_enough && wt.has_data() && packed_gemm_supported()) {
      pack_weights(wt.f32(), group_, cout / group_, shape_.k_per_group(), packed_);
      shape_.packed = &packed_;
    }
    Shape out{batch_, cout};
    for (int i = 0; i < rank; ++i) out.push_back(win.out[Window::kDims - rank + i]);
    return {Tensor::descriptor(DType::Float32, out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const float* x = inputs[0]->f32();
    const float* wt = inputs[1]->f32();
    const float* bias = inputs.size() > 2 && inputs[2] ? inputs[2]->f32() : nullptr;
    float* y = outputs[0]->f32();
    const Window& w = shape_.window;
    const int threads = std::max(ctx.threads, 1);
    const int64_t in_image = shape_.in_channels * w.in_size(), out_image = shape_.out_channels * w.out_size();
    if (depthwise_) {
      float* scratch = nullptr;
      if (int64_t need = depthwise_scratch_floats(w, threads); need > 0) {
        if (!ctx.scratch) throw Error("Conv needs scratch memory but the execution context has none");
        scratch = ctx.scratch->floats(static_cast<size_t>(need));
      }
      for (int64_t n = 0; n < batch_; ++n)
        depthwise_conv_image(x + n * in_image, wt, bias, y + n * out_image, shape_.in_channels,
                             shape_.out_channels / shape_.in_channels, w, act_, threads, scratch);
      return;
    }
    float* scratch = nullptr;
    if (int64_t need = conv_gemm_scratch_floats(shape_, threads); need > 0) {
      if (!ctx.scratch) throw Error("Conv needs scratch memory but the execution context has none");
      scratch = ctx.scratch->floats(static_cast<size_t>(need));
    }
    for (int64_t n = 0; n < batch_; ++n)
      conv_gemm_image(x + n * in_image, wt, bias, y + n * out_image, shape_, act_, threads, scratch);
  }

  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs) const override {
    const Tensor& y = *outputs[0];
    const Tensor& wt = *inputs[1];
    // N * Cout * out_spatial * (Cin / group) * kernel volume
    return y.numel() * shape_numel(Shape(wt.shape().begin() + 1, wt.shape().end()));
  }

 private:
  OpInfo info_;
  WindowAttrs attrs_;
  int64_t group_ = 1;
  Activation act_;
  // Plan from infer().
  ConvGemmShape shape_;
  PackedWeights packed_;

 public:
  const PackedWeights* packed() const { return shape_.packed; }
  int64_t batch_ = 0;
  bool depthwise_ = false;
};

class ConvTransposeOp : public Op {
 public:
  explicit ConvTransposeOp(const OpInfo& info) : info_(info), attrs_(window_attrs(*info.node)) {
    group_ = info.node->attr_int("group", 1);
    if (group_ < 1) op_fail(info_, "group must be positive");
    output_padding_ = info.node->attr_ints("output_padding", {});
    output_shape_ = info.node->attr_ints("output_shape", {});
    act_ = fused_activation(*info.node);
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    const int rank = check_conv_inputs(info_, inputs, attrs_);
    const Tensor& x = *inputs[0];
    const Tensor& wt = *inputs[1];
    const int64_t cin = x.dim(1);
    if (cin % group_ != 0) op_fail(info_, "input channels are not divisible by group " + std::to_string(group_));
    if (wt.dim(0) != cin)
      op_fail(info_,
              "weight W has shape " + shape_str(wt.shape()) + " but input X has " + std::to_string(cin) + " channels");
    const int64_t cout = wt.dim(1) * group_;
    const Tensor* b = inputs.size() > 2 ? inputs[2] : nullptr;
    if (b && (b->rank() != 1 || b->dim(0) != cout))
      op_fail(info_, "bias B has shape " + shape_str(b->shape()) + ", expected [" + std::to_string(cout) + "]");
    std::vector<int64_t> spatial(x.shape().begin() + 2, x.shape().end());
    std::vector<int64_t> out_spatial = output_shape_;
    // output_shape may include the batch and channel dimensions.
    if (static_cast<int>(out_spatial.size()) == rank + 2)
      out_spatial.erase(out_spatial.begin(), out_spatial.begin() + 2);
    Window tw;
    std::string err =
        plan_transposed_window(with_kernel_from_weight(attrs_, wt), spatial, output_padding_, out_spatial, tw);
    if (!err.empty()) op_fail(info_, err);
    // The forward-convolution view: its input is our output, its output our input.
    window_ = tw;
    std::swap(window_.in, window_.out);
    batch_ = x.dim(0);
    cin_ = cin;
    cout_ = cout;
    Shape out{batch_, cout};
    for (int i = 0; i < rank; ++i) out.push_back(tw.out[Window::kDims - rank + i]);
    return {Tensor::descriptor(DType::Float32, out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const float* x = inputs[0]->f32();
    const float* wt = inputs[1]->f32();
    const float* bias = inputs.size() > 2 && inputs[2] ? inputs[2]->f32() : nullptr;
    float* y = outputs[0]->f32();
    const int64_t in_pixels = window_.out_size(), out_pixels = window_.in_size();
    const int64_t cin_g = cin_ / group_, cout_g = cout_ / group_, rows_g = cout_g * window_.kernel_size();
    // Small layers are not worth waking threads for.
    const int threads = rows_g * in_pixels * cin_g < (int64_t(8) << 20) ? 1 : std::max(ctx.threads, 1);
    if (!ctx.scratch) throw Error("ConvTranspose needs scratch memory but the execution context has none");
    float* col = ctx.scratch->floats(static_cast<size_t>(rows_g * in_pixels));
    for (int64_t n = 0; n < batch_; ++n) {
      float* y_n = y + n * cout_ * out_pixels;
      for (int64_t c = 0; c < cout_; ++c)
        std::fill(y_n + c * out_pixels, y_n + (c + 1) * out_pixels, bias ? bias[c] : 0.0f);
      for (int64_t g = 0; g < group_; ++g) {
        // col[(cout_g * kvol) x in_pixels] = W_g^T * X_g, with W_g stored [cin_g x (cout_g * kvol)].
        sgemm(true, false, rows_g, in_pixels, cin_g, 1.0f, wt + g * cin_g * rows_g, rows_g,
              x + (n * cin_ + g * cin_g) * in_pixels, in_pixels, 0.0f, col, in_pixels, threads);
        float* y_g = y_n + g * cout_g * out_pixels;
        parallel_for(cout_g, threads, [&](int64_t c0, int64_t c1) { col2im_add(col, c0, c1, window_, y_g); });
      }
      if (act_.kind != ActivationKind::None)
        parallel_for(cout_, threads, [&](int64_t c0, int64_t c1) {
          act_.apply_inplace(y_n + c0 * out_pixels, (c1 - c0) * out_pixels);
        });
    }
  }

  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>&) const override {
    const Tensor& x = *inputs[0];
    const Tensor& wt = *inputs[1];
    // N * Cin * in_spatial * (Cout / group) * kernel volume
    return x.numel() * shape_numel(Shape(wt.shape().begin() + 1, wt.shape().end()));
  }

 private:
  OpInfo info_;
  WindowAttrs attrs_;
  int64_t group_ = 1;
  std::vector<int64_t> output_padding_, output_shape_;
  Activation act_;
  Window window_;  // forward-convolution view (in = our output)
  int64_t batch_ = 0, cin_ = 0, cout_ = 0;
};

}  // namespace

const PackedWeights* conv_packed_weights(const Op& op) {
  const auto* conv = dynamic_cast<const ConvOp*>(&op);
  return conv ? conv->packed() : nullptr;
}

void register_conv_ops(OpTable& table) {
  table["Conv"] = [](const OpInfo& info) { return std::make_unique<ConvOp>(info); };
  table["ConvTranspose"] = [](const OpInfo& info) { return std::make_unique<ConvTransposeOp>(info); };
}

}  // namespace sparseinfer

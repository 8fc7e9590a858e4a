// The CPU backend's Conv: packed implicit GEMM (AVX-512 or AVX2) or tiled im2col +
// SGEMM with fused bias and activation, and a direct loop for depthwise. Shape
// logic is the reference's (ops/conv.cpp).
#include "cpu/conv_cpu.h"

#include <algorithm>

#include "cpu/conv_gemm.h"
#include "cpu/cpu_ops.h"
#include "cpu/depthwise.h"
#include "ops/conv.h"

namespace sparseinfer {

namespace {

class ConvCpu : public ConvOp {
 public:
  using ConvOp::ConvOp;

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    std::vector<Tensor> outputs = ConvOp::infer(inputs);
    const Tensor& wt = *inputs[1];
    shape_.window = window_;
    shape_.groups = group_;
    shape_.in_channels = in_channels_;
    shape_.out_channels = out_channels_;
    depthwise_ = group_ == in_channels_ && wt.dim(1) == 1 && group_ > 1;
    // Constant weights are packed once here for the packed kernel (AVX-512 or AVX2); others go to OpenBLAS each frame.
    packed_ = PackedWeights{};
    shape_.packed = nullptr;
    // Below one strip of output pixels (SE blocks: 1x1 maps) the kernel would run mostly masked lanes.
    const bool wide_enough = window_.out_size() >= 32;
    if (!depthwise_ && wide_enough && wt.has_data() && packed_conv_tile_supported()) {
      pack_weights(wt.f32(), group_, out_channels_ / group_, shape_.k_per_group(), packed_);
      shape_.packed = &packed_;
    }
    return outputs;
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

  const PackedWeights* packed() const { return shape_.packed; }

  int64_t scratch_floats(int threads) const {
    const int t = std::max(threads, 1);
    return depthwise_ ? depthwise_scratch_floats(shape_.window, t) : conv_gemm_scratch_floats(shape_, t);
  }

 private:
  // Plan from infer().
  ConvGemmShape shape_;
  PackedWeights packed_;
  bool depthwise_ = false;
};

}  // namespace

const PackedWeights* conv_packed_weights(const Op& op) {
  const auto* conv = dynamic_cast<const ConvCpu*>(&op);
  // Change mode's callers run packed_conv_pixels on these: only where it is fast (packed_gemm.h).
  return conv && packed_gemm_supported() ? conv->packed() : nullptr;
}

int64_t conv_scratch_floats(const Op& op, int threads) {
  const auto* conv = dynamic_cast<const ConvCpu*>(&op);
  return conv ? conv->scratch_floats(threads) : 0;
}

void register_conv_cpu(OpTable& table) {
  table["Conv"] = [](const OpInfo& info) { return std::make_unique<ConvCpu>(info); };
}

}  // namespace sparseinfer

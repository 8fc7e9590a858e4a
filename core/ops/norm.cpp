// BatchNormalization in inference form: y = scale * (x - mean) / sqrt(var + eps) + B.
#include <cmath>

#include "ops/op.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

class BatchNormOp : public Op {
 public:
  explicit BatchNormOp(const OpInfo& info) : info_(info) {
    const Node& node = *info.node;
    epsilon_ = node.attr_float("epsilon", 1e-5f);
    if (node.attr_int("training_mode", 0) != 0) op_fail(info, "training_mode=1 is not supported (inference only)");
    for (size_t i = 1; i < node.outputs.size(); ++i)
      if (!node.outputs[i].empty())
        op_fail(info, "the running mean/variance outputs are not supported (inference only)");
    // Before opset 9, spatial=0 meant statistics per activation (C x D1 x ...).
    per_activation_ = info.opset < 9 && node.attr_int("spatial", 1) == 0;
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.size() != 5) op_fail(info_, "expects 5 inputs (X, scale, B, mean, var)");
    for (const Tensor* t : inputs)
      if (!t || t->dtype() != DType::Float32) op_fail(info_, "all inputs must be present and float32");
    const Tensor& x = *inputs[0];
    if (x.rank() < 2) op_fail(info_, "X must have at least 2 dimensions (N x C ...), got " + shape_str(x.shape()));
    int64_t params = per_activation_ ? x.numel() / std::max<int64_t>(x.dim(0), 1) : x.dim(1);
    for (int i = 1; i < 5; ++i)
      if (inputs[i]->numel() != params)
        op_fail(info_, "parameter input " + std::to_string(i) + " has shape " + shape_str(inputs[i]->shape()) +
                           ", expected " + std::to_string(params) + " values");
    return {Tensor::descriptor(DType::Float32, x.shape())};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& x = *inputs[0];
    const float* scale = inputs[1]->f32();
    const float* bias = inputs[2]->f32();
    const float* mean = inputs[3]->f32();
    const float* var = inputs[4]->f32();
    const int64_t batch = x.dim(0);
    const int64_t channels = per_activation_ ? x.numel() / std::max<int64_t>(batch, 1) : x.dim(1);
    const int64_t plane = per_activation_ ? 1 : x.numel() / std::max<int64_t>(batch * channels, 1);
    const float* in = x.f32();
    float* out = outputs[0]->f32();
    const float eps = epsilon_;
    int threads = x.numel() >= (1 << 15) ? ctx.threads : 1;
    parallel_for(batch * channels, threads, [&](int64_t begin, int64_t end) {
      for (int64_t nc = begin; nc < end; ++nc) {
        int64_t c = nc % channels;
        float a = scale[c] / std::sqrt(var[c] + eps);
        float b = bias[c] - mean[c] * a;
        const float* src = in + nc * plane;
        float* dst = out + nc * plane;
        for (int64_t i = 0; i < plane; ++i) dst[i] = src[i] * a + b;
      }
    });
  }

  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>&) const override {
    return inputs[0]->numel();
  }

 private:
  OpInfo info_;
  float epsilon_ = 1e-5f;
  bool per_activation_ = false;
};

}  // namespace

void register_norm_ops(OpTable& table) {
  table["BatchNormalization"] = [](const OpInfo& info) { return std::make_unique<BatchNormOp>(info); };
}

}  // namespace sparseinfer

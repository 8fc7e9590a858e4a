// Conv reference: shape logic and a direct convolution anyone can check
// against the ONNX definition. The CPU backend's fast path is core/cpu/conv_cpu.cpp.
#include "ops/conv.h"

#include "ops/conv_geometry.h"

namespace sparseinfer {

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

WindowAttrs with_kernel_from_weight(WindowAttrs attrs, const Tensor& weight) {
  attrs.kernel.assign(weight.shape().begin() + 2, weight.shape().end());
  return attrs;
}

ConvOp::ConvOp(const OpInfo& info) : info_(info), attrs_(window_attrs(*info.node)) {
  group_ = info.node->attr_int("group", 1);
  if (group_ < 1) op_fail(info_, "group must be positive");
  act_ = fused_activation(*info.node);
}

std::vector<Tensor> ConvOp::infer(const std::vector<const Tensor*>& inputs) {
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
  std::vector<int64_t> spatial(x.shape().begin() + 2, x.shape().end());
  std::string err = plan_window(with_kernel_from_weight(attrs_, wt), spatial, window_);
  if (!err.empty()) op_fail(info_, err);
  batch_ = x.dim(0);
  in_channels_ = cin;
  out_channels_ = cout;
  Shape out{batch_, cout};
  for (int i = 0; i < rank; ++i) out.push_back(window_.out[Window::kDims - rank + i]);
  return {Tensor::descriptor(DType::Float32, out)};
}

void ConvOp::forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) {
  const float* x = inputs[0]->f32();
  const float* wt = inputs[1]->f32();
  const float* bias = inputs.size() > 2 && inputs[2] ? inputs[2]->f32() : nullptr;
  float* y = outputs[0]->f32();
  const Window& w = window_;
  const int64_t cin_g = in_channels_ / group_, cout_g = out_channels_ / group_;
  for (int64_t n = 0; n < batch_; ++n)
    for (int64_t oc = 0; oc < out_channels_; ++oc) {
      const int64_t first_ic = oc / cout_g * cin_g;  // input channels of oc's group
      for (int64_t od = 0; od < w.out[0]; ++od)
        for (int64_t oh = 0; oh < w.out[1]; ++oh)
          for (int64_t ow = 0; ow < w.out[2]; ++ow) {
            float sum = bias ? bias[oc] : 0.0f;
            for (int64_t ic = 0; ic < cin_g; ++ic) {
              const float* in = x + (n * in_channels_ + first_ic + ic) * w.in_size();
              const float* k = wt + (oc * cin_g + ic) * w.kernel_size();
              for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
                const int64_t id = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
                if (id < 0 || id >= w.in[0]) continue;  // zero padding
                for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
                  const int64_t ih = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
                  if (ih < 0 || ih >= w.in[1]) continue;
                  for (int64_t kw = 0; kw < w.kernel[2]; ++kw) {
                    const int64_t iw = ow * w.stride[2] - w.pad_begin[2] + kw * w.dilation[2];
                    if (iw < 0 || iw >= w.in[2]) continue;
                    sum += in[(id * w.in[1] + ih) * w.in[2] + iw] * k[(kd * w.kernel[1] + kh) * w.kernel[2] + kw];
                  }
                }
              }
            }
            y[((n * out_channels_ + oc) * w.out[0] + od) * w.out[1] * w.out[2] + oh * w.out[2] + ow] = act_.apply(sum);
          }
    }
}

int64_t ConvOp::macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs) const {
  const Tensor& y = *outputs[0];
  const Tensor& wt = *inputs[1];
  // N * Cout * out_spatial * (Cin / group) * kernel volume
  return y.numel() * shape_numel(Shape(wt.shape().begin() + 1, wt.shape().end()));
}

void register_conv_ops(OpTable& table) {
  table["Conv"] = [](const OpInfo& info) { return std::make_unique<ConvOp>(info); };
}

}  // namespace sparseinfer

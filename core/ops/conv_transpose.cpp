// ConvTranspose reference: shape logic and the adjoint of a direct
// convolution. The CPU backend's fast path is core/cpu/conv_transpose_cpu.cpp.
#include "ops/conv_transpose.h"

#include <utility>

#include "ops/conv.h"
#include "ops/conv_geometry.h"

namespace sparseinfer {

ConvTransposeOp::ConvTransposeOp(const OpInfo& info) : info_(info), attrs_(window_attrs(*info.node)) {
  group_ = info.node->attr_int("group", 1);
  if (group_ < 1) op_fail(info_, "group must be positive");
  output_padding_ = info.node->attr_ints("output_padding", {});
  output_shape_ = info.node->attr_ints("output_shape", {});
  act_ = fused_activation(*info.node);
}

std::vector<Tensor> ConvTransposeOp::infer(const std::vector<const Tensor*>& inputs) {
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
  if (static_cast<int>(out_spatial.size()) == rank + 2) out_spatial.erase(out_spatial.begin(), out_spatial.begin() + 2);
  Window tw;
  std::string err =
      plan_transposed_window(with_kernel_from_weight(attrs_, wt), spatial, output_padding_, out_spatial, tw);
  if (!err.empty()) op_fail(info_, err);
  window_ = tw;
  std::swap(window_.in, window_.out);
  batch_ = x.dim(0);
  cin_ = cin;
  cout_ = cout;
  Shape out{batch_, cout};
  for (int i = 0; i < rank; ++i) out.push_back(tw.out[Window::kDims - rank + i]);
  return {Tensor::descriptor(DType::Float32, out)};
}

void ConvTransposeOp::forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
                              ExecContext&) {
  const float* x = inputs[0]->f32();
  const float* wt = inputs[1]->f32();
  const float* bias = inputs.size() > 2 && inputs[2] ? inputs[2]->f32() : nullptr;
  float* y = outputs[0]->f32();
  // In the forward-convolution view, our input pixels are its outputs and our outputs its inputs.
  const Window& w = window_;
  const int64_t cin_g = cin_ / group_, cout_g = cout_ / group_;
  for (int64_t n = 0; n < batch_; ++n) {
    float* y_n = y + n * cout_ * w.in_size();
    for (int64_t oc = 0; oc < cout_; ++oc)
      for (int64_t p = 0; p < w.in_size(); ++p) y_n[oc * w.in_size() + p] = bias ? bias[oc] : 0.0f;
    for (int64_t ic = 0; ic < cin_; ++ic) {
      const int64_t g = ic / cin_g;
      const float* in = x + (n * cin_ + ic) * w.out_size();
      for (int64_t ocg = 0; ocg < cout_g; ++ocg) {
        const float* k = wt + (ic * cout_g + ocg) * w.kernel_size();  // W is [Cin, Cout/group, kernel...]
        float* out = y_n + (g * cout_g + ocg) * w.in_size();
        for (int64_t id = 0; id < w.out[0]; ++id)
          for (int64_t ih = 0; ih < w.out[1]; ++ih)
            for (int64_t iw = 0; iw < w.out[2]; ++iw) {
              const float v = in[(id * w.out[1] + ih) * w.out[2] + iw];
              for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
                const int64_t od = id * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
                if (od < 0 || od >= w.in[0]) continue;  // falls into the cropped padding
                for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
                  const int64_t oh = ih * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
                  if (oh < 0 || oh >= w.in[1]) continue;
                  for (int64_t kw = 0; kw < w.kernel[2]; ++kw) {
                    const int64_t ow = iw * w.stride[2] - w.pad_begin[2] + kw * w.dilation[2];
                    if (ow < 0 || ow >= w.in[2]) continue;
                    out[(od * w.in[1] + oh) * w.in[2] + ow] += v * k[(kd * w.kernel[1] + kh) * w.kernel[2] + kw];
                  }
                }
              }
            }
      }
    }
    for (int64_t i = 0; i < cout_ * w.in_size(); ++i) y_n[i] = act_.apply(y_n[i]);
  }
}

int64_t ConvTransposeOp::macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>&) const {
  const Tensor& x = *inputs[0];
  const Tensor& wt = *inputs[1];
  // N * Cin * in_spatial * (Cout / group) * kernel volume
  return x.numel() * shape_numel(Shape(wt.shape().begin() + 1, wt.shape().end()));
}

void register_conv_transpose_ops(OpTable& table) {
  table["ConvTranspose"] = [](const OpInfo& info) { return std::make_unique<ConvTransposeOp>(info); };
}

}  // namespace sparseinfer

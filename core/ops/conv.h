// Conv (ONNX opsets 1-17): attributes, shape inference and a reference
// forward() in plain loops. A backend derives from ConvOp and replaces
// forward() with its fast path (core/cpu/conv_cpu.cpp), keeping the shape logic.
#pragma once

#include <vector>

#include "ops/activation.h"
#include "ops/op.h"
#include "ops/window.h"

namespace sparseinfer {

class ConvOp : public Op {
 public:
  explicit ConvOp(const OpInfo& info);

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override;
  // Direct convolution, one output value at a time on the calling thread.
  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override;
  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs) const override;

 protected:
  OpInfo info_;
  WindowAttrs attrs_;
  int64_t group_ = 1;
  Activation act_;
  // Plan from infer(): the window normalized to three spatial dimensions.
  Window window_;
  int64_t batch_ = 0, in_channels_ = 0, out_channels_ = 0;
};

// Checks inputs X, W and B of a Conv or ConvTranspose against the window
// attributes; returns the spatial rank.
int check_conv_inputs(const OpInfo& info, const std::vector<const Tensor*>& inputs, const WindowAttrs& attrs);

// The attributes with kernel_shape taken from the weight W (ONNX makes it optional).
WindowAttrs with_kernel_from_weight(WindowAttrs attrs, const Tensor& weight);

}  // namespace sparseinfer

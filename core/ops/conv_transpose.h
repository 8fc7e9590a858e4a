// ConvTranspose (ONNX opsets 1-17): attributes, shape inference and a
// reference forward() in plain loops; core/cpu/conv_transpose_cpu.cpp derives
// the fast GEMM + col2im path from it.
#pragma once

#include <vector>

#include "ops/activation.h"
#include "ops/op.h"
#include "ops/window.h"

namespace sparseinfer {

class ConvTransposeOp : public Op {
 public:
  explicit ConvTransposeOp(const OpInfo& info);

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override;
  // Scatters every input value through the kernel, on the calling thread.
  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override;
  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs) const override;

 protected:
  OpInfo info_;
  WindowAttrs attrs_;
  int64_t group_ = 1;
  std::vector<int64_t> output_padding_, output_shape_;
  Activation act_;
  // Plan from infer(): the forward-convolution view, whose input is our
  // output and whose output is our input.
  Window window_;
  int64_t batch_ = 0, cin_ = 0, cout_ = 0;
};

}  // namespace sparseinfer

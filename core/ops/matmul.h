// Gemm and MatMul (ONNX opsets 1-17): attributes, shape inference and
// reference forward() in plain loops. The CPU backend's SGEMM versions derive
// from these (core/cpu/matmul_cpu.cpp).
#pragma once

#include <vector>

#include "ops/activation.h"
#include "ops/op.h"

namespace sparseinfer {

// Y = alpha * op(A) * op(B) + beta * C, with an optional fused activation.
class GemmOp : public Op {
 public:
  explicit GemmOp(const OpInfo& info);

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override;
  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override;
  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs) const override;

 protected:
  OpInfo info_;
  bool trans_a_ = false, trans_b_ = false;
  float alpha_ = 1.0f, beta_ = 1.0f;
  Activation act_;
  // From infer(): Y is [m_, n_]; C broadcasts from [c_rows_, c_cols_] (0 x 0: no C).
  int64_t m_ = 0, n_ = 0, k_ = 0, c_rows_ = 0, c_cols_ = 0;
};

// numpy matmul: batched matrix products with broadcast batch dimensions.
class MatMulOp : public Op {
 public:
  explicit MatMulOp(const OpInfo& info);

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override;
  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override;
  int64_t macs(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& outputs) const override;

 protected:
  // Offsets (in elements) of batch i's matrices in A and B.
  int64_t a_offset(int64_t i) const;
  int64_t b_offset(int64_t i) const;

  OpInfo info_;
  // From infer(): per batch, an [m_ x k_] by [k_ x n_] product.
  int64_t m_ = 0, n_ = 0, k_ = 0;
  Shape batch_;
  std::vector<int64_t> a_stride_, b_stride_;  // per batch dimension, in matrices; 0 where broadcast
  bool fold_batch_ = false;                   // B shared by every batch
};

}  // namespace sparseinfer

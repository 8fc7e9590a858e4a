// MaxPool (with optional Indices), AveragePool, GlobalAveragePool and
// GlobalMaxPool (ONNX opsets 1-17): attributes, shape inference and reference
// forward() on the calling thread. The CPU backend's versions derive from
// these (core/cpu/pool_cpu.cpp); PoolKind is shared with the change kernels.
#pragma once

#include <vector>

#include "ops/op.h"
#include "ops/window.h"

namespace sparseinfer {

enum class PoolKind { Max, Average };

class PoolOp : public Op {
 public:
  PoolOp(const OpInfo& info, PoolKind kind);

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override;
  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override;

  // Kernel taps [k0, k1) of one output position inside the input along one
  // dimension; the window starts at input position `start`.
  struct TapRange {
    int64_t start, k0, k1;
  };

 protected:
  // Pools one [D, H, W] plane; indices (MaxPool's second output) may be null.
  void max_plane(const float* in, float* out, int64_t* indices, int64_t plane) const;
  void average_plane(const float* in, float* out) const;

  OpInfo info_;
  PoolKind kind_;
  WindowAttrs attrs_;
  bool count_include_pad_ = false;
  int64_t storage_order_ = 0;
  bool want_indices_ = false;
  // Plan from infer().
  Window window_;
  int64_t planes_ = 0;                           // N * C
  std::vector<TapRange> valid_[Window::kDims];   // taps inside the input, per output position
  std::vector<int64_t> divisor_[Window::kDims];  // AveragePool divisor factor, per output position
};

class GlobalPoolOp : public Op {
 public:
  GlobalPoolOp(const OpInfo& info, PoolKind kind);

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override;
  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override;

 protected:
  OpInfo info_;
  PoolKind kind_;
  int64_t planes_ = 0, plane_size_ = 0;  // from infer(): N * C planes of plane_size_ values
};

}  // namespace sparseinfer

// Element-wise operators evaluated only at changed pixels of a 4-D output:
// activations and broadcasting arithmetic, for change-based execution.
#pragma once

#include <array>
#include <cstdint>

#include "ops/activation.h"

namespace sparseinfer {

enum class EltwiseOp { Activation, Add, Sub, Mul, Div, PRelu };

// An operand broadcast to the N x C x H x W output: element (n,c,y,x) lives at
// data[n*stride[0] + c*stride[1] + y*stride[2] + x*stride[3]] (0 strides broadcast).
struct BroadcastOperand {
  const float* data = nullptr;
  std::array<int64_t, 4> stride{0, 0, 0, 0};
};

// Strides of an operand of shape `shape` (rank <= 4, numpy-aligned to the
// right) broadcast to `out` (rank 4).
BroadcastOperand broadcast_operand(const float* data, const int64_t* shape, int rank, const int64_t out[4]);

// output[n,c,y,x] = op(a, b) at every channel of each listed pixel (b unused
// for Activation, which applies `act` to a).
void eltwise_at_pixels(EltwiseOp op, const Activation& act, const BroadcastOperand& a, const BroadcastOperand& b,
                       const int64_t out_shape[4], const int32_t* pixels, int64_t n, float* output, int threads);

}  // namespace sparseinfer

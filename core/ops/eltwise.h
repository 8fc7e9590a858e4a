// Descriptors of the element-wise operators that change-based execution
// evaluates at changed pixels only, shared by the CPU (cpu/change_eltwise.h)
// and CUDA (kernels/change_kernels.h) implementations.
#pragma once

#include <array>
#include <cstdint>

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

}  // namespace sparseinfer

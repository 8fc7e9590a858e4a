// Element-wise operators at the changed pixels of a 4-D output, for
// change-based execution of activations and broadcasting arithmetic.
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"
#include "device_activation.cuh"

namespace sparseinfer::cuda {

namespace {

// BroadcastOperand without std::array, which device code cannot index.
struct Operand {
  const float* data;
  int64_t stride[4];
};

Operand device_operand(const BroadcastOperand& op) {
  return {op.data, {op.stride[0], op.stride[1], op.stride[2], op.stride[3]}};
}

__device__ __forceinline__ float combine(EltwiseOp op, const Activation& act, float x, float y) {
  switch (op) {
    case EltwiseOp::Activation:
      return apply_activation(act, x);
    case EltwiseOp::Add:
      return x + y;
    case EltwiseOp::Sub:
      return x - y;
    case EltwiseOp::Mul:
      return x * y;
    case EltwiseOp::Div:
      return x / y;
    case EltwiseOp::PRelu:
      return x < 0.0f ? x * y : x;
  }
  return x;
}

// One thread per (c, j), j fastest.
__global__ void eltwise_kernel(EltwiseOp op, Activation act, Operand a, Operand b, int64_t channels, int64_t height,
                               int64_t width, const int32_t* __restrict__ pixels, int64_t n,
                               float* __restrict__ output) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= channels * n) return;
  const int64_t c = e / n, j = e - c * n;
  const int64_t hw = height * width;
  const int64_t p = pixels[j], nb = p / hw, q = p % hw, y = q / width, x = q % width;
  const float va = a.data[nb * a.stride[0] + c * a.stride[1] + y * a.stride[2] + x * a.stride[3]];
  const float vb = op != EltwiseOp::Activation && b.data
                       ? b.data[nb * b.stride[0] + c * b.stride[1] + y * b.stride[2] + x * b.stride[3]]
                       : 0.0f;
  output[(nb * channels + c) * hw + q] = combine(op, act, va, vb);
}

}  // namespace

void eltwise_at_pixels(const CudaContext& ctx, EltwiseOp op, const Activation& act, const BroadcastOperand& a,
                       const BroadcastOperand& b, const int64_t out_shape[4], const int32_t* pixels, int64_t n,
                       float* output) {
  if (n <= 0 || out_shape[1] <= 0) return;
  if (op != EltwiseOp::Activation && !b.data) throw Error("eltwise_at_pixels: a binary operator needs operand b");
  eltwise_kernel<<<blocks_for(out_shape[1] * n), kBlock, 0, ctx.stream()>>>(
      op, act, device_operand(a), device_operand(b), out_shape[1], out_shape[2], out_shape[3], pixels, n, output);
  ctx.check_launch("eltwise_at_pixels");
}

}  // namespace sparseinfer::cuda

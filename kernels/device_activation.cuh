// The fused activations of ops/activation.h, evaluated on the device with the
// same formulas (Activation is plain data and is passed to kernels by value).
#pragma once

#include "ops/activation.h"

namespace sparseinfer::cuda {

// std::min / std::max semantics (NaN handling included), unlike fminf / fmaxf.
__device__ __forceinline__ float std_max(float a, float b) {
  return a < b ? b : a;
}
__device__ __forceinline__ float std_min(float a, float b) {
  return b < a ? b : a;
}

// Products are rounded before the sum (__fmul_rn) so no FMA contraction
// separates the result from the CPU's.
__device__ __forceinline__ float apply_activation(const Activation& act, float x) {
  switch (act.kind) {
    case ActivationKind::None:
      return x;
    case ActivationKind::Relu:
      return x > 0.0f ? x : 0.0f;
    case ActivationKind::Clip:
      return std_min(std_max(x, act.min), act.max);
    case ActivationKind::LeakyRelu:
      return x >= 0.0f ? x : act.alpha * x;
    case ActivationKind::Sigmoid:
      return 1.0f / (1.0f + expf(-x));
    case ActivationKind::HardSigmoid:
      return std_min(std_max(__fadd_rn(__fmul_rn(act.alpha, x), act.beta), 0.0f), 1.0f);
    case ActivationKind::HardSwish:
      return x * std_min(std_max(__fadd_rn(x / 6.0f, 0.5f), 0.0f), 1.0f);
    case ActivationKind::Tanh:
      return tanhf(x);
  }
  return x;
}

}  // namespace sparseinfer::cuda

// Fused activations on eight floats at a time (AVX2), for the kernels that
// finish their sums in registers (depthwise taps, the packed GEMM epilogue).
// Sigmoid and Tanh have no vector form here: callers apply those in a second
// pass with Activation::apply_inplace.
#pragma once

#include <immintrin.h>

#include "ops/activation.h"

namespace sparseinfer {

inline bool has_avx2_form(ActivationKind kind) {
  return kind != ActivationKind::Sigmoid && kind != ActivationKind::Tanh;
}

__attribute__((target("avx2,fma"))) inline __m256 activate_avx2(__m256 x, const Activation& act) {
  switch (act.kind) {
    case ActivationKind::Relu:
      return _mm256_max_ps(x, _mm256_setzero_ps());
    case ActivationKind::Clip:
      return _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(act.min)), _mm256_set1_ps(act.max));
    case ActivationKind::LeakyRelu: {
      const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
      return _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(act.alpha)), neg);
    }
    case ActivationKind::HardSigmoid: {
      const __m256 y = _mm256_fmadd_ps(x, _mm256_set1_ps(act.alpha), _mm256_set1_ps(act.beta));
      return _mm256_min_ps(_mm256_max_ps(y, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
    }
    case ActivationKind::HardSwish: {
      const __m256 g = _mm256_fmadd_ps(x, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
      return _mm256_mul_ps(x, _mm256_min_ps(_mm256_max_ps(g, _mm256_setzero_ps()), _mm256_set1_ps(1.0f)));
    }
    default:
      return x;
  }
}

// True when this CPU runs the AVX2 + FMA kernels.
inline bool cpu_has_avx2_fma() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace sparseinfer

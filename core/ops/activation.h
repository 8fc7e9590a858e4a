// Element-wise activations, shared by the activation operators and by every
// operator that fuses one (Conv, Gemm) so the math is written once.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "sparseinfer/model.h"

namespace sparseinfer {

enum class ActivationKind { None, Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh };

struct Activation {
  ActivationKind kind = ActivationKind::None;
  float alpha = 0.0f;  // LeakyRelu slope; HardSigmoid alpha
  float beta = 0.0f;   // HardSigmoid beta
  float min = 0.0f;    // Clip bounds
  float max = 0.0f;

  inline float apply(float x) const {
    switch (kind) {
      case ActivationKind::None: return x;
      case ActivationKind::Relu: return x > 0.0f ? x : 0.0f;
      case ActivationKind::Clip: return std::min(std::max(x, min), max);
      case ActivationKind::LeakyRelu: return x >= 0.0f ? x : alpha * x;
      case ActivationKind::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
      case ActivationKind::HardSigmoid: return std::min(std::max(alpha * x + beta, 0.0f), 1.0f);
      case ActivationKind::HardSwish: return x * std::min(std::max(x / 6.0f + 0.5f, 0.0f), 1.0f);
      case ActivationKind::Tanh: return std::tanh(x);
    }
    return x;
  }

  // Applies in place to n contiguous values; vectorizes for the common kinds.
  void apply_inplace(float* data, int64_t n) const;
};

// Name used in the fused-activation attribute ("Relu", "Clip", ...).
const char* activation_name(ActivationKind kind);

// The activation fused into a node by optimize_model(): reads the
// "sparseinfer_activation" attribute and its parameters. None when absent.
Activation fused_activation(const Node& node);

// Writes the fused-activation attributes onto a node.
void set_fused_activation(Node& node, const Activation& act);

}  // namespace sparseinfer

#include "cpu/epilogue.h"

#include <algorithm>

namespace sparseinfer {

void bias_activation(float* __restrict row, int64_t n, float bias, const Activation& act) {
  // One loop per kind so each one vectorizes.
  switch (act.kind) {
    case ActivationKind::None:
      if (bias != 0.0f)
        for (int64_t i = 0; i < n; ++i) row[i] += bias;
      return;
    case ActivationKind::Relu:
      for (int64_t i = 0; i < n; ++i) row[i] = std::max(row[i] + bias, 0.0f);
      return;
    case ActivationKind::Clip: {
      const float lo = act.min, hi = act.max;
      for (int64_t i = 0; i < n; ++i) row[i] = std::min(std::max(row[i] + bias, lo), hi);
      return;
    }
    case ActivationKind::LeakyRelu: {
      const float slope = act.alpha;
      for (int64_t i = 0; i < n; ++i) {
        float x = row[i] + bias;
        row[i] = x >= 0.0f ? x : slope * x;
      }
      return;
    }
    case ActivationKind::HardSigmoid: {
      const float a = act.alpha, b = act.beta;
      for (int64_t i = 0; i < n; ++i) row[i] = std::min(std::max(a * (row[i] + bias) + b, 0.0f), 1.0f);
      return;
    }
    case ActivationKind::HardSwish:
      for (int64_t i = 0; i < n; ++i) {
        float x = row[i] + bias;
        row[i] = x * std::min(std::max(x * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
      }
      return;
    default:
      for (int64_t i = 0; i < n; ++i) row[i] = act.apply(row[i] + bias);
      return;
  }
}

}  // namespace sparseinfer

// Bias + activation applied to a GEMM result while it is still in cache.
#pragma once

#include <cstdint>

#include "ops/activation.h"

namespace sparseinfer {

// row[i] = act(row[i] + bias) for i in [0, n).
void bias_activation(float* row, int64_t n, float bias, const Activation& act);

}  // namespace sparseinfer

// Element-wise operators evaluated only at changed pixels of a 4-D output:
// activations and broadcasting arithmetic, for change-based execution.
#pragma once

#include <cstdint>

#include "ops/activation.h"
#include "ops/eltwise.h"

namespace sparseinfer {

// output[n,c,y,x] = op(a, b) at every channel of each listed pixel (b unused
// for Activation, which applies `act` to a).
void eltwise_at_pixels(EltwiseOp op, const Activation& act, const BroadcastOperand& a, const BroadcastOperand& b,
                       const int64_t out_shape[4], const int32_t* pixels, int64_t n, float* output, int threads);

}  // namespace sparseinfer

// Depthwise convolution (group == input channels) as a direct loop: a GEMM
// per channel would be tiny and dominated by packing.
#pragma once

#include <cstdint>

#include "ops/activation.h"
#include "ops/window.h"

namespace sparseinfer {

// Floats of scratch depthwise_conv_image needs with this many threads.
int64_t depthwise_scratch_floats(const Window& w, int threads);

// One image: in [C, D, H, W], weights [C * multiplier, 1, kD, kH, kW], bias
// [C * multiplier] or nullptr, out [C * multiplier, oD, oH, oW]. Output
// channel o reads input channel o / multiplier. Parallel over channels.
void depthwise_conv_image(const float* in, const float* weights, const float* bias, float* out, int64_t channels,
                          int64_t multiplier, const Window& w, const Activation& act, int threads, float* scratch);

}  // namespace sparseinfer

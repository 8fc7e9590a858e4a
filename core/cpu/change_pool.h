// Change-based pooling (CBinfer §III-E): pooling windows evaluated only at the
// output pixels whose input window changed.
#pragma once

#include <cstdint>

#include "ops/conv_geometry.h"
#include "ops/pool.h"

namespace sparseinfer {

// Evaluates the pooling window at each listed output pixel for every channel.
// Max ignores padding; Average divides by the window area clipped to the
// input unless count_include_pad.
void pool_at_pixels(const float* input, PoolKind kind, bool count_include_pad, const ConvGeometry& g,
                    const int32_t* pixels, int64_t n, float* output, int threads);

}  // namespace sparseinfer

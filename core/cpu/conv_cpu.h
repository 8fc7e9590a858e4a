// What other parts of the core may ask of the CPU backend's Conv.
#pragma once

#include "cpu/packed_gemm.h"
#include "ops/op.h"

namespace sparseinfer {

// The weights the CPU Conv packed at plan time for the AVX-512 kernel, or
// nullptr when `op` is not a CPU Conv or did not pack (non-constant weights,
// depthwise, maps under one 32-pixel strip, no AVX-512). Valid while the
// operator lives and until its next infer().
const PackedWeights* conv_packed_weights(const Op& op);

// Stream scratch (floats) the CPU Conv asks for in forward() with `threads`
// cores, or 0 when `op` is not a CPU Conv.
int64_t conv_scratch_floats(const Op& op, int threads);

}  // namespace sparseinfer

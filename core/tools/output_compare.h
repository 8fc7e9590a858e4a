// How far an output is from the dense engine's: the error measures that the
// CLI, the calibration and the benchmark report.
#pragma once

#include <cstdint>
#include <vector>

#include "sparseinfer/tensor.h"

namespace sparseinfer::tools {

struct Comparison {
  double max_abs_diff = 0;
  double mse = 0;
  double agreement = 1;        // share of positions whose argmax over dim 1 matches
  bool has_agreement = false;  // false when dim 1 has a single class
};

// Compares `ours` with `reference` (same shape, float32). Agreement is the
// per-pixel argmax over channels for NCHW maps and per-sample for N x C.
Comparison compare_outputs(const Tensor& ours, const Tensor& reference);

}  // namespace sparseinfer::tools

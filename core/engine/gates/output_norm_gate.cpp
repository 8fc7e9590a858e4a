// Skip-Conv's output-norm gate (Skip-Convolutions §3.2.1, eq. 7): by Young's
// inequality (eq. 6) the output residual W * r is bounded by ||W||_1 ||r||_1,
// so the gate skips a pixel when that bound is at most the threshold. With one
// threshold shared by all layers (as §3.2.1 does), layers with heavy weights
// recompute more of their input than light ones.
#include "engine/gates/norm_gate.h"

namespace sparseinfer {

std::unique_ptr<Gate> make_output_norm_gate(const Tensor& weights) {
  return std::make_unique<NormGate>(weight_l1_norm(weights), 1);
}

}  // namespace sparseinfer

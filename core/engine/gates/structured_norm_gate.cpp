// Skip-Conv's structured gates (Skip-Convolutions §3.2.3): the input-norm or
// output-norm decision max-pooled over k x k cells of the layer's input and
// upsampled back by nearest neighbour, so whole cells are recomputed or
// skipped together (the block structure sparse hardware kernels want).
#include "engine/gates/norm_gate.h"

namespace sparseinfer {

std::unique_ptr<Gate> make_structured_norm_gate(GateKind kind, const Tensor& weights) {
  const float scale = gate_is_output_norm(kind) ? weight_l1_norm(weights) : 1.0f;
  return std::make_unique<NormGate>(scale, gate_cell(kind));
}

}  // namespace sparseinfer

// Skip-Conv's norm gates (Skip-Convolutions §3.2.1) on CBinfer's closed loop:
// a pixel of a layer's input is recomputed when scale * ||x_t - x_ref||_1 over
// its channels exceeds the threshold, where x_ref is the input as the layer
// last computed it. The input-norm gate (eq. 5) has scale 1, the output-norm
// gate (eq. 7) the L1 norm of the layer's weights; structured gates (§3.2.3)
// widen each decision to its k x k cell.
//
// Why closed loop: the public Skip-Conv code takes the residual against the
// previous frame and skips it when small, so skipped residuals are lost and the
// features drift from the dense ones a little every frame. Here the residual is
// taken against the stored state, and only accepted pixels update that state
// (CBinfer §III-C): a slow change adds up until it crosses the threshold, and
// the error of a layer stays bounded by one frame's threshold.
#pragma once

#include "engine/gates/gate.h"

namespace sparseinfer {

class NormGate : public Gate {
 public:
  // `scale` multiplies the residual norm (1, or the weight norm of eq. 7);
  // `cell` is the structured gate's k (1: unstructured).
  NormGate(float scale, int cell) : scale_(scale), cell_(cell) {}

  void prime(const Tensor& input, float threshold, GateState& state) const override;
  void select(const Tensor& input, const ChangeSet& candidates, float threshold, GateState& state,
              std::vector<uint8_t>& flags, int threads, StageTimes* times, ChangeSet& accepted) const override;
  const Tensor& source(const Tensor& /*input*/, const GateState& state) const override { return state.reference; }

  float scale() const { return scale_; }
  int cell() const { return cell_; }

 private:
  float scale_;
  int cell_;
};

// Eq. 7's ||W||_1: the sum of |w| over all four dimensions of a layer's weights.
float weight_l1_norm(const Tensor& weights);

std::unique_ptr<Gate> make_input_norm_gate();
std::unique_ptr<Gate> make_output_norm_gate(const Tensor& weights);
// The k x k structured input-norm and output-norm kinds.
std::unique_ptr<Gate> make_structured_norm_gate(GateKind kind, const Tensor& weights);

}  // namespace sparseinfer

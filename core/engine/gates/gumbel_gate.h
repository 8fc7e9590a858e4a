// Skip-Conv's learned gate (Habibian et al. 2021, §3.2.2), trained offline by
// examples/models/train_gumbel_gates.py and run in the closed loop of CBinfer
// §III-C: per input pixel, a 1x1 convolution over the residual against the
// gate's state, logit = bias + sum_c w_abs[c] |r_c| + w_signed[c] r_c; the
// pixel counts as changed where it moved and logit > threshold (Eq. 8 rounds
// the sigmoid, i.e. logit > 0, at the default threshold 0).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/gates/gate.h"
#include "sparseinfer/gumbel_gates.h"

namespace sparseinfer {

// The gate `gates` holds for `layer`; throws Error naming the gates file and
// the layer when it has none or its channel count is not `in_channels`.
std::unique_ptr<Gate> make_gumbel_gate(const GumbelGateSet* gates, const std::string& layer, int64_t in_channels);

// Throws Error when `gates` holds a layer the engine does not gate (the file
// was made for another model); `gated` are Engine::threshold_layers().
void check_gumbel_layers(const GumbelGateSet& gates, const std::vector<std::string>& gated);

}  // namespace sparseinfer

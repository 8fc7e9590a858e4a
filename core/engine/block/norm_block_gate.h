// Skip-Conv's structured norm gates (Skip-Convolutions §3.2.3) as the block
// gate of block mode: execute a block when the max over its pixels of
// scale * ||I_t - H_{t-1}||_1 (L1 over the channels) exceeds the threshold.
// scale is 1 for the input-norm gate (eq. 5) and the L1 norm of the first
// convolution's weights for the output-norm gate (eq. 7). The cell of the
// max-pool is the block itself; H_{t-1} is the closed-loop executed frame
// (BlockCopy §3.3), so skipped changes add up instead of drifting.
#pragma once

#include <vector>

#include "engine/block/block_gate.h"

namespace sparseinfer {

class NormBlockGate : public BlockGate {
 public:
  explicit NormBlockGate(float scale) : scale_(scale) {}
  void set_threshold(float threshold) { threshold_ = threshold; }
  void decide(const BlockGateInput& in, BlockGrid& grid) override;

 private:
  float scale_;
  float threshold_ = 0.0f;
  std::vector<float> norm_;  // per pixel of the frame
};

}  // namespace sparseinfer

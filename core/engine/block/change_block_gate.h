// The deterministic block gate: execute a block when its input changed, i.e.
// max |I_t - H_{t-1}| over the block and its channels exceeds a threshold
// (Skip-Convolutions §3.3 structured gates, here on the network input against
// the closed-loop executed frame of BlockCopy §3.3). The cheap baseline a
// learned policy has to beat.
#pragma once

#include "engine/block/block_gate.h"

namespace sparseinfer {

class ChangeBlockGate : public BlockGate {
 public:
  explicit ChangeBlockGate(float threshold) : threshold_(threshold) {}
  void set_threshold(float threshold) { threshold_ = threshold; }
  float threshold() const { return threshold_; }
  void decide(const BlockGateInput& in, BlockGrid& grid) override;

 private:
  float threshold_;
};

}  // namespace sparseinfer

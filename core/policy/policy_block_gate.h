// The BlockCopy policy as a block gate (engine/block/block_gate.h): each
// frame it builds S_t (policy_input.h), samples the grid A_t with the policy
// net, and after the frame ran rewards the decisions with the information
// gain of the new output over the previous one (§3.4-3.5), training online.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/block/block_gate.h"
#include "policy/information_gain.h"
#include "policy/output_reader.h"
#include "policy/policy_input.h"
#include "policy/reinforce_trainer.h"

namespace sparseinfer::policy {

struct PolicyGateOptions {
  ReinforceSettings settings;
  std::array<int, 3> widths{8, 16, 32};
  uint64_t seed = 1;
  int threads = 1;
  std::string policy_file;  // loaded at construction when set
};

// Time per stage of the last frame (Table 3's policy columns).
struct PolicyGateTimes {
  double forward_ms = 0;           // S_t assembly + policy net + sampling
  double information_gain_ms = 0;  // reading the output + IG
  double backward_ms = 0;
  double update_ms = 0;
};

class PolicyBlockGate : public BlockGate {
 public:
  // The previous output enters the policy as one map (rendered detections or
  // the first channel of the probability map).
  PolicyBlockGate(OutputReader reader, const PolicyGateOptions& options);

  void decide(const BlockGateInput& in, BlockGrid& grid) override;
  void observe(const BlockGateInput& in, const BlockGrid& grid, const FrameResult& result) override;
  void reset() override;

  ReinforceTrainer& trainer() { return trainer_; }
  const ReinforceTrainer& trainer() const { return trainer_; }
  const PolicyGateTimes& last_times() const { return times_; }
  // The last frame's information gain per block (empty before the second frame).
  const std::vector<float>& last_information_gain() const { return information_gain_; }

 private:
  static constexpr int kOutputChannels = 1;
  GridGeometry geometry(const BlockGateInput& in, const BlockGrid& grid) const;
  std::vector<float> policy_map(const OutputReading& reading, const GridGeometry& g) const;

  OutputReader reader_;
  ReinforceTrainer trainer_;
  std::optional<PolicyInput> input_;
  std::optional<OutputReading> previous_;
  std::vector<float> previous_map_;  // O_{t-1} at the policy resolution
  std::vector<float> information_gain_;
  bool decided_ = false;
  PolicyGateTimes times_;
};

}  // namespace sparseinfer::policy

// Online REINFORCE training of the BlockCopy policy (§3.5): Bernoulli
// execution decisions per block, a reward from the information gain of the
// task output plus a cost reward toward a target execution rate, and RMSprop
// updates every few frames. One trainer per stream; it can be saved and
// loaded, so a camera keeps what its policy learned across restarts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/policy_net.h"

namespace sparseinfer::policy {

struct ReinforceSettings {
  float cost_target = 0.3f;     // τ: the desired mean fraction of executed blocks (eq. 12)
  float cost_momentum = 0.9f;   // μ of the running cost M_t (eq. 11)
  float cost_weight = 5.f;      // γ: weight of the cost reward (eq. 8)
  float learning_rate = 1e-4f;  // RMSprop (§4, BlockCopy configuration)
  float weight_decay = 1e-3f;
  float rmsprop_alpha = 0.99f;  // PyTorch's RMSprop defaults
  float rmsprop_eps = 1e-8f;
  int update_interval = 4;  // backward pass and weight update every this many frames (§4)
  bool train = true;        // false: decide only, never update the weights
};

// Per-frame figures of the last decide() / reward() (Table 3's policy columns).
struct PolicyFrameStats {
  double forward_ms = 0;   // policy net forward + sampling
  double backward_ms = 0;  // 0 on frames without an update
  double update_ms = 0;    // RMSprop step
  bool updated = false;
  double cost = 0;          // C_t: executed fraction (eq. 10)
  double running_cost = 0;  // M_t (eq. 11)
  double mean_reward = 0;
  double loss = 0;  // eq. 7, mean over blocks
};

// The REINFORCE loss of eq. 7 as a mean over the B blocks,
// L = -(1/B) sum_b R_b log π(a_b), with π(1) = p_b = sigmoid(z_b): returns
// dL/dz_b = -R_b (a_b - p_b) / B and sets *loss to L when non-null.
std::vector<float> reinforce_logit_gradient(const std::vector<float>& probabilities,
                                            const std::vector<uint8_t>& actions, const std::vector<float>& rewards,
                                            double* loss);

class ReinforceTrainer {
 public:
  ReinforceTrainer(const PolicyNetConfig& net_config, const ReinforceSettings& settings, uint64_t seed);

  ReinforceSettings& settings() { return settings_; }
  const ReinforceSettings& settings() const { return settings_; }
  PolicyNet& net() { return net_; }
  const PolicyNet& net() const { return net_; }

  // The next decide() is the first frame of a stream: it executes every block
  // (§4: "the first frame ... is always executed completely").
  void reset_stream();

  // Execution decisions A_t for one frame from the policy input S_t
  // ([input_channels, height, width], see policy_input.h): rows x cols =
  // height/8 x width/8, 1 = execute. Samples p_b = sigmoid(logit_b).
  const std::vector<uint8_t>& decide(const float* policy_input, int height, int width);

  // A frame whose blocks were all executed without asking the policy (the
  // first frame of a stream, when the caller handles it): reward() then
  // only updates the running cost.
  void record_full_execution(size_t blocks);

  // After the task network ran on the decisions of the last decide():
  // information_gain holds IG_b per block (information_gain.h). Updates the
  // running cost and, every update_interval frames when training, takes a
  // REINFORCE step on the loss of eq. 7 (mean over blocks).
  void reward(const std::vector<float>& information_gain);

  const std::vector<uint8_t>& decisions() const { return actions_; }
  const std::vector<float>& probabilities() const { return probs_; }
  const PolicyFrameStats& last_stats() const { return stats_; }
  double running_cost() const { return running_cost_; }
  int64_t frames_seen() const { return frames_seen_; }

  // Saves the weights, the RMSprop state, the running cost and the random
  // generator to `path` (a small versioned binary). Throws Error naming the
  // file when it cannot be written.
  void save(const std::string& path) const;
  // Loads what save() wrote. Throws Error naming the file when it is missing,
  // not a policy file, of another version, truncated, or made for another
  // number of input channels or stage widths.
  void load(const std::string& path);

  void reseed(uint64_t seed) { rng_state_ = seed; }

 private:
  double next_uniform();  // [0, 1), from a splitmix64 stream
  void rmsprop_step();

  PolicyNet net_;
  ReinforceSettings settings_;
  std::vector<float> square_avg_;  // RMSprop's running mean of squared gradients
  uint64_t rng_state_;
  std::vector<uint8_t> actions_;
  std::vector<float> probs_;
  bool first_frame_ = true;
  bool have_forward_ = false;  // the last decide() ran the net (not a first frame)
  bool have_running_cost_ = false;
  double running_cost_ = 0;
  int64_t frames_seen_ = 0;  // frames rewarded through the net
  int64_t optimizer_steps_ = 0;
  PolicyFrameStats stats_;
};

}  // namespace sparseinfer::policy

#include "policy/reinforce_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>

#include "sparseinfer/error.h"

namespace sparseinfer::policy {

namespace {

constexpr char kMagic[8] = {'S', 'I', 'P', 'O', 'L', 'I', 'C', 'Y'};
constexpr uint32_t kFormatVersion = 1;

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double sigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}

template <typename T>
void write_value(std::ofstream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Reads sizeof(T) bytes or throws naming the file.
template <typename T>
T read_value(std::ifstream& in, const std::string& path) {
  T v{};
  if (!in.read(reinterpret_cast<char*>(&v), sizeof(T))) throw Error("policy file " + path + ": truncated");
  return v;
}

}  // namespace

std::vector<float> reinforce_logit_gradient(const std::vector<float>& probabilities,
                                            const std::vector<uint8_t>& actions, const std::vector<float>& rewards,
                                            double* loss) {
  const size_t blocks = actions.size();
  if (probabilities.size() != blocks || rewards.size() != blocks)
    throw Error("policy: probabilities, actions and rewards differ in length");
  std::vector<float> dlogits(blocks);
  double total = 0;
  for (size_t b = 0; b < blocks; ++b) {
    const double p = probabilities[b], r = rewards[b];
    total -= r * (actions[b] ? std::log(std::max(p, 1e-12)) : std::log(std::max(1.0 - p, 1e-12)));
    // d log π(a_b) / dz_b = a_b - p_b for a Bernoulli with logit z_b.
    dlogits[b] = float(-r * (double(actions[b]) - p) / double(blocks));
  }
  if (loss) *loss = blocks ? total / double(blocks) : 0.0;
  return dlogits;
}

ReinforceTrainer::ReinforceTrainer(const PolicyNetConfig& net_config, const ReinforceSettings& settings, uint64_t seed)
    : net_(net_config, seed), settings_(settings), square_avg_(net_.parameters().size(), 0.f), rng_state_(seed) {}

void ReinforceTrainer::reset_stream() {
  first_frame_ = true;
  have_forward_ = false;
}

void ReinforceTrainer::record_full_execution(size_t blocks) {
  actions_.assign(blocks, 1);
  probs_.assign(blocks, 1.f);
  have_forward_ = false;
  first_frame_ = false;
  stats_ = PolicyFrameStats{};
}

double ReinforceTrainer::next_uniform() {
  // splitmix64: a tiny generator whose whole state is one word, so a saved
  // policy resumes the same decisions.
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 11) * 0x1.0p-53;
}

const std::vector<uint8_t>& ReinforceTrainer::decide(const float* policy_input, int height, int width) {
  const auto start = std::chrono::steady_clock::now();
  stats_ = PolicyFrameStats{};
  const int rows = height / PolicyNet::kStride, cols = width / PolicyNet::kStride;
  if (first_frame_) {
    // No previous output to compare with: execute everything (§4).
    if (height <= 0 || width <= 0 || height % PolicyNet::kStride || width % PolicyNet::kStride)
      throw Error("policy: input " + std::to_string(width) + "x" + std::to_string(height) +
                  " is not a positive multiple of 8 in both dimensions");
    actions_.assign(size_t(rows) * cols, 1);
    probs_.assign(size_t(rows) * cols, 1.f);
    have_forward_ = false;
    first_frame_ = false;
    stats_.forward_ms = ms_since(start);
    return actions_;
  }
  const std::vector<float>& logits = net_.forward(policy_input, height, width);
  actions_.resize(logits.size());
  probs_.resize(logits.size());
  for (size_t b = 0; b < logits.size(); ++b) {
    const double p = sigmoid(logits[b]);
    probs_[b] = float(p);
    actions_[b] = next_uniform() < p ? 1 : 0;  // a_b ~ Bernoulli(p_b), §3.5
  }
  have_forward_ = true;
  stats_.forward_ms = ms_since(start);
  return actions_;
}

void ReinforceTrainer::reward(const std::vector<float>& information_gain) {
  if (information_gain.size() != actions_.size())
    throw Error("policy: information gain has " + std::to_string(information_gain.size()) + " blocks, the grid " +
                std::to_string(actions_.size()));
  const size_t blocks = actions_.size();
  size_t executed = 0;
  for (uint8_t a : actions_) executed += a;
  const double cost = blocks ? double(executed) / double(blocks) : 0.0;  // C_t, eq. 10
  // M_t, eq. 11, as a moving average (M_t = (1-μ) C_t + μ M_{t-1}); it
  // starts at the first frame's cost.
  running_cost_ =
      have_running_cost_ ? (1.0 - settings_.cost_momentum) * cost + settings_.cost_momentum * running_cost_ : cost;
  have_running_cost_ = true;
  stats_.cost = cost;
  stats_.running_cost = running_cost_;
  if (!have_forward_) return;  // the all-executed first frame has no decisions to learn from
  ++frames_seen_;
  const double cost_reward = double(settings_.cost_target) - running_cost_;  // eq. 12 for a_b = 1
  std::vector<float> rewards(blocks);
  double reward_sum = 0;
  for (size_t b = 0; b < blocks; ++b) {
    const double sign = actions_[b] ? 1.0 : -1.0;                                            // eqs. 9 and 12
    rewards[b] = float(sign * (information_gain[b] + settings_.cost_weight * cost_reward));  // eq. 8
    reward_sum += rewards[b];
  }
  double loss = 0;
  const std::vector<float> dlogits = reinforce_logit_gradient(probs_, actions_, rewards, &loss);
  stats_.mean_reward = blocks ? reward_sum / double(blocks) : 0.0;
  stats_.loss = loss;
  have_forward_ = false;
  // §4: only every update_interval frames, to spare the backward pass.
  const int interval = settings_.update_interval < 1 ? 1 : settings_.update_interval;
  if (!settings_.train || frames_seen_ % interval != 0) return;
  auto start = std::chrono::steady_clock::now();
  net_.zero_gradients();
  net_.backward(dlogits.data());
  stats_.backward_ms = ms_since(start);
  start = std::chrono::steady_clock::now();
  rmsprop_step();
  stats_.update_ms = ms_since(start);
  stats_.updated = true;
}

void ReinforceTrainer::rmsprop_step() {
  // PyTorch's RMSprop (not centred, no momentum): g += wd θ;
  // v = α v + (1 - α) g²; θ -= lr g / (sqrt(v) + eps).
  std::vector<float>& theta = net_.parameters();
  const std::vector<float>& grad = net_.gradients();
  const float lr = settings_.learning_rate, wd = settings_.weight_decay, alpha = settings_.rmsprop_alpha,
              eps = settings_.rmsprop_eps;
  for (size_t i = 0; i < theta.size(); ++i) {
    const float g = grad[i] + wd * theta[i];
    square_avg_[i] = alpha * square_avg_[i] + (1.f - alpha) * g * g;
    theta[i] -= lr * g / (std::sqrt(square_avg_[i]) + eps);
  }
  ++optimizer_steps_;
}

void ReinforceTrainer::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("policy file " + path + ": cannot be opened for writing");
  const PolicyNetConfig& c = net_.config();
  out.write(kMagic, sizeof(kMagic));
  write_value(out, kFormatVersion);
  write_value(out, int32_t(c.input_channels));
  for (int w : c.widths) write_value(out, int32_t(w));
  const std::vector<float>& theta = net_.parameters();
  write_value(out, uint64_t(theta.size()));
  out.write(reinterpret_cast<const char*>(theta.data()), std::streamsize(theta.size() * sizeof(float)));
  out.write(reinterpret_cast<const char*>(square_avg_.data()), std::streamsize(square_avg_.size() * sizeof(float)));
  write_value(out, int64_t(optimizer_steps_));
  write_value(out, int64_t(frames_seen_));
  write_value(out, uint8_t(have_running_cost_));
  write_value(out, running_cost_);
  write_value(out, rng_state_);
  out.flush();
  if (!out) throw Error("policy file " + path + ": write failed");
}

void ReinforceTrainer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("policy file " + path + ": cannot be opened");
  char magic[sizeof(kMagic)];
  if (!in.read(magic, sizeof(magic)) || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0)
    throw Error("policy file " + path + ": not a sparseinfer policy file");
  const uint32_t version = read_value<uint32_t>(in, path);
  if (version != kFormatVersion)
    throw Error("policy file " + path + ": format version " + std::to_string(version) + ", this build reads " +
                std::to_string(kFormatVersion));
  const PolicyNetConfig& c = net_.config();
  const int32_t channels = read_value<int32_t>(in, path);
  if (channels != c.input_channels)
    throw Error("policy file " + path + ": made for " + std::to_string(channels) + " input channels, this stream has " +
                std::to_string(c.input_channels));
  for (int i = 0; i < 3; ++i) {
    const int32_t w = read_value<int32_t>(in, path);
    if (w != c.widths[i])
      throw Error("policy file " + path + ": stage " + std::to_string(i) + " has width " + std::to_string(w) +
                  ", this policy " + std::to_string(c.widths[i]));
  }
  std::vector<float>& theta = net_.parameters();
  const uint64_t count = read_value<uint64_t>(in, path);
  if (count != theta.size())
    throw Error("policy file " + path + ": " + std::to_string(count) + " parameters, expected " +
                std::to_string(theta.size()));
  std::vector<float> weights(count), squares(count);
  if (!in.read(reinterpret_cast<char*>(weights.data()), std::streamsize(count * sizeof(float))) ||
      !in.read(reinterpret_cast<char*>(squares.data()), std::streamsize(count * sizeof(float))))
    throw Error("policy file " + path + ": truncated");
  const int64_t steps = read_value<int64_t>(in, path);
  const int64_t frames = read_value<int64_t>(in, path);
  const uint8_t have_cost = read_value<uint8_t>(in, path);
  const double cost = read_value<double>(in, path);
  const uint64_t rng = read_value<uint64_t>(in, path);
  for (float v : weights)
    if (!std::isfinite(v)) throw Error("policy file " + path + ": a weight is not finite");
  if (in.peek() != std::char_traits<char>::eof()) throw Error("policy file " + path + ": trailing bytes");
  theta = std::move(weights);
  square_avg_ = std::move(squares);
  optimizer_steps_ = steps;
  frames_seen_ = frames;
  have_running_cost_ = have_cost != 0;
  running_cost_ = cost;
  rng_state_ = rng;
}

}  // namespace sparseinfer::policy

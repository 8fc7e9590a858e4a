// The C++ half of policy_torch_reference.py: runs the policy net forward on
// the given weights and input, takes the REINFORCE loss of eq. 7 for the
// given actions and rewards, and writes the logits and the weight gradients.
//
// Usage: policy_torch_tool DIR   (reads DIR/{config,params,input,actions,rewards}.npy,
//                                 writes DIR/{logits,grads}.npy)
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "policy/policy_net.h"
#include "policy/reinforce_trainer.h"
#include "sparseinfer/error.h"
#include "sparseinfer/npy.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    using sparseinfer::Tensor;
    const std::vector<int64_t> config = sparseinfer::read_npy(dir + "/config.npy").to_i64_vector();
    if (config.size() != 6) throw sparseinfer::Error(dir + "/config.npy: expected 6 values");
    sparseinfer::policy::PolicyNetConfig net_config;
    net_config.input_channels = int(config[0]);
    net_config.widths = {int(config[1]), int(config[2]), int(config[3])};
    const int h = int(config[4]), w = int(config[5]);
    sparseinfer::policy::PolicyNet net(net_config, 0);
    const std::vector<float> params = sparseinfer::read_npy(dir + "/params.npy").to_f32_vector();
    if (params.size() != net.parameters().size())
      throw sparseinfer::Error(dir + "/params.npy: " + std::to_string(params.size()) + " values, the net has " +
                               std::to_string(net.parameters().size()));
    net.parameters() = params;
    const std::vector<float> input = sparseinfer::read_npy(dir + "/input.npy").to_f32_vector();
    if (input.size() != size_t(net_config.input_channels) * h * w)
      throw sparseinfer::Error(dir + "/input.npy: wrong size");
    const std::vector<float> logits = net.forward(input.data(), h, w);
    const std::vector<float> action_values = sparseinfer::read_npy(dir + "/actions.npy").to_f32_vector();
    const std::vector<float> rewards = sparseinfer::read_npy(dir + "/rewards.npy").to_f32_vector();
    if (action_values.size() != logits.size() || rewards.size() != logits.size())
      throw sparseinfer::Error(dir + ": actions or rewards do not have one value per logit");
    std::vector<uint8_t> actions(logits.size());
    std::vector<float> probs(logits.size());
    for (size_t b = 0; b < logits.size(); ++b) {
      actions[b] = action_values[b] > 0.5f ? 1 : 0;
      probs[b] = float(1.0 / (1.0 + std::exp(-double(logits[b]))));
    }
    const std::vector<float> dlogits = sparseinfer::policy::reinforce_logit_gradient(probs, actions, rewards, nullptr);
    net.zero_gradients();
    net.backward(dlogits.data());
    sparseinfer::write_npy(dir + "/logits.npy", Tensor::from_f32({net.grid_height(), net.grid_width()}, logits));
    sparseinfer::write_npy(dir + "/grads.npy", Tensor::from_f32({int64_t(net.gradients().size())}, net.gradients()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "policy_torch_tool: %s\n", e.what());
    return 1;
  }
  return 0;
}

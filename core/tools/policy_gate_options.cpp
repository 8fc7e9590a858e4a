#include "tools/policy_gate_options.h"

#include <cstdio>
#include <fstream>

#include "tools/arg_values.h"
#include "tools/usage_error.h"

namespace sparseinfer::tools {

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

const std::vector<OptionSpec>& policy_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"cost-target", true}, {"learning-rate", true}, {"update-interval", true},
      {"policy-file", true}, {"no-train", false},     {"policy-seed", true},
  };
  return specs;
}

const char* policy_options_help() {
  return "  --cost-target T       policy gate: target fraction of executed blocks τ in [0, 1] (default 0.3)\n"
         "  --learning-rate L     policy gate: RMSprop learning rate (default 1e-4)\n"
         "  --update-interval N   policy gate: weight update every N frames (default 4)\n"
         "  --policy-file FILE    policy gate: start from FILE when it exists, write the policy there\n"
         "                        at the end (a camera keeps what it learned)\n"
         "  --no-train            policy gate: decide only, never update the weights\n"
         "  --policy-seed N       policy gate: seed of the initial weights and the sampling (default 1)\n";
}

bool has_policy_options(const ParsedArgs& args) {
  for (const OptionSpec& s : policy_option_specs())
    if (args.has(s.name)) return true;
  return false;
}

std::shared_ptr<policy::PolicyBlockGate> make_policy_gate(const ParsedArgs& args, const ModelDescription& description,
                                                          const std::vector<std::string>& output_names, int width,
                                                          int height, int threads) {
  policy::PolicyGateOptions options;
  if (args.has("cost-target")) {
    const float tau = parse_float(args.value("cost-target"), "--cost-target");
    if (!(tau >= 0.f && tau <= 1.f)) throw UsageError("--cost-target must be in [0, 1]");
    options.settings.cost_target = tau;
  }
  if (args.has("learning-rate")) {
    const float lr = parse_float(args.value("learning-rate"), "--learning-rate");
    if (!(lr >= 0.f && lr <= 1.f)) throw UsageError("--learning-rate must be in [0, 1]");
    options.settings.learning_rate = lr;
  }
  if (args.has("update-interval"))
    options.settings.update_interval = int(parse_int(args.value("update-interval"), "--update-interval", 1, 1000000));
  options.settings.train = !args.has("no-train");
  if (args.has("policy-seed")) options.seed = uint64_t(parse_int(args.value("policy-seed"), "--policy-seed", 0));
  options.threads = threads;
  const std::string file = args.value("policy-file");
  if (!file.empty() && std::ifstream(file).good()) options.policy_file = file;
  return std::make_shared<policy::PolicyBlockGate>(
      policy::description_output_reader(description, output_names, width, height), options);
}

void save_policy(const ParsedArgs& args, policy::PolicyBlockGate& gate) {
  const std::string file = args.value("policy-file");
  if (!file.empty()) gate.trainer().save(file);
}

std::string policy_json(const policy::PolicyBlockGate& gate) {
  const policy::PolicyGateTimes& t = gate.last_times();
  const policy::ReinforceTrainer& trainer = gate.trainer();
  return ",\"policy\":{\"forward_ms\":" + fixed(t.forward_ms, 3) +
         ",\"information_gain_ms\":" + fixed(t.information_gain_ms, 3) + ",\"backward_ms\":" + fixed(t.backward_ms, 3) +
         ",\"update_ms\":" + fixed(t.update_ms, 3) + ",\"running_cost\":" + fixed(trainer.running_cost(), 4) +
         ",\"mean_reward\":" + fixed(trainer.last_stats().mean_reward, 5) + "}";
}

}  // namespace sparseinfer::tools

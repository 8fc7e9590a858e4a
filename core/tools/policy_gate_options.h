// The BlockCopy policy's command-line options, shared by `sparseinfer stream`
// and tests/bench/bench: --gate policy and its settings, turned into a
// PolicyBlockGate for a model, and its per-frame figures as JSON members.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "policy/policy_block_gate.h"
#include "sparseinfer/model_description.h"
#include "tools/arg_parser.h"

namespace sparseinfer::tools {

// --cost-target, --learning-rate, --update-interval, --policy-file,
// --no-train, --policy-seed.
const std::vector<OptionSpec>& policy_option_specs();

// Help text for those options (one line each, indented as the CLI's help).
const char* policy_options_help();

// True when any policy option is given (they need --gate policy).
bool has_policy_options(const ParsedArgs& args);

// A policy gate for a model with `description` and engine outputs
// `output_names`, at a network input of width x height. Loads --policy-file
// when that file exists (a bad file is an error naming it).
std::shared_ptr<policy::PolicyBlockGate> make_policy_gate(const ParsedArgs& args, const ModelDescription& description,
                                                          const std::vector<std::string>& output_names, int width,
                                                          int height, int threads);

// Writes the policy to --policy-file, when given (so the next run goes on
// learning from there).
void save_policy(const ParsedArgs& args, policy::PolicyBlockGate& gate);

// ",\"policy\":{...}" with the last frame's policy times and running cost.
std::string policy_json(const policy::PolicyBlockGate& gate);

}  // namespace sparseinfer::tools

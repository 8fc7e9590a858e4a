// The online threshold controller's command-line options (SparseTem IBST),
// shared by `sparseinfer stream` and tests/bench/bench: --target-sparsity and
// the search's constants, turned into SparsityControllerOptions, and the
// controller's per-frame figures as JSON members.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sparseinfer/sparsity_controller.h"
#include "tools/arg_parser.h"

namespace sparseinfer::tools {

// --target-sparsity, --sparsity-tolerance, --sparsity-step, --sparsity-cycle,
// --sparsity-bracket.
const std::vector<OptionSpec>& sparsity_option_specs();

// Help text for those options (one line each, indented as the CLI's help).
const char* sparsity_options_help();

// The controller's options, or none without --target-sparsity (0 means off
// too). Throws UsageError naming the option that is out of range, or when a
// search constant is given without --target-sparsity.
std::optional<SparsityControllerOptions> parse_sparsity_options(const ParsedArgs& args);

// Throws UsageError when both --target-sparsity and a --latency-budget above 0
// are given: both move the thresholds and would work against each other.
void refuse_sparsity_with_budget(const std::optional<SparsityControllerOptions>& sparsity, double budget_ms);

// ",\"sparsity\":{\"target\":T,\"in_band\":S,\"layers\":{name:{\"sparsity\":s,\"threshold\":t}}}"
// for the frame the controller last observed.
std::string sparsity_json(const SparsityController& controller);

}  // namespace sparseinfer::tools

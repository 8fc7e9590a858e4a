#include "tools/sparsity_options.h"

#include <cstdio>

#include "sparseinfer/error.h"
#include "tools/arg_values.h"
#include "tools/json.h"
#include "tools/usage_error.h"

namespace sparseinfer::tools {

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

const std::vector<OptionSpec>& sparsity_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"target-sparsity", true}, {"sparsity-tolerance", true}, {"sparsity-step", true},
      {"sparsity-cycle", true},  {"sparsity-bracket", true},
  };
  return specs;
}

const char* sparsity_options_help() {
  return "  --target-sparsity T   change mode: adjust every gated layer's threshold online so that a\n"
         "                        share T of its output pixels is not recomputed (SparseTem IBST;\n"
         "                        0: off, the default). Starts from --threshold/--thresholds\n"
         "  --sparsity-tolerance E   the band is [T - E, T + E] (default 0.02)\n"
         "  --sparsity-step M     one search step per M frames, on their mean sparsity (default 1)\n"
         "  --sparsity-cycle N    a new binary search every N frames (default 32)\n"
         "  --sparsity-bracket B  each search opens [t / B, t * B] around the last threshold t (default 4)\n";
}

std::optional<SparsityControllerOptions> parse_sparsity_options(const ParsedArgs& args) {
  const double target =
      args.has("target-sparsity") ? parse_float(args.value("target-sparsity"), "--target-sparsity") : 0.0;
  if (target == 0.0) {
    for (const OptionSpec& s : sparsity_option_specs())
      if (s.name != "target-sparsity" && args.has(s.name)) throw UsageError("--" + s.name + " needs --target-sparsity");
    return std::nullopt;
  }
  SparsityControllerOptions o;
  o.target = target;
  if (args.has("sparsity-tolerance"))
    o.tolerance = parse_float(args.value("sparsity-tolerance"), "--sparsity-tolerance");
  if (args.has("sparsity-cycle"))
    o.cycle_frames = int(parse_int(args.value("sparsity-cycle"), "--sparsity-cycle", 1, 1000000));
  if (args.has("sparsity-step"))
    o.step_frames = int(parse_int(args.value("sparsity-step"), "--sparsity-step", 1, 1000000));
  if (args.has("sparsity-bracket")) o.bracket = parse_float(args.value("sparsity-bracket"), "--sparsity-bracket");
  try {
    SparsityController::validate(o);
  } catch (const Error& e) {
    throw UsageError(std::string("--") + e.what());
  }
  return o;
}

void refuse_sparsity_with_budget(const std::optional<SparsityControllerOptions>& sparsity, double budget_ms) {
  if (sparsity && budget_ms > 0)
    throw UsageError(
        "--latency-budget and --target-sparsity both move the thresholds and would work against each other: give "
        "one or the other");
}

std::string sparsity_json(const SparsityController& c) {
  std::string out = ",\"sparsity\":{\"target\":" + fixed(c.options().target, 4) +
                    ",\"in_band\":" + fixed(c.share_in_band(), 4) + ",\"layers\":{";
  bool first = true;
  for (const LayerSearch& l : c.layers()) {
    out += std::string(first ? "" : ",") + json_string(l.layer) + ":{\"sparsity\":" + fixed(l.sparsity, 6) +
           ",\"threshold\":" + fixed(l.threshold, 6) + "}";
    first = false;
  }
  return out + "}}";
}

}  // namespace sparseinfer::tools

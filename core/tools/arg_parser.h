// The command-line parser of every sparseinfer program (the sparseinfer tool,
// the benchmarks, the evaluation runners): options of the form --name,
// --name VALUE and --name=VALUE, repeatable options, positional arguments and
// "--" to end the options. Mistakes throw UsageError.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tools/usage_error.h"

namespace sparseinfer::tools {

struct OptionSpec {
  std::string name;  // without the leading "--"
  bool takes_value = false;
  bool repeatable = false;  // otherwise a second occurrence is an error
};

class ParsedArgs {
 public:
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return given_.count(name) != 0; }
  // Every value of a repeatable option, in command-line order.
  const std::vector<std::string>& values(const std::string& name) const;
  // The value of a non-repeatable option; `def` when absent.
  std::string value(const std::string& name, const std::string& def = "") const;

 private:
  friend ParsedArgs parse_args(const std::string&, const std::vector<std::string>&, const std::vector<OptionSpec>&);
  std::map<std::string, std::vector<std::string>> given_;
};

// Parses `args` (the words after the program or command name) against
// `specs`. "--help" and "-h" are always accepted and reported as has("help").
// `command` names a subcommand in errors ("unknown option '--x' for 'run'");
// programs without subcommands pass "".
ParsedArgs parse_args(const std::string& command, const std::vector<std::string>& args,
                      const std::vector<OptionSpec>& specs);

}  // namespace sparseinfer::tools

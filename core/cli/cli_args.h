// Command-line parsing for the sparseinfer tool: options of the form
// --name, --name VALUE and --name=VALUE, positional arguments, and the
// value parsers the commands share. Mistakes throw UsageError (exit status 2).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparseinfer/tensor.h"

namespace sparseinfer::cli {

// A mistake on the command line; main() prints it with a pointer to --help.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

struct OptionSpec {
  std::string name;  // without the leading "--"
  bool takes_value = false;
  bool repeatable = false;
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

// Parses `args` (the words after the command name) for `command` ("info",
// "run"); "--help"/"-h" is always accepted and reported as has("help").
ParsedArgs parse_args(const std::string& command, const std::vector<std::string>& args,
                      const std::vector<OptionSpec>& specs);

// An integer in [min, max]; `what` names it in the error ("--threads").
int64_t parse_int(const std::string& text, const std::string& what, int64_t min, int64_t max);
// "WxH" (e.g. 640x480) into {W, H}.
std::pair<int64_t, int64_t> parse_size(const std::string& text, const std::string& what);
// "1,3,224,224" into a shape.
Shape parse_shape(const std::string& text, const std::string& what);

}  // namespace sparseinfer::cli

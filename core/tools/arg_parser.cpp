#include "tools/arg_parser.h"

namespace sparseinfer::tools {

const std::vector<std::string>& ParsedArgs::values(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = given_.find(name);
  return it == given_.end() ? kNone : it->second;
}

std::string ParsedArgs::value(const std::string& name, const std::string& def) const {
  auto it = given_.find(name);
  return it == given_.end() || it->second.empty() ? def : it->second.back();
}

ParsedArgs parse_args(const std::string& command, const std::vector<std::string>& args,
                      const std::vector<OptionSpec>& specs) {
  const std::string for_command = command.empty() ? "" : " for '" + command + "'";
  ParsedArgs parsed;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.given_["help"];
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError("unknown option '" + arg + "'" + for_command);
    std::string name = arg.substr(2);
    std::string inline_value;
    bool has_inline = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    const OptionSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name) spec = &s;
    if (!spec) throw UsageError("unknown option '--" + name + "'" + for_command);
    if (!spec->repeatable && parsed.has(name)) throw UsageError("option '--" + name + "' given more than once");
    auto& slot = parsed.given_[name];
    if (!spec->takes_value) {
      if (has_inline) throw UsageError("option '--" + name + "' takes no value");
      continue;
    }
    if (has_inline) {
      slot.push_back(inline_value);
    } else {
      if (i + 1 >= args.size()) throw UsageError("option '--" + name + "' needs a value");
      slot.push_back(args[++i]);
    }
  }
  return parsed;
}

}  // namespace sparseinfer::tools

#include "cli/cli_args.h"

#include <charconv>

namespace sparseinfer::cli {

// Largest dimension accepted on the command line; keeps shape products far
// from overflow while allowing any realistic image or tensor size.
constexpr int64_t kMaxDim = int64_t(1) << 20;

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
    if (arg.rfind("--", 0) != 0) throw UsageError("unknown option '" + arg + "' for '" + command + "'");
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
    if (!spec) throw UsageError("unknown option '--" + name + "' for '" + command + "'");
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

int64_t parse_int(const std::string& text, const std::string& what, int64_t min, int64_t max) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) throw UsageError(what + ": '" + text + "' is not an integer");
  if (v < min || v > max)
    throw UsageError(what + ": " + text + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) +
                     "]");
  return v;
}

std::pair<int64_t, int64_t> parse_size(const std::string& text, const std::string& what) {
  size_t x = text.find_first_of("xX");
  if (x == std::string::npos) throw UsageError(what + ": '" + text + "' is not of the form WxH (e.g. 640x480)");
  return {parse_int(text.substr(0, x), what + " width", 1, kMaxDim),
          parse_int(text.substr(x + 1), what + " height", 1, kMaxDim)};
}

Shape parse_shape(const std::string& text, const std::string& what) {
  Shape shape;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (shape.size() >= 8) throw UsageError(what + ": more than 8 dimensions in '" + text + "'");
    shape.push_back(parse_int(part, what + " dimension", 1, kMaxDim));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return shape;
}

}  // namespace sparseinfer::cli

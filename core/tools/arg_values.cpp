#include "tools/arg_values.h"

#include <charconv>

namespace sparseinfer::tools {

namespace {

// Largest dimension accepted on the command line; keeps shape products far
// from overflow while allowing any realistic image or tensor size.
constexpr int64_t kMaxDim = int64_t(1) << 20;

template <typename T>
T parse_real(const std::string& text, const std::string& what) {
  T v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) throw UsageError(what + ": '" + text + "' is not a number");
  return v;
}

}  // namespace

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

double parse_double(const std::string& text, const std::string& what) {
  return parse_real<double>(text, what);
}

float parse_float(const std::string& text, const std::string& what) {
  return parse_real<float>(text, what);
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

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

Backend parse_backend(const std::string& text, const std::string& what) {
  if (text == "cpu") return Backend::Cpu;
  if (text == "cuda") return Backend::Cuda;
  if (text == "auto") return Backend::Auto;
  throw UsageError(what + " must be cpu, cuda or auto, got '" + text + "'");
}

}  // namespace sparseinfer::tools

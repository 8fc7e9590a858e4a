// Parsers for option values shared by the sparseinfer programs. Each reads the
// whole text (no trailing junk) and throws UsageError naming the option
// (`what`, e.g. "--threads") when the text does not fit.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/tensor.h"
#include "tools/usage_error.h"

namespace sparseinfer::tools {

// An integer in [min, max] (by default any int).
int64_t parse_int(const std::string& text, const std::string& what, int64_t min = std::numeric_limits<int>::min(),
                  int64_t max = std::numeric_limits<int>::max());
// A decimal number (e.g. 0.005, 1e-3). parse_float rounds the text once, as
// std::stof does, so a float option gets the same value it always had.
double parse_double(const std::string& text, const std::string& what);
float parse_float(const std::string& text, const std::string& what);
// "WxH" (e.g. 640x480) into {W, H}.
std::pair<int64_t, int64_t> parse_size(const std::string& text, const std::string& what);
// "1,3,224,224" into a shape.
Shape parse_shape(const std::string& text, const std::string& what);
// "cpu", "cuda" or "auto" (the GPU when one can run the network).
Backend parse_backend(const std::string& text, const std::string& what);
// "a,b,c" into its items; empty items (",," or a trailing comma) are dropped.
std::vector<std::string> split_list(const std::string& text);

}  // namespace sparseinfer::tools

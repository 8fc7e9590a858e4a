// A mistake on a tool's command line. Each program reports it its own way (a
// pointer to --help, or its usage text) and exits with status 2.
#pragma once

#include <stdexcept>
#include <string>

namespace sparseinfer::tools {

class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace sparseinfer::tools

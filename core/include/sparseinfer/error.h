// Errors the core reports. Nothing in the core aborts: every failure a user
// can cause (a bad file, an unsupported operator, a wrong input size) is one
// of these exceptions, with a message a person can act on.
#pragma once

#include <stdexcept>
#include <string>

namespace sparseinfer {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A problem with a model: names the file, the node (may be empty for
// file-level problems) and the reason.
// what() reads "FILE: node 'NAME' (OP): REASON" or "FILE: REASON".
class ModelError : public Error {
 public:
  ModelError(std::string file, std::string node, std::string op_type, std::string reason);
  const std::string& file() const { return file_; }
  const std::string& node() const { return node_; }
  const std::string& op_type() const { return op_type_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, node_, op_type_, reason_;
};

}  // namespace sparseinfer

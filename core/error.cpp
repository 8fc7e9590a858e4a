#include "sparseinfer/error.h"

namespace sparseinfer {

static std::string compose(const std::string& file, const std::string& node, const std::string& op_type,
                           const std::string& reason) {
  std::string msg = file.empty() ? std::string("<model>") : file;
  msg += ": ";
  if (!node.empty() || !op_type.empty()) {
    msg += "node '" + node + "'";
    if (!op_type.empty()) msg += " (" + op_type + ")";
    msg += ": ";
  }
  return msg + reason;
}

ModelError::ModelError(std::string file, std::string node, std::string op_type, std::string reason)
    : Error(compose(file, node, op_type, reason)),
      file_(std::move(file)),
      node_(std::move(node)),
      op_type_(std::move(op_type)),
      reason_(std::move(reason)) {}

}  // namespace sparseinfer

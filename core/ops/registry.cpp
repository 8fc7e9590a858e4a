#include <algorithm>

#include "ops/op.h"

namespace sparseinfer {

[[noreturn]] void op_fail(const OpInfo& info, const std::string& reason) {
  throw ModelError(info.file, info.node ? info.node->name : std::string(), info.node ? info.node->op_type : std::string(),
                   reason);
}

float* Scratch::floats(size_t count, int slot) {
  auto& buffer = buffers_[slot];
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

size_t Scratch::bytes() const {
  size_t total = 0;
  for (const auto& kv : buffers_) total += kv.second.size() * sizeof(float);
  return total;
}

// Built once on first use and never modified afterwards.
static const OpTable& op_table() {
  static const OpTable table = [] {
    OpTable t;
    register_conv_ops(t);
    register_pool_ops(t);
    register_activation_ops(t);
    register_binary_ops(t);
    register_norm_ops(t);
    register_matmul_ops(t);
    register_softmax_ops(t);
    register_resize_ops(t);
    register_shape_ops(t);
    register_pad_ops(t);
    return t;
  }();
  return table;
}

std::unique_ptr<Op> create_op(const OpInfo& info) {
  const Node& node = *info.node;
  if (!node.domain.empty() && node.domain != "ai.onnx")
    op_fail(info, "operator domain '" + node.domain + "' is not supported (only the default ONNX domain is)");
  auto it = op_table().find(node.op_type);
  if (it == op_table().end())
    op_fail(info, "unsupported operator '" + node.op_type + "'; supported operators are listed by `sparseinfer info --ops`");
  try {
    return it->second(info);
  } catch (const ModelError&) {
    throw;
  } catch (const Error& e) {
    op_fail(info, e.what());
  }
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& kv : op_table()) names.push_back(kv.first);
  return names;
}

}  // namespace sparseinfer

#include <algorithm>

#include "ops/op.h"

namespace sparseinfer {

[[noreturn]] void op_fail(const OpInfo& info, const std::string& reason) {
  throw ModelError(info.file, info.node ? info.node->name : std::string(),
                   info.node ? info.node->op_type : std::string(), reason);
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
static const OpTable& reference_table() {
  static const OpTable table = [] {
    OpTable t;
    register_conv_ops(t);
    register_conv_transpose_ops(t);
    register_pool_ops(t);
    register_activation_ops(t);
    register_binary_ops(t);
    register_norm_ops(t);
    register_matmul_ops(t);
    register_softmax_ops(t);
    register_resize_ops(t);
    register_shape_ops(t);
    register_pad_ops(t);
    register_unary_ops(t);
    register_pow_ops(t);
    register_min_max_ops(t);
    register_reduce_ops(t);
    register_slice_ops(t);
    register_split_ops(t);
    register_expand_ops(t);
    register_tile_ops(t);
    register_cast_ops(t);
    register_depth_space_ops(t);
    return t;
  }();
  return table;
}

static const OpTable& cpu_table() {
  static const OpTable table = [] {
    OpTable t;
    register_cpu_ops(t);
    return t;
  }();
  return table;
}

// The fast operators of `backend`. kernels/ registers no dense operators yet,
// so a CUDA engine's host-side operators (and Auto) use the CPU table; a CUDA
// table joins here once kernels/ registers one.
static const OpTable& fast_table(Backend) {
  return cpu_table();
}

static const OpFactory* find_factory(const OpTable* table, const std::string& op_type) {
  if (!table) return nullptr;
  auto it = table->find(op_type);
  return it == table->end() ? nullptr : &it->second;
}

// Looks the node up in `fast` (null: reference only), then in the reference table.
static std::unique_ptr<Op> create_from(const OpInfo& info, const OpTable* fast) {
  const Node& node = *info.node;
  if (!node.domain.empty() && node.domain != "ai.onnx")
    op_fail(info, "operator domain '" + node.domain + "' is not supported (only the default ONNX domain is)");
  const OpFactory* factory = find_factory(fast, node.op_type);
  if (!factory) factory = find_factory(&reference_table(), node.op_type);
  if (!factory)
    op_fail(info,
            "unsupported operator '" + node.op_type + "'; supported operators are listed by `sparseinfer info --ops`");
  try {
    return (*factory)(info);
  } catch (const ModelError&) {
    throw;
  } catch (const Error& e) {
    op_fail(info, e.what());
  }
}

std::unique_ptr<Op> create_op(const OpInfo& info, Backend backend) {
  return create_from(info, &fast_table(backend));
}

std::unique_ptr<Op> create_reference_op(const OpInfo& info) {
  return create_from(info, nullptr);
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& kv : reference_table()) names.push_back(kv.first);
  return names;
}

std::vector<std::string> fast_ops(Backend backend) {
  std::vector<std::string> names;
  for (const auto& kv : fast_table(backend)) names.push_back(kv.first);
  return names;
}

}  // namespace sparseinfer

#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

namespace sparseinfer {

static const Attribute* find_attr(const Node& node, const std::string& key, Attribute::Kind kind) {
  auto it = node.attributes.find(key);
  if (it == node.attributes.end()) return nullptr;
  if (it->second.kind != kind) throw Error("attribute '" + key + "' has the wrong type");
  return &it->second;
}

int64_t Node::attr_int(const std::string& key, int64_t def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Int);
  return a ? a->i : def;
}

float Node::attr_float(const std::string& key, float def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Float);
  return a ? a->f : def;
}

std::string Node::attr_string(const std::string& key, const std::string& def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::String);
  return a ? a->s : def;
}

std::vector<int64_t> Node::attr_ints(const std::string& key, const std::vector<int64_t>& def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Ints);
  return a ? a->ints : def;
}

std::vector<float> Node::attr_floats(const std::string& key, const std::vector<float>& def) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Floats);
  return a ? a->floats : def;
}

const Tensor* Node::attr_tensor(const std::string& key) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Tensor);
  return a ? a->tensor.get() : nullptr;
}

int Model::producer_of(const std::string& value) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& out : nodes[i].outputs)
      if (out == value) return static_cast<int>(i);
  return -1;
}

}  // namespace sparseinfer

#include <algorithm>

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

std::vector<std::string> split_labels(const std::string& text) {
  static const char* const kSpace = " \t\n\v\f\r";
  std::vector<std::string> labels;
  if (text.empty()) return labels;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string field = text.substr(start, end - start);
    const size_t first = field.find_first_not_of(kSpace);
    labels.push_back(first == std::string::npos ? std::string()
                                                : field.substr(first, field.find_last_not_of(kSpace) - first + 1));
    if (end == text.size()) break;
    start = end + 1;
  }
  return labels;
}

std::vector<std::string> class_labels(const Model& model) {
  auto it = model.metadata.find("labels");
  return it == model.metadata.end() ? std::vector<std::string>() : split_labels(it->second);
}

}  // namespace sparseinfer

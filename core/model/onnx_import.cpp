// ONNX import: protobuf -> Model, with every check that turns a bad file into
// a ModelError naming the file, the node and the reason.
#include "model/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <climits>
#include <filesystem>
#include <functional>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "model/file_bytes.h"
#include "model/tensor_proto.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

namespace sparseinfer {

namespace {

class Importer {
 public:
  // `model_dir` is where external data files may live; empty refuses them.
  Importer(std::string label, std::string model_dir, const LoadLimits& limits,
           const std::vector<std::string>& supported)
      : label_(std::move(label)),
        model_dir_(std::move(model_dir)),
        limits_(limits),
        supported_(supported.begin(), supported.end()) {}

  Model run(const onnx::ModelProto& proto);

 private:
  [[noreturn]] void fail(const std::string& reason) const { throw ModelError(label_, "", "", reason); }
  [[noreturn]] void fail(const Node& node, const std::string& reason) const {
    throw ModelError(label_, node.name, node.op_type, reason);
  }

  void read_opset(const onnx::ModelProto& proto);
  void read_initializers(const onnx::GraphProto& graph);
  void read_inputs_outputs(const onnx::GraphProto& graph);
  void read_nodes(const onnx::GraphProto& graph);
  Attribute read_attribute(const Node& node, const onnx::AttributeProto& proto) const;
  void constant_to_initializer(const Node& node);
  void add_initializer(const std::string& name, Tensor tensor, const Node* node);
  void check_and_sort();

  std::string label_;
  std::string model_dir_;
  LoadLimits limits_;
  Model model_;
  std::set<std::string> supported_;
};

void Importer::read_opset(const onnx::ModelProto& proto) {
  bool found = false;
  for (const auto& opset : proto.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      model_.opset = opset.version();
      found = true;
    }
  }
  if (!found) fail("the model declares no opset for the default ONNX domain (opset_import)");
  if (model_.opset < 1) fail("invalid opset version " + std::to_string(model_.opset) + " for the default domain");
}

void Importer::add_initializer(const std::string& name, Tensor tensor, const Node* node) {
  if (name.empty()) {
    if (node) fail(*node, "constant has no output name");
    fail("an initializer has no name");
  }
  if (!model_.initializers.emplace(name, std::move(tensor)).second) {
    if (node) fail(*node, "value '" + name + "' is produced twice");
    fail("initializer '" + name + "' is defined twice");
  }
}

void Importer::read_initializers(const onnx::GraphProto& graph) {
  if (graph.sparse_initializer_size() > 0)
    fail("sparse initializers are not supported (tensor '" + graph.sparse_initializer(0).values().name() + "')");
  for (const auto& init : graph.initializer()) {
    Tensor t;
    try {
      t = tensor_from_proto(init, limits_, model_dir_);
    } catch (const ModelError&) {
      throw;
    } catch (const Error& e) {
      fail(std::string("initializer: ") + e.what());
    }
    add_initializer(init.name(), std::move(t), nullptr);
  }
}

void Importer::read_inputs_outputs(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> seen;
  for (const auto& input : graph.input()) {
    if (input.name().empty()) fail("a graph input has no name");
    if (!seen.insert(input.name()).second) fail("graph input '" + input.name() + "' is listed twice");
    // Inputs that have an initializer are weights with a default (IR < 4 lists them all).
    if (model_.initializers.count(input.name())) continue;
    try {
      model_.inputs.push_back(value_info_from_proto(input));
    } catch (const Error& e) {
      fail(std::string("graph input: ") + e.what());
    }
  }
  if (graph.output_size() == 0) fail("the graph has no outputs");
  for (const auto& output : graph.output()) {
    if (output.name().empty()) fail("a graph output has no name");
    const auto& type = output.type();
    // Outputs without a declared type are computed as float32 by the operators.
    if (!output.has_type() || (type.has_tensor_type() && type.tensor_type().elem_type() == 0)) {
      model_.outputs.push_back(ValueInfo{output.name(), DType::Float32, {}});
      continue;
    }
    try {
      model_.outputs.push_back(value_info_from_proto(output));
    } catch (const Error& e) {
      fail(std::string("graph output: ") + e.what());
    }
  }
}

Attribute Importer::read_attribute(const Node& node, const onnx::AttributeProto& proto) const {
  using AP = onnx::AttributeProto;
  auto type = proto.type();
  // Files from old exporters leave the type unset: take it from the field that is filled.
  if (type == AP::UNDEFINED) {
    if (proto.has_f())
      type = AP::FLOAT;
    else if (proto.has_i())
      type = AP::INT;
    else if (proto.has_s())
      type = AP::STRING;
    else if (proto.has_t())
      type = AP::TENSOR;
    else if (proto.has_g())
      type = AP::GRAPH;
    else if (proto.floats_size())
      type = AP::FLOATS;
    else if (proto.ints_size())
      type = AP::INTS;
    else if (proto.strings_size())
      type = AP::STRINGS;
    else if (proto.graphs_size())
      type = AP::GRAPHS;
    else if (proto.tensors_size())
      type = AP::TENSORS;
  }
  if (!proto.ref_attr_name().empty())
    fail(node, "attribute '" + proto.name() + "' refers to a function attribute, which is not supported");
  Attribute a;
  switch (type) {
    case AP::INT:
      a.kind = Attribute::Kind::Int;
      a.i = proto.i();
      break;
    case AP::FLOAT:
      a.kind = Attribute::Kind::Float;
      a.f = proto.f();
      break;
    case AP::STRING:
      a.kind = Attribute::Kind::String;
      a.s = proto.s();
      break;
    case AP::INTS:
      a.kind = Attribute::Kind::Ints;
      a.ints.assign(proto.ints().begin(), proto.ints().end());
      break;
    case AP::FLOATS:
      a.kind = Attribute::Kind::Floats;
      a.floats.assign(proto.floats().begin(), proto.floats().end());
      break;
    case AP::STRINGS:
      a.kind = Attribute::Kind::Strings;
      a.strings.assign(proto.strings().begin(), proto.strings().end());
      break;
    case AP::TENSOR:
      a.kind = Attribute::Kind::Tensor;
      try {
        a.tensor = std::make_shared<const Tensor>(tensor_from_proto(proto.t(), limits_, model_dir_));
      } catch (const ModelError&) {
        throw;
      } catch (const Error& e) {
        fail(node, "attribute '" + proto.name() + "': " + e.what());
      }
      break;
    default: {
      std::string kind =
          AP::AttributeType_IsValid(type) ? AP::AttributeType_Name(type) : "type " + std::to_string(type);
      fail(node, "attribute '" + proto.name() + "' has type " + kind +
                     ", which is not supported (subgraphs, sparse tensors and type attributes cannot be imported)");
    }
  }
  return a;
}

void Importer::constant_to_initializer(const Node& node) {
  if (node.outputs.size() != 1) fail(node, "Constant must have exactly one output");
  if (node.attributes.size() != 1) fail(node, "Constant must have exactly one value attribute");
  const auto& [key, a] = *node.attributes.begin();
  Tensor t;
  if (key == "value" && a.kind == Attribute::Kind::Tensor) {
    t = *a.tensor;
  } else if (key == "value_float" && a.kind == Attribute::Kind::Float) {
    t = Tensor::scalar_f32(a.f);
  } else if (key == "value_floats" && a.kind == Attribute::Kind::Floats) {
    t = Tensor::from_f32({static_cast<int64_t>(a.floats.size())}, a.floats);
  } else if (key == "value_int" && a.kind == Attribute::Kind::Int) {
    t = Tensor::from_i64({}, {a.i});
  } else if (key == "value_ints" && a.kind == Attribute::Kind::Ints) {
    t = Tensor::from_i64({static_cast<int64_t>(a.ints.size())}, a.ints);
  } else {
    fail(node, "Constant attribute '" + key +
                   "' is not supported (value, value_float, value_floats, value_int and value_ints are)");
  }
  add_initializer(node.outputs[0], std::move(t), &node);
}

void Importer::read_nodes(const onnx::GraphProto& graph) {
  if (static_cast<size_t>(graph.node_size()) > limits_.max_nodes)
    fail("the graph has " + std::to_string(graph.node_size()) + " nodes, more than the limit of " +
         std::to_string(limits_.max_nodes));
  for (int index = 0; index < graph.node_size(); ++index) {
    const auto& proto = graph.node(index);
    Node node;
    node.op_type = proto.op_type();
    node.domain = proto.domain();
    node.name = proto.name().empty() ? node.op_type + "_" + std::to_string(index) : proto.name();
    node.inputs.assign(proto.input().begin(), proto.input().end());
    node.outputs.assign(proto.output().begin(), proto.output().end());
    if (node.op_type.empty()) fail(node, "node has no op_type");
    if (!node.domain.empty() && node.domain != "ai.onnx")
      fail(node, "operator domain '" + node.domain + "' is not supported (only the default ONNX domain is)");
    for (const auto& attr : proto.attribute()) {
      if (attr.name().empty()) fail(node, "an attribute has no name");
      if (!node.attributes.emplace(attr.name(), read_attribute(node, attr)).second)
        fail(node, "attribute '" + attr.name() + "' is given twice");
    }
    if (node.op_type == "Constant") {
      constant_to_initializer(node);
      continue;
    }
    if (!supported_.count(node.op_type))
      fail(node, "unsupported operator '" + node.op_type + "'; `sparseinfer info --ops` lists the supported ones");
    model_.nodes.push_back(std::move(node));
  }
}

// Checks that every value has exactly one source and sorts the nodes
// topologically (Kahn's algorithm, keeping file order where it is free).
void Importer::check_and_sort() {
  std::unordered_map<std::string, int> producer;  // -1: graph input or initializer
  for (const auto& kv : model_.initializers) producer.emplace(kv.first, -1);
  for (const auto& input : model_.inputs) {
    // Initializers from the file were taken out of the inputs already; this one came from a Constant node.
    if (model_.initializers.count(input.name))
      fail("graph input '" + input.name + "' is also the output of a Constant node");
    producer.emplace(input.name, -1);
  }
  const auto& nodes = model_.nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& out : nodes[i].outputs) {
      if (out.empty()) continue;
      if (!producer.emplace(out, static_cast<int>(i)).second) fail(nodes[i], "value '" + out + "' is produced twice");
    }
  }
  std::vector<std::vector<int>> consumers(nodes.size());
  std::vector<int> pending(nodes.size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<int> sources;
    for (const auto& in : nodes[i].inputs) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        fail(nodes[i], "input '" + in + "' is not a graph input, an initializer or the output of any node");
      if (it->second >= 0) sources.insert(it->second);
    }
    for (int s : sources) consumers[static_cast<size_t>(s)].push_back(static_cast<int>(i));
    pending[i] = static_cast<int>(sources.size());
  }
  for (const auto& output : model_.outputs)
    if (!producer.count(output.name))
      fail("graph output '" + output.name + "' is not produced by any node, input or initializer");

  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  std::vector<bool> done(nodes.size(), false);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    done[static_cast<size_t>(i)] = true;
    for (int c : consumers[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(c)] == 0) ready.push(c);
    sorted.push_back(nodes[static_cast<size_t>(i)]);
  }
  if (sorted.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!done[i]) fail(nodes[i], "the graph has a cycle through this node");
  }
  model_.nodes = std::move(sorted);
}

Model Importer::run(const onnx::ModelProto& proto) {
  model_.path = label_;
  model_.producer = proto.producer_name();
  for (const auto& entry : proto.metadata_props()) model_.metadata[entry.key()] = entry.value();
  if (!proto.has_graph()) fail("the model has no graph");
  read_opset(proto);
  const auto& graph = proto.graph();
  read_initializers(graph);
  read_inputs_outputs(graph);
  read_nodes(graph);
  check_and_sort();
  return std::move(model_);
}

}  // namespace

// Runs fn, turning every exception into a ModelError for this file.
template <typename Fn>
static Model guarded(const std::string& label, Fn&& fn) {
  try {
    return fn();
  } catch (const ModelError&) {
    throw;
  } catch (const Error& e) {
    throw ModelError(label, "", "", e.what());
  } catch (const std::bad_alloc&) {
    throw ModelError(label, "", "", "out of memory while reading the model");
  } catch (const std::exception& e) {
    throw ModelError(label, "", "", std::string("cannot read the model: ") + e.what());
  }
}

static Model parse_model(const std::string& bytes, const std::string& label, const std::string& model_dir,
                         const LoadLimits& limits, const std::vector<std::string>& supported) {
  if (bytes.empty()) throw ModelError(label, "", "", "file is empty");
  if (bytes.size() > limits.max_file_bytes || bytes.size() > static_cast<size_t>(INT_MAX))
    throw ModelError(label, "", "", "model is " + std::to_string(bytes.size()) + " bytes, larger than the limit");
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw ModelError(label, "", "", "not a valid ONNX protobuf (truncated or corrupted)");
  return Importer(label, model_dir, limits, supported).run(proto);
}

Model import_model_bytes(const std::string& bytes, const std::string& label, const LoadLimits& limits,
                         const std::vector<std::string>& supported) {
  return guarded(label, [&] { return parse_model(bytes, label, std::string(), limits, supported); });
}

Model import_model_file(const std::string& path, const LoadLimits& limits, const std::vector<std::string>& supported) {
  // External data files are looked up beside the model file.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return guarded(
      path, [&] { return parse_model(read_file_bytes(path, limits.max_file_bytes), path, dir, limits, supported); });
}

}  // namespace sparseinfer

// The graph IR: an imported, immutable model. Produced by load_model() from
// an ONNX file; knows nothing of backends or execution.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

struct Attribute {
  enum class Kind { Int, Float, String, Ints, Floats, Strings, Tensor };
  Kind kind = Kind::Int;
  int64_t i = 0;
  float f = 0.0f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<const sparseinfer::Tensor> tensor;

  static Attribute of_int(int64_t v) {
    Attribute a;
    a.kind = Kind::Int;
    a.i = v;
    return a;
  }
  static Attribute of_float(float v) {
    Attribute a;
    a.kind = Kind::Float;
    a.f = v;
    return a;
  }
  static Attribute of_string(std::string v) {
    Attribute a;
    a.kind = Kind::String;
    a.s = std::move(v);
    return a;
  }
  static Attribute of_ints(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Kind::Ints;
    a.ints = std::move(v);
    return a;
  }
};

struct Node {
  std::string name;     // ONNX node name, or a generated "<op_type>_<index>" when empty
  std::string op_type;  // e.g. "Conv"
  std::string domain;   // "" or "ai.onnx" for the standard operator set
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::map<std::string, Attribute> attributes;

  bool has_attr(const std::string& key) const { return attributes.count(key) != 0; }
  // Typed getters: return the default when absent; throw sparseinfer::Error
  // when present with the wrong kind (callers turn it into a ModelError).
  int64_t attr_int(const std::string& key, int64_t def) const;
  float attr_float(const std::string& key, float def) const;
  std::string attr_string(const std::string& key, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& key, const std::vector<int64_t>& def) const;
  std::vector<float> attr_floats(const std::string& key, const std::vector<float>& def) const;
  const sparseinfer::Tensor* attr_tensor(const std::string& key) const;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::Float32;
  // -1 for a dimension that is symbolic or unknown in the file.
  std::vector<int64_t> dims;
};

struct Model {
  std::string path;  // file the model came from (or a label for in-memory models)
  int64_t opset = 0;  // opset version of the default ("" / "ai.onnx") domain
  std::string producer;
  std::vector<ValueInfo> inputs;   // graph inputs that are not initializers, in graph order
  std::vector<ValueInfo> outputs;  // graph outputs, in graph order
  std::map<std::string, Tensor> initializers;
  std::vector<Node> nodes;  // topologically sorted
  // The file's metadata_props (key -> value; a repeated key keeps its last value).
  std::map<std::string, std::string> metadata;

  // Index of the node that produces a value, or -1 for inputs/initializers.
  int producer_of(const std::string& value) const;
};

// A comma-separated list of class names, each trimmed of white space; an
// empty field keeps its place (a class without a name). Empty for "".
std::vector<std::string> split_labels(const std::string& text);

// Class names from the "labels" metadata entry (split_labels). Empty when the
// model has no such entry.
std::vector<std::string> class_labels(const Model& model);

// Limits applied while reading, so a hostile file cannot make us allocate
// without bound before we notice.
struct LoadLimits {
  size_t max_file_bytes = size_t(2) << 30;   // 2 GiB (protobuf's own ceiling)
  int64_t max_tensor_elements = int64_t(1) << 31;
  size_t max_nodes = 100000;
  int64_t max_rank = 8;
};

// Reads and validates an ONNX file. Throws ModelError naming the file, the
// node and the reason for a missing, empty, truncated, corrupted or hostile
// file, an unsupported operator or attribute, cycles, dangling names, or
// external data outside the model's own directory (external data inside it
// is read; load_model_from_bytes has no directory and refuses it). Never aborts.
Model load_model(const std::string& path, const LoadLimits& limits = {});
Model load_model_from_bytes(const std::string& bytes, const std::string& label,
                            const LoadLimits& limits = {});

// Reads a serialized onnx.TensorProto file (the .pb files of the ONNX test
// data) into a Tensor, with the same checks as initializers. Throws Error.
Tensor load_tensor_proto(const std::string& path, const LoadLimits& limits = {});

// Graph rewrites applied after loading (core/ops/graph_optimize.cpp):
// BatchNormalization folded into the preceding Conv, activations fused into
// the producing Conv/Gemm (attributes "sparseinfer_activation", "alpha",
// "beta", "min", "max" on the rewritten node), Identity/inference Dropout
// removed. The result computes the same function.
Model optimize_model(const Model& model);

}  // namespace sparseinfer

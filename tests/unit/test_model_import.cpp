// ONNX import and graph optimization: models are built in memory with the
// ONNX protobuf classes, so every bad case is a precise, small file.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "ops/activation.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

namespace si = sparseinfer;
namespace fs = std::filesystem;

namespace {

onnx::TensorProto float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                               const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto_DataType_FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  for (float v : values) t.add_float_data(v);
  return t;
}

onnx::TensorProto raw_float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                   const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto_DataType_FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t;
}

// A small ModelProto under construction, with helpers for the common parts.
class Builder {
 public:
  explicit Builder(int64_t opset = 13) {
    proto_.set_ir_version(7);
    proto_.set_producer_name("test_model_import");
    auto* op = proto_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
  }
  onnx::ModelProto& proto() { return proto_; }
  onnx::GraphProto& graph() { return *proto_.mutable_graph(); }

  onnx::ValueInfoProto* input(const std::string& name, const std::vector<int64_t>& dims,
                              int elem_type = onnx::TensorProto_DataType_FLOAT) {
    return value(graph().add_input(), name, dims, elem_type);
  }
  onnx::ValueInfoProto* output(const std::string& name, const std::vector<int64_t>& dims = {}) {
    return value(graph().add_output(), name, dims, onnx::TensorProto_DataType_FLOAT);
  }
  onnx::TensorProto* init(const onnx::TensorProto& t) {
    auto* added = graph().add_initializer();
    *added = t;
    return added;
  }
  onnx::TensorProto* init(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    return init(float_tensor(name, dims, v));
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  std::string bytes() const {
    std::string s;
    EXPECT_TRUE(proto_.SerializeToString(&s));
    return s;
  }

 private:
  static onnx::ValueInfoProto* value(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims,
                                     int elem_type) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = shape->add_dim();
      if (d < 0)
        dim->set_dim_param("N");
      else
        dim->set_dim_value(d);
    }
    return v;
  }
  onnx::ModelProto proto_;
};

void attr_int(onnx::NodeProto* n, const std::string& key, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr_float(onnx::NodeProto* n, const std::string& key, float v) {
  auto* a = n->add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void attr_ints(onnx::NodeProto* n, const std::string& key, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

// A temporary file removed at scope exit.
class TempFile {
 public:
  TempFile(const std::string& stem, const std::string& bytes) {
    path_ = (fs::temp_directory_path() / (stem + "_" + std::to_string(::getpid()) + ".onnx")).string();
    std::ofstream out(path_, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Conv(3->4, 3x3, no bias) -> BatchNormalization -> Relu, input with a symbolic batch.
Builder conv_bn_relu() {
  Builder b;
  b.input("x", {-1, 3, 8, 8});
  b.output("y", {-1, 4, 8, 8});
  std::vector<float> w(4 * 3 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i) - 0.5f;
  b.init(raw_float_tensor("W", {4, 3, 3, 3}, w));
  b.init("scale", {4}, {1.0f, 2.0f, 0.5f, -1.0f});
  b.init("shift", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
  b.init("mean", {4}, {0.0f, 1.0f, -1.0f, 0.5f});
  b.init("var", {4}, {1.0f, 4.0f, 0.25f, 2.0f});
  auto* conv = b.node("Conv", {"x", "W"}, {"c"}, "conv1");
  attr_ints(conv, "kernel_shape", {3, 3});
  attr_ints(conv, "pads", {1, 1, 1, 1});
  auto* bn = b.node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"bn"}, "bn1");
  attr_float(bn, "epsilon", 1e-3f);
  b.node("Relu", {"bn"}, {"y"});
  return b;
}

// Asserts that loading throws a ModelError whose message holds every piece.
void expect_model_error(const std::string& bytes, const std::vector<std::string>& pieces,
                        const std::string& label = "model.onnx", const si::LoadLimits& limits = {}) {
  try {
    si::load_model_from_bytes(bytes, label, limits);
    ADD_FAILURE() << "expected a ModelError containing '" << pieces.front() << "'";
  } catch (const si::ModelError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(label), std::string::npos) << what;
    for (const auto& p : pieces) EXPECT_NE(what.find(p), std::string::npos) << "missing '" << p << "' in: " << what;
  }
}

}  // namespace

TEST(ModelImport, ValidConvBnReluRoundTrip) {
  Builder b = conv_bn_relu();
  TempFile file("valid_conv_bn_relu", b.bytes());
  si::Model m = si::load_model(file.path());
  EXPECT_EQ(m.path, file.path());
  EXPECT_EQ(m.opset, 13);
  EXPECT_EQ(m.producer, "test_model_import");
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].name, "x");
  EXPECT_EQ(m.inputs[0].dtype, si::DType::Float32);
  EXPECT_EQ(m.inputs[0].dims, (std::vector<int64_t>{-1, 3, 8, 8}));
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].name, "y");
  ASSERT_EQ(m.nodes.size(), 3u);
  EXPECT_EQ(m.nodes[0].name, "conv1");
  EXPECT_EQ(m.nodes[0].op_type, "Conv");
  EXPECT_EQ(m.nodes[0].attr_ints("kernel_shape", {}), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(m.nodes[0].attr_ints("pads", {}), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_FLOAT_EQ(m.nodes[1].attr_float("epsilon", 0.0f), 1e-3f);
  EXPECT_EQ(m.nodes[2].name, "Relu_2");  // generated from op type and index
  EXPECT_EQ(m.nodes[2].inputs, (std::vector<std::string>{"bn"}));
  ASSERT_EQ(m.initializers.size(), 5u);
  const si::Tensor& w = m.initializers.at("W");
  EXPECT_EQ(w.shape(), (si::Shape{4, 3, 3, 3}));
  EXPECT_FLOAT_EQ(w.f32()[5], 0.05f - 0.5f);
  EXPECT_FLOAT_EQ(m.initializers.at("var").f32()[1], 4.0f);
  EXPECT_EQ(m.producer_of("c"), 0);
  EXPECT_EQ(m.producer_of("W"), -1);
}

TEST(ModelImport, MetadataAndClassLabels) {
  Builder plain = conv_bn_relu();
  si::Model none = si::load_model_from_bytes(plain.bytes(), "plain.onnx");
  EXPECT_TRUE(none.metadata.empty());
  EXPECT_TRUE(si::class_labels(none).empty());

  Builder b = conv_bn_relu();
  for (auto [key, value] : {std::pair<const char*, const char*>{"labels", " cat, dog ,,\tbird "},
                            {"description", "four classes"}}) {
    auto* entry = b.proto().add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  si::Model m = si::load_model_from_bytes(b.bytes(), "labelled.onnx");
  ASSERT_EQ(m.metadata.size(), 2u);
  EXPECT_EQ(m.metadata.at("description"), "four classes");
  // Names are trimmed; an empty field keeps its place (class 2 has no name).
  EXPECT_EQ(si::class_labels(m), (std::vector<std::string>{"cat", "dog", "", "bird"}));
}

TEST(ModelImport, NodesAreSortedTopologicallyAndConstantsBecomeInitializers) {
  Builder b(9);
  b.input("x", {1, 4});
  b.output("y");
  b.node("Relu", {"a"}, {"y"}, "second");
  b.node("Mul", {"x", "k"}, {"a"}, "first");
  auto* c = b.node("Constant", {}, {"k"}, "const_k");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = float_tensor("", {4}, {1, 2, 3, 4});
  auto* ints = b.node("Constant", {}, {"shape"}, "const_ints");
  attr_ints(ints, "value_ints", {2, 2});
  onnx::TensorProto axes;
  axes.set_name("axes");
  axes.set_data_type(onnx::TensorProto_DataType_INT64);
  axes.add_dims(2);
  const int64_t axes_values[2] = {0, -1};
  axes.set_raw_data(std::string(reinterpret_cast<const char*>(axes_values), sizeof(axes_values)));
  b.init(axes);
  b.node("Identity", {"axes"}, {"axes_copy"}, "keep_axes");
  si::Model m = si::load_model_from_bytes(b.bytes(), "sorted.onnx");
  ASSERT_EQ(m.initializers.count("axes"), 1u);
  EXPECT_EQ(m.initializers.at("axes").to_i64_vector(), (std::vector<int64_t>{0, -1}));
  ASSERT_EQ(m.nodes.size(), 3u);
  EXPECT_EQ(m.nodes[0].name, "first");
  EXPECT_EQ(m.nodes[1].name, "second");
  EXPECT_EQ(m.nodes[2].name, "keep_axes");
  ASSERT_EQ(m.initializers.count("k"), 1u);
  EXPECT_EQ(m.initializers.at("k").to_f32_vector(), (std::vector<float>{1, 2, 3, 4}));
  ASSERT_EQ(m.initializers.count("shape"), 1u);
  EXPECT_EQ(m.initializers.at("shape").dtype(), si::DType::Int64);
  EXPECT_EQ(m.initializers.at("shape").to_i64_vector(), (std::vector<int64_t>{2, 2}));
}

TEST(ModelImport, FileProblems) {
  const std::string missing = "/nonexistent/dir/missing_model.onnx";
  try {
    si::load_model(missing);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const si::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos);
  }
  TempFile empty("empty_model", "");
  try {
    si::load_model(empty.path());
    ADD_FAILURE() << "no error for an empty file";
  } catch (const si::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(empty.path()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
  }
  const std::string dir = fs::temp_directory_path().string();
  try {
    si::load_model(dir);
    ADD_FAILURE() << "no error for a directory";
  } catch (const si::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos);
  }
  Builder b = conv_bn_relu();
  TempFile big("big_model", b.bytes());
  si::LoadLimits small;
  small.max_file_bytes = 16;
  try {
    si::load_model(big.path(), small);
    ADD_FAILURE() << "no error for a file over the limit";
  } catch (const si::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos);
  }
  expect_model_error(std::string("\xff\xff\xff\xff garbage", 12), {"not a valid ONNX protobuf"});
}

TEST(ModelImport, TruncatedAndCorruptedBytesNeverCrash) {
  const std::string good = conv_bn_relu().bytes();
  int errors = 0, successes = 0;
  auto attempt = [&](const std::string& bytes) {
    try {
      si::Model m = si::load_model_from_bytes(bytes, "fuzz.onnx");
      si::optimize_model(m);
      ++successes;
    } catch (const si::ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("fuzz.onnx"), std::string::npos) << e.what();
      ++errors;
    }
  };
  for (size_t len = 0; len < good.size(); ++len) attempt(good.substr(0, len));
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    attempt(bytes);
  }
  EXPECT_GT(errors, static_cast<int>(good.size()) / 2);  // most truncations must be rejected
  EXPECT_GT(successes, 0);                               // flips inside weights still load
}

TEST(ModelImport, AbsurdDimsAreRejectedBeforeAllocating) {
  for (std::vector<int64_t> dims : {std::vector<int64_t>{int64_t(1) << 40},
                                    {int64_t(1) << 40, int64_t(1) << 40},
                                    {int64_t(1) << 21, int64_t(1) << 21, int64_t(1) << 21}}) {
    Builder b;
    b.input("x", {1});
    b.output("y");
    onnx::TensorProto t;
    t.set_name("huge");
    t.set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    b.init(t);
    b.node("Add", {"x", "huge"}, {"y"}, "add");
    expect_model_error(b.bytes(), {"huge", "elements"});
  }
}

TEST(ModelImport, NegativeDims) {
  Builder b;
  b.input("x", {1});
  b.output("y");
  b.init("neg", {2, -3}, {});
  b.node("Add", {"x", "neg"}, {"y"}, "add");
  expect_model_error(b.bytes(), {"neg", "negative dimension"});
}

TEST(ModelImport, RawDataSizeMismatch) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  auto* t = b.init(raw_float_tensor("short_raw", {4}, {1, 2, 3}));
  (void)t;
  b.node("Add", {"x", "short_raw"}, {"y"}, "add");
  expect_model_error(b.bytes(), {"short_raw", "raw_data"});

  Builder typed;
  typed.input("x", {4});
  typed.output("y");
  typed.init("few_values", {4}, {1, 2});
  typed.node("Add", {"x", "few_values"}, {"y"}, "add");
  expect_model_error(typed.bytes(), {"few_values", "needs 4 values"});
}

TEST(ModelImport, ExternalDataIsRejected) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  onnx::TensorProto t;
  t.set_name("outside");
  t.set_data_type(onnx::TensorProto_DataType_FLOAT);
  t.add_dims(4);
  t.set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
  auto* entry = t.add_external_data();
  entry->set_key("location");
  entry->set_value("weights.bin");
  b.init(t);
  b.node("Add", {"x", "outside"}, {"y"}, "add");
  expect_model_error(b.bytes(), {"outside", "external data", "re-export"});
}

TEST(ModelImport, CycleNamesANode) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  b.node("Add", {"x", "b"}, {"a"}, "loop_a");
  b.node("Relu", {"a"}, {"b"}, "loop_b");
  b.node("Relu", {"x"}, {"y"}, "fine");
  try {
    si::load_model_from_bytes(b.bytes(), "cycle.onnx");
    ADD_FAILURE() << "no error for a cycle";
  } catch (const si::ModelError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cycle.onnx"), std::string::npos);
    EXPECT_NE(what.find("cycle"), std::string::npos);
    EXPECT_TRUE(e.node() == "loop_a" || e.node() == "loop_b") << what;
  }
}

TEST(ModelImport, DanglingInput) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  b.node("Add", {"x", "nowhere"}, {"y"}, "adder");
  expect_model_error(b.bytes(), {"adder", "nowhere", "not a graph input"});
}

TEST(ModelImport, ValueProducedTwice) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  b.node("Relu", {"x"}, {"y"}, "one");
  b.node("Sigmoid", {"x"}, {"y"}, "two");
  expect_model_error(b.bytes(), {"two", "'y'", "produced twice"});
}

TEST(ModelImport, ConstantShadowingAGraphInput) {
  Builder b;
  b.input("x", {1});
  b.output("y");
  auto* c = b.node("Constant", {}, {"x"}, "const_x");
  attr_float(c, "value_float", 1.0f);
  b.node("Relu", {"x"}, {"y"}, "r");
  expect_model_error(b.bytes(), {"'x'", "Constant"});
}

TEST(ModelImport, MissingGraphOutput) {
  Builder b;
  b.input("x", {4});
  b.output("ghost");
  b.node("Relu", {"x"}, {"y"}, "r");
  expect_model_error(b.bytes(), {"ghost", "not produced"});
}

TEST(ModelImport, UnsupportedOperator) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  b.node("FooBar", {"x"}, {"y"}, "foo_node");
  try {
    si::load_model_from_bytes(b.bytes(), "foobar.onnx");
    ADD_FAILURE() << "no error for FooBar";
  } catch (const si::ModelError& e) {
    std::string what = e.what();
    EXPECT_EQ(e.file(), "foobar.onnx");
    EXPECT_EQ(e.node(), "foo_node");
    EXPECT_EQ(e.op_type(), "FooBar");
    EXPECT_NE(what.find("unsupported operator"), std::string::npos) << what;
  }
}

TEST(ModelImport, NonDefaultDomain) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  b.node("Relu", {"x"}, {"y"}, "custom")->set_domain("com.example");
  expect_model_error(b.bytes(), {"custom", "com.example"});
}

TEST(ModelImport, UnsupportedDtypes) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  onnx::TensorProto t;
  t.set_name("doubles");
  t.set_data_type(onnx::TensorProto_DataType_DOUBLE);
  t.add_dims(1);
  t.add_double_data(1.0);
  b.init(t);
  b.node("Add", {"x", "doubles"}, {"y"}, "add");
  expect_model_error(b.bytes(), {"doubles", "DOUBLE", "float32", "int64"});

  Builder in;
  in.input("pixels", {4}, onnx::TensorProto_DataType_UINT8);
  in.output("y");
  in.node("Relu", {"pixels"}, {"y"}, "r");
  expect_model_error(in.bytes(), {"pixels", "UINT8", "float32"});
}

TEST(ModelImport, GraphAttributeIsRejected) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  auto* n = b.node("Relu", {"x"}, {"y"}, "with_body");
  auto* a = n->add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name("subgraph");
  expect_model_error(b.bytes(), {"with_body", "body", "GRAPH"});
}

TEST(ModelImport, UnsupportedConstantAttribute) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  auto* c = b.node("Constant", {}, {"s"}, "const_string");
  auto* a = c->add_attribute();
  a->set_name("value_string");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("hello");
  b.node("Add", {"x", "s"}, {"y"}, "add");
  expect_model_error(b.bytes(), {"const_string", "value_string"});
}

TEST(ModelImport, NoGraphOrNoOpset) {
  onnx::ModelProto no_graph;
  no_graph.set_ir_version(7);
  no_graph.add_opset_import()->set_version(13);
  std::string bytes;
  ASSERT_TRUE(no_graph.SerializeToString(&bytes));
  expect_model_error(bytes, {"no graph"});

  Builder b;
  b.input("x", {4});
  b.output("y");
  b.node("Relu", {"x"}, {"y"}, "r");
  b.proto().mutable_opset_import(0)->set_domain("ai.onnx.ml");
  expect_model_error(b.bytes(), {"opset"});
}

TEST(ModelImport, NodeLimit) {
  Builder b;
  b.input("x", {4});
  b.output("y");
  b.node("Relu", {"x"}, {"a"});
  b.node("Relu", {"a"}, {"b"});
  b.node("Relu", {"b"}, {"y"});
  si::LoadLimits limits;
  limits.max_nodes = 2;
  expect_model_error(b.bytes(), {"3 nodes", "limit"}, "many_nodes.onnx", limits);
}

TEST(ModelImport, TensorProtoFromOnnxTestData) {
  const std::string path = "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/input_0.pb";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is not installed (Debian package libonnx-testdata)";
  si::Tensor t = si::load_tensor_proto(path);
  EXPECT_EQ(t.dtype(), si::DType::Float32);
  EXPECT_EQ(t.shape(), (si::Shape{3, 4, 5}));
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_TRUE(std::isfinite(t.f32()[i]));
  EXPECT_THROW(si::load_tensor_proto("/nonexistent/input_0.pb"), si::Error);
}

// Every model of the ONNX test data either loads (and optimizes) or gives a
// ModelError naming its file: real files from another exporter, many operators.
TEST(ModelImport, EveryOnnxTestDataModelLoadsOrFailsCleanly) {
  const fs::path root = "/usr/share/libonnx-testdata/data";
  if (!fs::exists(root)) GTEST_SKIP() << root << " is not installed (Debian package libonnx-testdata)";
  int loaded = 0, rejected = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".onnx") continue;
    const std::string path = entry.path().string();
    try {
      si::optimize_model(si::load_model(path));
      ++loaded;
    } catch (const si::ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_FALSE(e.reason().empty()) << path;
      ++rejected;
    }
  }
  EXPECT_GT(loaded + rejected, 500);
}

// ---- optimize_model ----

namespace {

const si::Node* find_node(const si::Model& m, const std::string& op) {
  for (const auto& n : m.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

}  // namespace

TEST(Optimize, BatchNormFoldedIntoConvAndReluFused) {
  si::Model m = si::load_model_from_bytes(conv_bn_relu().bytes(), "fold.onnx");
  si::Model opt = si::optimize_model(m);
  ASSERT_EQ(opt.nodes.size(), 1u);
  const si::Node& conv = opt.nodes[0];
  EXPECT_EQ(conv.op_type, "Conv");
  EXPECT_EQ(conv.outputs, (std::vector<std::string>{"y"}));
  ASSERT_EQ(conv.inputs.size(), 3u);
  EXPECT_EQ(si::fused_activation(conv).kind, si::ActivationKind::Relu);

  // Expected by hand: s = scale / sqrt(var + eps); W' = W * s; b' = (0 - mean) * s + shift.
  const float scale[4] = {1.0f, 2.0f, 0.5f, -1.0f}, shift[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  const float mean[4] = {0.0f, 1.0f, -1.0f, 0.5f}, var[4] = {1.0f, 4.0f, 0.25f, 2.0f};
  const si::Tensor& w = opt.initializers.at(conv.inputs[1]);
  const si::Tensor& bias = opt.initializers.at(conv.inputs[2]);
  ASSERT_EQ(w.shape(), (si::Shape{4, 3, 3, 3}));
  ASSERT_EQ(bias.shape(), (si::Shape{4}));
  for (int c = 0; c < 4; ++c) {
    const float s = scale[c] / std::sqrt(var[c] + 1e-3f);
    for (int j = 0; j < 27; ++j) {
      const float original = 0.01f * static_cast<float>(c * 27 + j) - 0.5f;
      EXPECT_NEAR(w.f32()[c * 27 + j], original * s, 1e-6f);
    }
    EXPECT_NEAR(bias.f32()[c], -mean[c] * s + shift[c], 1e-6f);
  }
  // The BN parameters and the old weights are no longer referenced.
  EXPECT_EQ(opt.initializers.size(), 2u);
  // The input model is untouched.
  EXPECT_EQ(m.nodes.size(), 3u);
  EXPECT_EQ(m.initializers.at("W").f32()[0], -0.5f);
}

TEST(Optimize, BatchNormFoldKeepsSharedWeightsAndBias) {
  Builder b;
  b.input("x", {1, 1, 2, 2});
  b.output("y1");
  b.output("y2");
  b.init("W", {2, 1, 1, 1}, {2.0f, 3.0f});
  b.init("B", {2}, {1.0f, -1.0f});
  b.init("scale", {2}, {0.5f, 4.0f});
  b.init("shift", {2}, {0.0f, 1.0f});
  b.init("mean", {2}, {1.0f, 2.0f});
  b.init("var", {2}, {3.0f, 15.0f});
  b.node("Conv", {"x", "W", "B"}, {"c1"}, "conv_bn");
  b.node("BatchNormalization", {"c1", "scale", "shift", "mean", "var"}, {"y1"}, "bn");
  b.node("Conv", {"x", "W", "B"}, {"y2"}, "conv_plain");
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "shared.onnx"));
  ASSERT_EQ(opt.nodes.size(), 2u);
  const si::Node* folded = nullptr;
  const si::Node* plain = nullptr;
  for (const auto& n : opt.nodes) (n.name == "conv_bn" ? folded : plain) = &n;
  ASSERT_TRUE(folded && plain);
  EXPECT_EQ(folded->outputs[0], "y1");
  EXPECT_EQ(plain->inputs, (std::vector<std::string>{"x", "W", "B"}));
  EXPECT_EQ(opt.initializers.at("W").to_f32_vector(), (std::vector<float>{2.0f, 3.0f}));
  EXPECT_EQ(opt.initializers.at("B").to_f32_vector(), (std::vector<float>{1.0f, -1.0f}));
  // eps = 1e-5 (default): s0 = 0.5/sqrt(3+eps), s1 = 4/sqrt(15+eps).
  const double eps = 1e-5, s0 = 0.5 / std::sqrt(3.0 + eps), s1 = 4.0 / std::sqrt(15.0 + eps);
  const auto w = opt.initializers.at(folded->inputs[1]).to_f32_vector();
  const auto bias = opt.initializers.at(folded->inputs[2]).to_f32_vector();
  EXPECT_NEAR(w[0], 2.0 * s0, 1e-6);
  EXPECT_NEAR(w[1], 3.0 * s1, 1e-6);
  EXPECT_NEAR(bias[0], (1.0 - 1.0) * s0 + 0.0, 1e-6);
  EXPECT_NEAR(bias[1], (-1.0 - 2.0) * s1 + 1.0, 1e-6);
}

TEST(Optimize, ActivationsFusedIntoGemmAndConv) {
  Builder b(13);
  b.input("x", {1, 4});
  b.input("img", {1, 1, 3, 3});
  b.output("g");
  b.output("c");
  b.output("h");
  b.init("Wg", {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  b.init("Wc", {1, 1, 1, 1}, {2.0f});
  b.init("lo", {}, {-1.0f});
  b.node("Gemm", {"x", "Wg"}, {"g0"}, "gemm");
  attr_int(b.graph().mutable_node(0), "transB", 1);
  attr_float(b.node("LeakyRelu", {"g0"}, {"g"}, "leaky"), "alpha", 0.1f);
  b.node("Conv", {"img", "Wc"}, {"c0"}, "conv");
  b.node("Clip", {"c0", "lo", ""}, {"c"}, "clip");
  b.node("Conv", {"img", "Wc"}, {"h0"}, "conv_hs");
  auto* hs = b.node("HardSigmoid", {"h0"}, {"h"}, "hsig");
  attr_float(hs, "alpha", 0.25f);
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "fuse.onnx"));
  ASSERT_EQ(opt.nodes.size(), 3u);
  const si::Node& gemm = opt.nodes[0];
  EXPECT_EQ(gemm.outputs[0], "g");
  EXPECT_EQ(gemm.attr_int("transB", 0), 1);
  si::Activation a = si::fused_activation(gemm);
  EXPECT_EQ(a.kind, si::ActivationKind::LeakyRelu);
  EXPECT_FLOAT_EQ(a.alpha, 0.1f);
  EXPECT_EQ(gemm.attr_string("sparseinfer_activation", ""), "LeakyRelu");
  const si::Node& conv = opt.nodes[1];
  EXPECT_EQ(conv.outputs[0], "c");
  a = si::fused_activation(conv);
  EXPECT_EQ(a.kind, si::ActivationKind::Clip);
  EXPECT_FLOAT_EQ(a.min, -1.0f);
  EXPECT_TRUE(std::isinf(a.max) && a.max > 0);
  a = si::fused_activation(opt.nodes[2]);
  EXPECT_EQ(a.kind, si::ActivationKind::HardSigmoid);
  EXPECT_FLOAT_EQ(a.alpha, 0.25f);
  EXPECT_FLOAT_EQ(a.beta, 0.5f);
  EXPECT_EQ(opt.initializers.count("lo"), 0u);  // only the Clip read it
}

TEST(Optimize, ClipAttributesBelowOpset11) {
  Builder b(9);
  b.input("img", {1, 1, 3, 3});
  b.output("c");
  b.init("Wc", {1, 1, 1, 1}, {2.0f});
  b.node("Conv", {"img", "Wc"}, {"c0"}, "conv");
  auto* clip = b.node("Clip", {"c0"}, {"c"}, "relu6");
  attr_float(clip, "min", 0.0f);
  attr_float(clip, "max", 6.0f);
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "clip6.onnx"));
  ASSERT_EQ(opt.nodes.size(), 1u);
  si::Activation a = si::fused_activation(opt.nodes[0]);
  EXPECT_EQ(a.kind, si::ActivationKind::Clip);
  EXPECT_FLOAT_EQ(a.min, 0.0f);
  EXPECT_FLOAT_EQ(a.max, 6.0f);
}

TEST(Optimize, NoFusionWhenTheConvOutputIsSharedOrAGraphOutput) {
  Builder b;
  b.input("img", {1, 1, 3, 3});
  b.output("c0");
  b.output("r");
  b.output("s");
  b.init("Wc", {1, 1, 1, 1}, {2.0f});
  b.node("Conv", {"img", "Wc"}, {"c0"}, "conv");
  b.node("Relu", {"c0"}, {"r"}, "relu");
  b.node("Sigmoid", {"c0"}, {"s"}, "sig");
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "shared_out.onnx"));
  ASSERT_EQ(opt.nodes.size(), 3u);
  EXPECT_EQ(si::fused_activation(opt.nodes[0]).kind, si::ActivationKind::None);
}

TEST(Optimize, IdentityAndDropoutRemovedKeepingOutputNames) {
  Builder b;
  b.input("x", {1, 4});
  b.output("out");
  b.output("x_copy");
  b.node("Relu", {"x"}, {"r"}, "relu");
  b.node("Identity", {"r"}, {"r_id"}, "id_middle");
  b.node("Dropout", {"r_id"}, {"d", ""}, "drop");
  b.node("Sigmoid", {"d"}, {"s"}, "sig");
  b.node("Identity", {"s"}, {"out"}, "id_out");
  b.node("Identity", {"x"}, {"x_copy"}, "id_input");  // a graph input cannot be renamed: kept
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "identity.onnx"));
  ASSERT_EQ(opt.nodes.size(), 3u);
  EXPECT_EQ(opt.nodes[0].op_type, "Relu");
  EXPECT_EQ(opt.nodes[1].op_type, "Sigmoid");
  EXPECT_EQ(opt.nodes[1].inputs, (std::vector<std::string>{"r"}));
  EXPECT_EQ(opt.nodes[1].outputs, (std::vector<std::string>{"out"}));
  EXPECT_EQ(opt.nodes[2].name, "id_input");
  ASSERT_EQ(opt.outputs.size(), 2u);
  EXPECT_EQ(opt.outputs[0].name, "out");
  EXPECT_EQ(opt.outputs[1].name, "x_copy");
  EXPECT_EQ(opt.producer_of("out"), 1);
}

TEST(Optimize, DropoutWithUsedMaskIsKept) {
  Builder b(12);
  b.input("x", {1, 4});
  b.output("d");
  b.output("mask");
  b.node("Dropout", {"x"}, {"d", "mask"}, "drop");
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "mask.onnx"));
  ASSERT_EQ(opt.nodes.size(), 1u);
  EXPECT_EQ(opt.nodes[0].op_type, "Dropout");
}

TEST(Optimize, HardSwishPatternRecognizedAndFused) {
  Builder b(13);
  b.input("img", {1, 1, 3, 3});
  b.input("x", {1, 4});
  b.output("y");
  b.output("z");
  b.init("Wc", {1, 1, 1, 1}, {2.0f});
  b.node("Conv", {"img", "Wc"}, {"c"}, "conv");
  auto* hs = b.node("HardSigmoid", {"c"}, {"gate"}, "hsig");
  attr_float(hs, "alpha", 1.0f / 6.0f);
  attr_float(hs, "beta", 0.5f);
  b.node("Mul", {"c", "gate"}, {"y"}, "mul");
  // Standalone pattern with the operands the other way round.
  auto* hs2 = b.node("HardSigmoid", {"x"}, {"gate2"}, "hsig2");
  attr_float(hs2, "alpha", 1.0f / 6.0f);
  b.node("Mul", {"gate2", "x"}, {"z"}, "mul2");
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "hardswish.onnx"));
  ASSERT_EQ(opt.nodes.size(), 2u);
  EXPECT_EQ(opt.nodes[0].op_type, "Conv");
  EXPECT_EQ(opt.nodes[0].outputs[0], "y");
  EXPECT_EQ(si::fused_activation(opt.nodes[0]).kind, si::ActivationKind::HardSwish);
  EXPECT_EQ(opt.nodes[1].op_type, "HardSwish");
  EXPECT_EQ(opt.nodes[1].inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(opt.nodes[1].outputs, (std::vector<std::string>{"z"}));
  EXPECT_EQ(find_node(opt, "HardSigmoid"), nullptr);
}

TEST(Optimize, HardSigmoidWithOtherParametersIsNotHardSwish) {
  Builder b(13);
  b.input("x", {1, 4});
  b.output("z");
  b.node("HardSigmoid", {"x"}, {"gate"}, "hsig");  // default alpha 0.2
  b.node("Mul", {"x", "gate"}, {"z"}, "mul");
  si::Model opt = si::optimize_model(si::load_model_from_bytes(b.bytes(), "not_hardswish.onnx"));
  ASSERT_EQ(opt.nodes.size(), 2u);
  EXPECT_NE(find_node(opt, "Mul"), nullptr);
}

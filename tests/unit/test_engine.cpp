// The dense engine's plumbing on hand-built graphs: execution order, constant
// folding of shape chains, buffer reuse, independent streams, input checks.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

using namespace sparseinfer;

namespace {

Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
               const std::string& name = "") {
  Node n;
  n.op_type = op;
  n.name = name.empty() ? op + "_" + out[0] : name;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

Model base_model(Shape input_dims) {
  Model m;
  m.path = "handmade.onnx";
  m.opset = 13;
  m.inputs.push_back({"x", DType::Float32, std::move(input_dims)});
  return m;
}

Tensor ramp(Shape shape, float start, float step) {
  Tensor t(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = start + step * static_cast<float>(i);
  return t;
}

}  // namespace

TEST(Engine, RunsNodesInOrderWithConstants) {
  // y = relu(x + b) * 2, b broadcast per channel.
  Model m = base_model({1, 2, 2, 2});
  m.initializers["b"] = Tensor::from_f32({1, 2, 1, 1}, {-3.0f, 1.0f});
  m.initializers["two"] = Tensor::scalar_f32(2.0f);
  m.nodes.push_back(make_node("Add", {"x", "b"}, {"s"}));
  m.nodes.push_back(make_node("Relu", {"s"}, {"r"}));
  m.nodes.push_back(make_node("Mul", {"r", "two"}, {"y"}));
  m.outputs.push_back({"y", DType::Float32, {1, 2, 2, 2}});

  Engine engine(m, {});
  auto state = engine.new_stream();
  Tensor x = ramp({1, 2, 2, 2}, 0.0f, 1.0f);  // 0..7
  FrameResult r = engine.run(*state, {&x});
  ASSERT_EQ(r.outputs.size(), 1u);
  const float* y = r.outputs[0]->f32();
  for (int i = 0; i < 8; ++i) {
    float b = i < 4 ? -3.0f : 1.0f;
    EXPECT_FLOAT_EQ(y[i], std::max(0.0f, static_cast<float>(i) + b) * 2.0f) << i;
  }
  EXPECT_EQ(engine.layers().size(), 3u);
  EXPECT_EQ(state->frame_index(), 1);
}

TEST(Engine, FoldsShapeChainsOnceShapesAreKnown) {
  // The PyTorch export of x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
  Model m = base_model({-1, 3, -1, -1});
  m.initializers["idx0"] = Tensor::from_i64({}, {0});
  m.initializers["minus1"] = Tensor::from_i64({1}, {-1});
  m.initializers["axes0"] = Tensor::from_i64({1}, {0});
  m.nodes.push_back(make_node("Shape", {"x"}, {"shape"}));
  m.nodes.push_back(make_node("Gather", {"shape", "idx0"}, {"n"}));
  m.nodes.push_back(make_node("Unsqueeze", {"n", "axes0"}, {"n1"}));
  Node concat = make_node("Concat", {"n1", "minus1"}, {"target"});
  concat.attributes["axis"] = Attribute::of_int(0);
  m.nodes.push_back(concat);
  m.nodes.push_back(make_node("Reshape", {"x", "target"}, {"y"}));
  m.outputs.push_back({"y", DType::Float32, {-1, -1}});

  EngineOptions opt;
  opt.input_shapes = {{2, 3, 4, 5}};
  Engine engine(m, opt);
  ASSERT_EQ(engine.layers().size(), 1u) << "only the Reshape should remain";
  EXPECT_EQ(engine.layers()[0].op_type, "Reshape");
  EXPECT_EQ(engine.outputs()[0].shape, (Shape{2, 60}));

  auto state = engine.new_stream();
  Tensor x = ramp({2, 3, 4, 5}, 1.0f, 0.5f);
  FrameResult r = engine.run(*state, {&x});
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(r.outputs[0]->f32()[i], x.f32()[i]);
}

TEST(Engine, ReusesBuffersAcrossLayersAndFrames) {
  // A chain of 8 layers: the planner must keep far fewer than 8 buffers alive.
  Model m = base_model({1, 4, 16, 16});
  m.initializers["one"] = Tensor::scalar_f32(1.0f);
  std::string prev = "x";
  for (int i = 0; i < 8; ++i) {
    std::string out = i == 7 ? "y" : "t" + std::to_string(i);
    m.nodes.push_back(make_node(i % 2 ? "Relu" : "Add", i % 2 ? std::vector<std::string>{prev}
                                                              : std::vector<std::string>{prev, "one"},
                                {out}));
    prev = out;
  }
  m.outputs.push_back({"y", DType::Float32, {1, 4, 16, 16}});
  Engine engine(m, {});
  auto state = engine.new_stream();
  const size_t one_buffer = 4 * 16 * 16 * sizeof(float);
  EXPECT_LE(state->state_bytes(), 3 * one_buffer + 1024) << "buffers are not shared across layers";

  Tensor x = ramp({1, 4, 16, 16}, -2.0f, 0.01f);
  FrameResult a = engine.run(*state, {&x});
  const float* first_out = a.outputs[0]->f32();
  std::vector<float> first(first_out, first_out + a.outputs[0]->numel());
  FrameResult b = engine.run(*state, {&x});
  EXPECT_EQ(b.outputs[0]->f32(), first_out) << "output buffer moved between frames";
  for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(b.outputs[0]->f32()[i], first[i]);
  // x + 4 after four Add(+1)/Relu pairs, relu applied after each add.
  float expect = x.f32()[0];
  for (int i = 0; i < 4; ++i) expect = std::max(0.0f, expect + 1.0f);
  EXPECT_FLOAT_EQ(first[0], expect);
}

TEST(Engine, StreamsAreIndependent) {
  Model m = base_model({1, 1, 2, 2});
  m.nodes.push_back(make_node("Relu", {"x"}, {"y"}));
  m.outputs.push_back({"y", DType::Float32, {1, 1, 2, 2}});
  Engine engine(m, {});
  auto s1 = engine.new_stream();
  auto s2 = engine.new_stream();
  Tensor a = Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::from_f32({1, 1, 2, 2}, {5, 6, 7, 8});
  FrameResult ra = engine.run(*s1, {&a});
  engine.run(*s2, {&b});
  EXPECT_EQ(ra.outputs[0]->f32()[0], 1.0f) << "stream 2 overwrote stream 1";
}

TEST(Engine, MaxPoolWithoutIndicesOutput) {
  Model m = base_model({1, 1, 4, 4});
  Node pool = make_node("MaxPool", {"x"}, {"y"});
  pool.attributes["kernel_shape"] = Attribute::of_ints({2, 2});
  pool.attributes["strides"] = Attribute::of_ints({2, 2});
  m.nodes.push_back(pool);
  m.outputs.push_back({"y", DType::Float32, {1, 1, 2, 2}});
  Engine engine(m, {});
  auto state = engine.new_stream();
  Tensor x = ramp({1, 1, 4, 4}, 0.0f, 1.0f);
  FrameResult r = engine.run(*state, {&x});
  EXPECT_EQ(r.outputs[0]->to_f32_vector(), (std::vector<float>{5, 7, 13, 15}));
}

TEST(Engine, RejectsWrongInputs) {
  Model m = base_model({1, 3, 8, 8});
  m.nodes.push_back(make_node("Relu", {"x"}, {"y"}));
  m.outputs.push_back({"y", DType::Float32, {1, 3, 8, 8}});
  Engine engine(m, {});
  auto state = engine.new_stream();
  Tensor wrong(DType::Float32, {1, 3, 8, 9});
  try {
    engine.run(*state, {&wrong});
    FAIL() << "wrong input shape accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1,3,8,8]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(engine.run(*state, {}), Error);

  EngineOptions bad;
  bad.input_shapes = {{1, 3, 8, 10}};
  EXPECT_THROW(Engine(m, bad), ModelError) << "fixed input dims must not be overridden";
}

TEST(Engine, SymbolicInputNeedsASize) {
  Model m = base_model({1, 3, -1, -1});
  m.nodes.push_back(make_node("Relu", {"x"}, {"y"}));
  m.outputs.push_back({"y", DType::Float32, {1, 3, -1, -1}});
  try {
    Engine engine(m, {});
    FAIL() << "symbolic input accepted without a size";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic"), std::string::npos) << e.what();
  }
}

TEST(Engine, UnsupportedOperatorNamesTheNode) {
  Model m = base_model({1, 3, 4, 4});
  m.nodes.push_back(make_node("NonMaxSuppression", {"x"}, {"y"}, "nms_7"));
  m.outputs.push_back({"y", DType::Float32, {}});
  try {
    Engine engine(m, {});
    FAIL() << "unsupported operator accepted";
  } catch (const ModelError& e) {
    EXPECT_EQ(e.node(), "nms_7");
    EXPECT_EQ(e.file(), "handmade.onnx");
    EXPECT_NE(e.reason().find("unsupported operator"), std::string::npos) << e.what();
  }
}

TEST(Engine, CudaBackendIsReportedAbsent) {
  Model m = base_model({1, 1, 1, 1});
  m.nodes.push_back(make_node("Relu", {"x"}, {"y"}));
  m.outputs.push_back({"y", DType::Float32, {1, 1, 1, 1}});
  EngineOptions opt;
  opt.backend = Backend::Cuda;
  EXPECT_THROW(Engine(m, opt), Error);
}

TEST(Engine, ConstantInputsFoldIntoTheGraph) {
  // Reshape whose target shape is a graph input, bound at compile time.
  Model m = base_model({2, 6});
  m.inputs.push_back({"shape", DType::Int64, {2}});
  m.nodes.push_back(make_node("Reshape", {"x", "shape"}, {"y"}));
  m.outputs.push_back({"y", DType::Float32, {-1, -1}});
  EngineOptions opt;
  opt.constant_inputs["shape"] = Tensor::from_i64({2}, {3, 4});
  Engine engine(m, opt);
  ASSERT_EQ(engine.inputs().size(), 1u) << "a bound input is no longer a run() input";
  EXPECT_EQ(engine.outputs()[0].shape, (Shape{3, 4}));
  auto state = engine.new_stream();
  Tensor x = ramp({2, 6}, 0.0f, 1.0f);
  FrameResult r = engine.run(*state, {&x});
  EXPECT_EQ(r.outputs[0]->f32()[11], 11.0f);

  opt.constant_inputs["shape"] = Tensor::from_i64({3}, {1, 3, 4});
  EXPECT_THROW(Engine(m, opt), ModelError) << "a constant of the wrong shape must be refused";
}

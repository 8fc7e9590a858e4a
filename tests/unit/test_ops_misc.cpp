// Non-convolution operators, against values computed by hand from the ONNX spec.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ops/op.h"

using namespace sparseinfer;

namespace {

Node make_node(const std::string& op_type, size_t num_inputs = 1, size_t num_outputs = 1) {
  Node node;
  node.name = "n";
  node.op_type = op_type;
  for (size_t i = 0; i < num_inputs; ++i) node.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  return node;
}

void set_int(Node& n, const std::string& key, int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::Int;
  a.i = v;
  n.attributes[key] = a;
}
void set_float(Node& n, const std::string& key, float v) {
  Attribute a;
  a.kind = Attribute::Kind::Float;
  a.f = v;
  n.attributes[key] = a;
}
void set_string(Node& n, const std::string& key, const std::string& v) {
  Attribute a;
  a.kind = Attribute::Kind::String;
  a.s = v;
  n.attributes[key] = a;
}
void set_ints(Node& n, const std::string& key, std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::Ints;
  a.ints = std::move(v);
  n.attributes[key] = a;
}
void set_floats(Node& n, const std::string& key, std::vector<float> v) {
  Attribute a;
  a.kind = Attribute::Kind::Floats;
  a.floats = std::move(v);
  n.attributes[key] = a;
}

// Creates the op, infers with the given inputs (nullptr = omitted), allocates
// the outputs from the descriptors and runs forward once.
std::vector<Tensor> run(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs, int threads = 1) {
  auto op = create_op(OpInfo{&node, opset, "test.onnx"});
  std::vector<Tensor> descriptors = op->infer(inputs);
  std::vector<Tensor> outputs(descriptors.size());
  std::vector<Tensor*> out_ptrs;
  for (size_t i = 0; i < descriptors.size(); ++i) {
    EXPECT_FALSE(descriptors[i].has_data());
    outputs[i].allocate(descriptors[i].dtype(), descriptors[i].shape());
    out_ptrs.push_back(&outputs[i]);
  }
  Scratch scratch;
  ExecContext ctx;
  ctx.threads = threads;
  ctx.scratch = &scratch;
  op->forward(inputs, out_ptrs, ctx);
  return outputs;
}

Tensor run1(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs, int threads = 1) {
  return run(node, opset, inputs, threads).at(0);
}

void expect_f32(const Tensor& t, const Shape& shape, const std::vector<float>& values, float tol = 1e-5f) {
  ASSERT_EQ(t.dtype(), DType::Float32);
  ASSERT_EQ(shape_str(t.shape()), shape_str(shape));
  std::vector<float> got = t.to_f32_vector();
  ASSERT_EQ(got.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(got[i], values[i], tol) << "at " << i;
}

void expect_i64(const Tensor& t, const Shape& shape, const std::vector<int64_t>& values) {
  ASSERT_EQ(t.dtype(), DType::Int64);
  ASSERT_EQ(shape_str(t.shape()), shape_str(shape));
  EXPECT_EQ(t.to_i64_vector(), values);
}

void expect_fails(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs, const std::string& text) {
  try {
    run(node, opset, inputs);
    FAIL() << "expected a ModelError containing '" << text << "'";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), "test.onnx");
  }
}

}  // namespace

// ---------------------------------------------------------------- activations

TEST(Activation, ReluLeakyReluSigmoidTanh) {
  Tensor x = Tensor::from_f32({4}, {-2.0f, -0.5f, 0.0f, 3.0f});
  expect_f32(run1(make_node("Relu"), 14, {&x}), {4}, {0, 0, 0, 3});
  expect_f32(run1(make_node("LeakyRelu"), 16, {&x}), {4}, {-0.02f, -0.005f, 0, 3});
  Node leaky = make_node("LeakyRelu");
  set_float(leaky, "alpha", 0.5f);
  expect_f32(run1(leaky, 16, {&x}), {4}, {-1.0f, -0.25f, 0, 3});
  expect_f32(run1(make_node("Sigmoid"), 13, {&x}), {4},
             {1 / (1 + std::exp(2.0f)), 1 / (1 + std::exp(0.5f)), 0.5f, 1 / (1 + std::exp(-3.0f))});
  expect_f32(run1(make_node("Tanh"), 13, {&x}), {4}, {std::tanh(-2.0f), std::tanh(-0.5f), 0, std::tanh(3.0f)});
}

TEST(Activation, HardSigmoidAndHardSwish) {
  Tensor x = Tensor::from_f32({5}, {-4.0f, -1.0f, 0.0f, 1.0f, 4.0f});
  // Defaults alpha 0.2, beta 0.5.
  expect_f32(run1(make_node("HardSigmoid"), 6, {&x}), {5}, {0.0f, 0.3f, 0.5f, 0.7f, 1.0f});
  Node hs = make_node("HardSigmoid");
  set_float(hs, "alpha", 0.5f);
  set_float(hs, "beta", 0.6f);
  expect_f32(run1(hs, 6, {&x}), {5}, {0.0f, 0.1f, 0.6f, 1.0f, 1.0f});
  // x * clamp(x/6 + 0.5, 0, 1)
  expect_f32(run1(make_node("HardSwish"), 14, {&x}), {5}, {0.0f, -1.0f / 3.0f, 0.0f, 2.0f / 3.0f, 4.0f});
}

TEST(Activation, ClipAttributesBeforeOpset11) {
  Tensor x = Tensor::from_f32({4}, {-3.0f, -0.5f, 0.5f, 8.0f});
  Node clip = make_node("Clip");
  set_float(clip, "min", -1.0f);
  set_float(clip, "max", 6.0f);
  expect_f32(run1(clip, 6, {&x}), {4}, {-1.0f, -0.5f, 0.5f, 6.0f});
  // Absent bounds leave values alone.
  expect_f32(run1(make_node("Clip"), 6, {&x}), {4}, {-3.0f, -0.5f, 0.5f, 8.0f});
}

TEST(Activation, ClipOptionalInputsFromOpset11) {
  Tensor x = Tensor::from_f32({4}, {-3.0f, -0.5f, 0.5f, 8.0f});
  Tensor lo = Tensor::scalar_f32(0.0f), hi = Tensor::scalar_f32(6.0f);
  expect_f32(run1(make_node("Clip", 3), 13, {&x, &lo, &hi}), {4}, {0.0f, 0.0f, 0.5f, 6.0f});
  expect_f32(run1(make_node("Clip", 3), 13, {&x, nullptr, &hi}), {4}, {-3.0f, -0.5f, 0.5f, 6.0f});
  expect_f32(run1(make_node("Clip", 2), 13, {&x, &lo}), {4}, {0.0f, 0.0f, 0.5f, 8.0f});
  // Attributes are ignored from opset 11 on.
  Node clip = make_node("Clip");
  set_float(clip, "max", 1.0f);
  expect_f32(run1(clip, 11, {&x}), {4}, {-3.0f, -0.5f, 0.5f, 8.0f});
}

TEST(Activation, ClipBoundKnownOnlyAtRunTime) {
  Node node = make_node("Clip", 3);
  auto op = create_op(OpInfo{&node, 13, "test.onnx"});
  Tensor x = Tensor::from_f32({3}, {-5.0f, 1.0f, 5.0f});
  Tensor hi_desc = Tensor::descriptor(DType::Float32, {});
  op->infer({&x, nullptr, &hi_desc});
  Tensor hi = Tensor::scalar_f32(2.0f);
  Tensor y(DType::Float32, {3});
  Scratch scratch;
  ExecContext ctx{1, &scratch};
  op->forward({&x, nullptr, &hi}, {&y}, ctx);
  expect_f32(y, {3}, {-5.0f, 1.0f, 2.0f});
}

TEST(Activation, PReluSlopeBroadcastsPerChannel) {
  Tensor x = Tensor::from_f32({1, 2, 1, 2}, {-1.0f, 2.0f, -3.0f, 4.0f});
  Tensor slope = Tensor::from_f32({2, 1, 1}, {0.5f, 0.25f});
  expect_f32(run1(make_node("PRelu", 2), 16, {&x, &slope}), {1, 2, 1, 2}, {-0.5f, 2.0f, -0.75f, 4.0f});
  Tensor bad = Tensor::from_f32({3}, {1, 2, 3});
  expect_fails(make_node("PRelu", 2), 16, {&x, &bad}, "broadcast");
  // Unidirectional: slope may not grow the output.
  Tensor big = Tensor::from_f32({2, 1, 2, 1, 2}, std::vector<float>(8, 1.0f));
  expect_fails(make_node("PRelu", 2), 16, {&x, &big}, "does not broadcast");
}

// -------------------------------------------------------------------- binary

TEST(Binary, BroadcastsBothWays) {
  Tensor a = Tensor::from_f32({2, 1}, {1, 2});
  Tensor b = Tensor::from_f32({3}, {10, 20, 30});
  expect_f32(run1(make_node("Add", 2), 14, {&a, &b}), {2, 3}, {11, 21, 31, 12, 22, 32});
  expect_f32(run1(make_node("Sub", 2), 14, {&a, &b}), {2, 3}, {-9, -19, -29, -8, -18, -28});
  expect_f32(run1(make_node("Sub", 2), 14, {&b, &a}), {2, 3}, {9, 19, 29, 8, 18, 28});
  expect_f32(run1(make_node("Div", 2), 14, {&b, &a}), {2, 3}, {10, 20, 30, 5, 10, 15});
  Tensor s = Tensor::scalar_f32(2.0f);
  expect_f32(run1(make_node("Mul", 2), 14, {&s, &b}), {3}, {20, 40, 60});
}

TEST(Binary, PerChannelAndMiddleAxisBroadcast) {
  std::vector<float> xv(12);
  for (int i = 0; i < 12; ++i) xv[static_cast<size_t>(i)] = static_cast<float>(i);
  Tensor x = Tensor::from_f32({1, 3, 2, 2}, xv);
  Tensor c = Tensor::from_f32({1, 3, 1, 1}, {1, 10, 100});
  expect_f32(run1(make_node("Mul", 2), 14, {&x, &c}), {1, 3, 2, 2}, {0, 1, 2, 3, 40, 50, 60, 70, 800, 900, 1000, 1100});
  // [3,1,2] + [1,2,1] -> [3,2,2]: both operands broadcast on different axes.
  Tensor p = Tensor::from_f32({3, 1, 2}, {0, 1, 2, 3, 4, 5});
  Tensor q = Tensor::from_f32({1, 2, 1}, {10, 20});
  expect_f32(run1(make_node("Add", 2), 14, {&p, &q}), {3, 2, 2}, {10, 11, 20, 21, 12, 13, 22, 23, 14, 15, 24, 25});
}

TEST(Binary, LargeTensorsMatchAcrossThreadCounts) {
  const int64_t c = 8, hw = 64 * 128;
  std::vector<float> xv(static_cast<size_t>(c * hw)), sv(static_cast<size_t>(c));
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(i % 97) * 0.25f;
  for (size_t i = 0; i < sv.size(); ++i) sv[i] = static_cast<float>(i) + 1.0f;
  Tensor x = Tensor::from_f32({1, c, 64, 128}, xv);
  Tensor s = Tensor::from_f32({c, 1, 1}, sv);
  Tensor one = run1(make_node("Mul", 2), 14, {&x, &s}, 1);
  Tensor two = run1(make_node("Mul", 2), 14, {&x, &s}, 2);
  Tensor same = run1(make_node("Add", 2), 14, {&x, &x}, 2);
  for (int64_t i = 0; i < x.numel(); i += 1013) {
    EXPECT_EQ(one.f32()[i], xv[static_cast<size_t>(i)] * sv[static_cast<size_t>(i / hw)]);
    EXPECT_EQ(two.f32()[i], one.f32()[i]);
    EXPECT_EQ(same.f32()[i], 2.0f * xv[static_cast<size_t>(i)]);
  }
}

TEST(Binary, Int64ShapeArithmetic) {
  Tensor a = Tensor::from_i64({4}, {7, -7, 6, 1});
  Tensor b = Tensor::from_i64({}, {2});
  expect_i64(run1(make_node("Add", 2), 14, {&a, &b}), {4}, {9, -5, 8, 3});
  expect_i64(run1(make_node("Mul", 2), 14, {&a, &b}), {4}, {14, -14, 12, 2});
  // Integer division truncates toward zero.
  expect_i64(run1(make_node("Div", 2), 14, {&a, &b}), {4}, {3, -3, 3, 0});
  Tensor zero = Tensor::from_i64({1}, {0});
  expect_fails(make_node("Div", 2), 14, {&a, &zero}, "division by zero");
}

TEST(Binary, RejectsMismatchedShapesAndTypes) {
  Tensor a = Tensor::from_f32({2, 3}, std::vector<float>(6, 1.0f));
  Tensor b = Tensor::from_f32({2}, {1, 2});
  expect_fails(make_node("Add", 2), 14, {&a, &b}, "cannot be broadcast");
  Tensor i = Tensor::from_i64({3}, {1, 2, 3});
  expect_fails(make_node("Add", 2), 14, {&a, &i}, "types differ");
}

// ---------------------------------------------------------------- batch norm

TEST(BatchNorm, InferenceFormula) {
  Tensor x = Tensor::from_f32({1, 2, 1, 2}, {1, 2, 3, 4});
  Tensor scale = Tensor::from_f32({2}, {2, 1});
  Tensor bias = Tensor::from_f32({2}, {1, 0});
  Tensor mean = Tensor::from_f32({2}, {1, 3});
  Tensor var = Tensor::from_f32({2}, {4, 0.25f});
  Node bn = make_node("BatchNormalization", 5);
  set_float(bn, "epsilon", 0.0f);
  // c0: 2*(x-1)/2+1 ; c1: (x-3)/0.5
  expect_f32(run1(bn, 15, {&x, &scale, &bias, &mean, &var}), {1, 2, 1, 2}, {1, 2, 0, 2});
  // Default epsilon 1e-5.
  Tensor y = run1(make_node("BatchNormalization", 5), 9, {&x, &scale, &bias, &mean, &var});
  EXPECT_NEAR(y.f32()[1], 2.0f * 1.0f / std::sqrt(4.0f + 1e-5f) + 1.0f, 1e-6f);
}

TEST(BatchNorm, TrainingIsRejected) {
  Node bn = make_node("BatchNormalization", 5);
  set_int(bn, "training_mode", 1);
  Tensor x = Tensor::from_f32({1, 1, 1, 1}, {1});
  Tensor p = Tensor::from_f32({1}, {1});
  expect_fails(bn, 15, {&x, &p, &p, &p, &p}, "training_mode");
  Node stats = make_node("BatchNormalization", 5, 3);
  expect_fails(stats, 15, {&x, &p, &p, &p, &p}, "inference only");
}

// ------------------------------------------------------------------- softmax

TEST(Softmax, Opset13NormalizesAlongOneAxis) {
  Tensor x = Tensor::from_f32({2, 2, 2}, {0, 0, 0, std::log(3.0f), 1, 1, 1, 1});
  // Default axis -1.
  expect_f32(run1(make_node("Softmax"), 13, {&x}), {2, 2, 2}, {0.5f, 0.5f, 0.25f, 0.75f, 0.5f, 0.5f, 0.5f, 0.5f});
  Node axis1 = make_node("Softmax");
  set_int(axis1, "axis", 1);
  expect_f32(run1(axis1, 13, {&x}), {2, 2, 2}, {0.5f, 0.25f, 0.5f, 0.75f, 0.5f, 0.5f, 0.5f, 0.5f});
}

TEST(Softmax, BeforeOpset13CoercesTo2D) {
  Tensor x = Tensor::from_f32({2, 2, 2}, {0, 0, 0, std::log(5.0f), 1, 1, 1, 1});
  // Default axis 1: each batch row of 4 values sums to one.
  expect_f32(run1(make_node("Softmax"), 11, {&x}), {2, 2, 2},
             {0.125f, 0.125f, 0.125f, 0.625f, 0.25f, 0.25f, 0.25f, 0.25f});
}

TEST(Softmax, LargeValuesStayFinite) {
  Tensor x = Tensor::from_f32({1, 2}, {10000.0f, 10000.0f + std::log(3.0f)});
  expect_f32(run1(make_node("Softmax"), 13, {&x}), {1, 2}, {0.25f, 0.75f}, 1e-3f);
}

// -------------------------------------------------------------------- resize

TEST(Resize, LinearHalfPixelUpsample) {
  Tensor x = Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = Tensor::from_f32({4}, {1, 1, 2, 2});
  Node node = make_node("Resize", 3);
  set_string(node, "mode", "linear");
  expect_f32(run1(node, 13, {&x, nullptr, &scales}), {1, 1, 4, 4},
             {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
}

TEST(Resize, LinearAlignCornersWithSizes) {
  Tensor x = Tensor::from_f32({1, 1, 1, 2}, {1, 3});
  Tensor sizes = Tensor::from_i64({4}, {1, 1, 1, 3});
  Node node = make_node("Resize", 4);
  set_string(node, "mode", "linear");
  set_string(node, "coordinate_transformation_mode", "align_corners");
  Tensor empty = Tensor::from_f32({0}, {});
  expect_f32(run1(node, 11, {&x, &empty, &empty, &sizes}), {1, 1, 1, 3}, {1, 2, 3});
}

TEST(Resize, NearestModesAsymmetric) {
  Tensor x = Tensor::from_f32({1, 1, 1, 2}, {5, 7});
  Tensor scales = Tensor::from_f32({4}, {1, 1, 1, 3});
  Node node = make_node("Resize", 3);
  set_string(node, "coordinate_transformation_mode", "asymmetric");
  // x_original = o / 3 = 0, 1/3, 2/3, 1, 4/3, 5/3.
  expect_f32(run1(node, 13, {&x, nullptr, &scales}), {1, 1, 1, 6}, {5, 5, 7, 7, 7, 7});
  set_string(node, "nearest_mode", "floor");
  expect_f32(run1(node, 13, {&x, nullptr, &scales}), {1, 1, 1, 6}, {5, 5, 5, 7, 7, 7});
  set_string(node, "nearest_mode", "ceil");
  expect_f32(run1(node, 13, {&x, nullptr, &scales}), {1, 1, 1, 6}, {5, 7, 7, 7, 7, 7});
}

TEST(Resize, NearestHalfPixelDownsample) {
  Tensor x = Tensor::from_f32({1, 1, 1, 4}, {1, 2, 3, 4});
  Tensor scales = Tensor::from_f32({4}, {1, 1, 1, 0.5f});
  // x_original = (o + 0.5) * 2 - 0.5 = 0.5, 2.5 -> round_prefer_floor: 0, 2.
  expect_f32(run1(make_node("Resize", 3), 13, {&x, nullptr, &scales}), {1, 1, 1, 2}, {1, 3});
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  Tensor x = Tensor::from_f32({1, 1, 1, 3}, {10, 20, 30});
  Tensor roi = Tensor::from_f32({8}, {0, 0, 0, 0.5f, 1, 1, 1, 1.5f});
  Tensor sizes = Tensor::from_i64({4}, {1, 1, 1, 3});
  Node node = make_node("Resize", 4);
  set_string(node, "mode", "linear");
  set_string(node, "coordinate_transformation_mode", "tf_crop_and_resize");
  set_float(node, "extrapolation_value", 99.0f);
  // x_original = 1 + o: 1, 2, 3 (outside).
  expect_f32(run1(node, 13, {&x, &roi, nullptr, &sizes}), {1, 1, 1, 3}, {20, 30, 99});
}

TEST(Resize, CubicKeepsConstantsAndHitsSamples) {
  Tensor x = Tensor::from_f32({1, 1, 1, 4}, {3, 3, 3, 3});
  Tensor scales = Tensor::from_f32({4}, {1, 1, 1, 2});
  Node node = make_node("Resize", 3);
  set_string(node, "mode", "cubic");
  expect_f32(run1(node, 13, {&x, nullptr, &scales}), {1, 1, 1, 8}, std::vector<float>(8, 3.0f));
  // align_corners on 4 -> 7 samples every half pixel: even outputs are the inputs.
  Tensor ramp = Tensor::from_f32({1, 1, 1, 4}, {0, 1, 4, 9});
  Tensor sizes = Tensor::from_i64({4}, {1, 1, 1, 7});
  set_string(node, "coordinate_transformation_mode", "align_corners");
  Tensor y = run1(node, 13, {&ramp, nullptr, nullptr, &sizes});
  EXPECT_FLOAT_EQ(y.f32()[0], 0);
  EXPECT_FLOAT_EQ(y.f32()[2], 1);
  EXPECT_FLOAT_EQ(y.f32()[4], 4);
  EXPECT_FLOAT_EQ(y.f32()[6], 9);
  // Midpoint 1.5 with a=-0.75: weights -0.09375, 0.59375, 0.59375, -0.09375 on 0,1,4,9.
  EXPECT_NEAR(y.f32()[3], -0.09375f * 0 + 0.59375f * 1 + 0.59375f * 4 - 0.09375f * 9, 1e-5f);
}

TEST(Resize, UpsampleOpset9AndOpset7) {
  Tensor x = Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = Tensor::from_f32({4}, {1, 1, 2, 2});
  std::vector<float> want = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
  expect_f32(run1(make_node("Upsample", 2), 9, {&x, &scales}), {1, 1, 4, 4}, want);
  Node old = make_node("Upsample");
  set_floats(old, "scales", {1, 1, 2, 2});
  expect_f32(run1(old, 7, {&x}), {1, 1, 4, 4}, want);
}

TEST(Resize, RejectsNonConstantScales) {
  Tensor x = Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = Tensor::descriptor(DType::Float32, {4});
  expect_fails(make_node("Resize", 3), 13, {&x, nullptr, &scales}, "'scales' must be a constant");
}

// ---------------------------------------------------------------- shape ops

TEST(ShapeOps, ShapeWithStartAndEnd) {
  Tensor x = Tensor::descriptor(DType::Float32, {2, 3, 4});
  expect_i64(run1(make_node("Shape"), 13, {&x}), {3}, {2, 3, 4});
  Node sliced = make_node("Shape");
  set_int(sliced, "start", 1);
  set_int(sliced, "end", -1);
  expect_i64(run1(sliced, 15, {&x}), {1}, {3});
  Node clipped = make_node("Shape");
  set_int(clipped, "start", -10);
  set_int(clipped, "end", 10);
  expect_i64(run1(clipped, 15, {&x}), {3}, {2, 3, 4});
  EXPECT_TRUE(create_op(OpInfo{&sliced, 15, "test.onnx"})->shape_only());
}

TEST(ShapeOps, GatherAxesAndNegativeIndices) {
  Tensor data = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor idx = Tensor::from_i64({2}, {-1, 0});
  expect_f32(run1(make_node("Gather", 2), 13, {&data, &idx}), {2, 3}, {4, 5, 6, 1, 2, 3});
  Node axis1 = make_node("Gather", 2);
  set_int(axis1, "axis", -1);
  Tensor idx2 = Tensor::from_i64({1, 2}, {2, -3});
  expect_f32(run1(axis1, 13, {&data, &idx2}), {2, 1, 2}, {3, 1, 6, 4});
  // Scalar index on int64 data (the usual shape[i] pattern) drops the axis.
  Tensor shape = Tensor::from_i64({4}, {1, 3, 224, 224});
  Tensor i0 = Tensor::from_i64({}, {2});
  expect_i64(run1(make_node("Gather", 2), 13, {&shape, &i0}), {}, {224});
  Tensor bad = Tensor::from_i64({1}, {2});
  expect_fails(make_node("Gather", 2), 13, {&data, &bad}, "out of range");
}

TEST(ShapeOps, UnsqueezeAndSqueeze) {
  Tensor x = Tensor::from_f32({3}, {1, 2, 3});
  Node old = make_node("Unsqueeze");
  set_ints(old, "axes", {0, 2});
  expect_f32(run1(old, 11, {&x}), {1, 3, 1}, {1, 2, 3});
  Tensor axes = Tensor::from_i64({2}, {-1, 0});
  expect_f32(run1(make_node("Unsqueeze", 2), 13, {&x, &axes}), {1, 3, 1}, {1, 2, 3});
  Tensor runtime_axes = Tensor::descriptor(DType::Int64, {1});
  expect_fails(make_node("Unsqueeze", 2), 13, {&x, &runtime_axes}, "constant");

  Tensor y = Tensor::from_f32({1, 3, 1}, {1, 2, 3});
  expect_f32(run1(make_node("Squeeze"), 13, {&y}), {3}, {1, 2, 3});
  Tensor last = Tensor::from_i64({1}, {-1});
  expect_f32(run1(make_node("Squeeze", 2), 13, {&y, &last}), {1, 3}, {1, 2, 3});
  Node bad = make_node("Squeeze");
  set_ints(bad, "axes", {1});
  expect_fails(bad, 11, {&y}, "cannot squeeze");
}

TEST(ShapeOps, ConcatNegativeAxisAndInt64) {
  Tensor a = Tensor::from_f32({2, 1}, {1, 2});
  Tensor b = Tensor::from_f32({2, 2}, {3, 4, 5, 6});
  Node node = make_node("Concat", 2);
  set_int(node, "axis", -1);
  expect_f32(run1(node, 13, {&a, &b}), {2, 3}, {1, 3, 4, 2, 5, 6});
  Tensor s1 = Tensor::from_i64({1}, {-1});
  Tensor s2 = Tensor::from_i64({2}, {8, 8});
  Node cat0 = make_node("Concat", 2);
  set_int(cat0, "axis", 0);
  expect_i64(run1(cat0, 13, {&s1, &s2}), {3}, {-1, 8, 8});
  expect_fails(cat0, 13, {&a, &b}, "differ outside axis");
}

TEST(ShapeOps, FlattenAxes) {
  Tensor x = Tensor::from_f32({2, 3, 4}, std::vector<float>(24, 1.0f));
  EXPECT_EQ(shape_str(run1(make_node("Flatten"), 13, {&x}).shape()), "[2,12]");
  Node axis0 = make_node("Flatten");
  set_int(axis0, "axis", 0);
  EXPECT_EQ(shape_str(run1(axis0, 13, {&x}).shape()), "[1,24]");
  Node neg = make_node("Flatten");
  set_int(neg, "axis", -1);
  EXPECT_EQ(shape_str(run1(neg, 13, {&x}).shape()), "[6,4]");
}

TEST(ShapeOps, ReshapeZeroAndMinusOne) {
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Tensor x = Tensor::from_f32({2, 3, 4}, v);
  Tensor shape = Tensor::from_i64({3}, {0, -1, 2});
  Tensor y = run1(make_node("Reshape", 2), 14, {&x, &shape});
  expect_f32(y, {2, 6, 2}, v);
  Node allow = make_node("Reshape", 2);
  set_int(allow, "allowzero", 1);
  Tensor empty = Tensor::from_f32({0, 3}, {});
  Tensor zero_shape = Tensor::from_i64({2}, {3, 0});
  EXPECT_EQ(shape_str(run1(allow, 14, {&empty, &zero_shape}).shape()), "[3,0]");
  Tensor two = Tensor::from_i64({2}, {-1, -1});
  expect_fails(make_node("Reshape", 2), 14, {&x, &two}, "more than one -1");
  Tensor wrong = Tensor::from_i64({2}, {5, -1});
  expect_fails(make_node("Reshape", 2), 14, {&x, &wrong}, "cannot infer");
}

TEST(ShapeOps, TransposeDefaultAndPerm) {
  Tensor x = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_f32(run1(make_node("Transpose"), 13, {&x}), {3, 2}, {1, 4, 2, 5, 3, 6});
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Tensor t = Tensor::from_f32({2, 3, 4}, v);
  Node perm = make_node("Transpose");
  set_ints(perm, "perm", {1, 2, 0});
  Tensor y = run1(perm, 13, {&t});
  ASSERT_EQ(shape_str(y.shape()), "[3,4,2]");
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 2; ++k) EXPECT_EQ(y.f32()[(i * 4 + j) * 2 + k], v[static_cast<size_t>((k * 3 + i) * 4 + j)]);
}

TEST(ShapeOps, IdentityDropoutConstant) {
  Tensor x = Tensor::from_f32({2}, {1, -1});
  expect_f32(run1(make_node("Identity"), 16, {&x}), {2}, {1, -1});
  Tensor ratio = Tensor::scalar_f32(0.5f);
  expect_f32(run1(make_node("Dropout", 2), 13, {&x, &ratio}), {2}, {1, -1});
  Tensor train = Tensor::from_i64({}, {1});
  expect_fails(make_node("Dropout", 3), 13, {&x, &ratio, &train}, "training_mode");
  expect_fails(make_node("Dropout", 1, 2), 13, {&x}, "bool mask output not supported");

  Node ints = make_node("Constant", 0);
  set_ints(ints, "value_ints", {1, -1});
  expect_i64(run1(ints, 13, {}), {2}, {1, -1});
  Node f = make_node("Constant", 0);
  set_float(f, "value_float", 2.5f);
  expect_f32(run1(f, 13, {}), {}, {2.5f});
  Node t = make_node("Constant", 0);
  Attribute a;
  a.kind = Attribute::Kind::Tensor;
  a.tensor = std::make_shared<Tensor>(Tensor::from_f32({2, 1}, {3, 4}));
  t.attributes["value"] = a;
  expect_f32(run1(t, 13, {}), {2, 1}, {3, 4});
}

// ----------------------------------------------------------------------- pad

TEST(Pad, ConstantOpset2Attributes) {
  Tensor x = Tensor::from_f32({1, 2}, {1, 2});
  Node node = make_node("Pad");
  set_ints(node, "pads", {1, 0, 0, 1});
  set_float(node, "value", 7.0f);
  expect_f32(run1(node, 2, {&x}), {2, 3}, {7, 7, 7, 1, 2, 7});
}

TEST(Pad, ReflectEdgeAndCropFromOpset11) {
  Tensor x = Tensor::from_f32({3}, {1, 2, 3});
  Tensor pads = Tensor::from_i64({2}, {2, 2});
  Node reflect = make_node("Pad", 2);
  set_string(reflect, "mode", "reflect");
  expect_f32(run1(reflect, 13, {&x, &pads}), {7}, {3, 2, 1, 2, 3, 2, 1});
  Node edge = make_node("Pad", 2);
  set_string(edge, "mode", "edge");
  expect_f32(run1(edge, 13, {&x, &pads}), {7}, {1, 1, 1, 2, 3, 3, 3});
  Tensor crop = Tensor::from_i64({2}, {-1, 1});
  Tensor value = Tensor::scalar_f32(-5.0f);
  expect_f32(run1(make_node("Pad", 3), 13, {&x, &crop, &value}), {3}, {2, 3, -5});
  Tensor runtime_pads = Tensor::descriptor(DType::Int64, {2});
  expect_fails(make_node("Pad", 2), 13, {&x, &runtime_pads}, "must be a constant");
}

TEST(Pad, TwoDimensionalConstant) {
  Tensor x = Tensor::from_f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor pads = Tensor::from_i64({8}, {0, 0, 1, 0, 0, 0, 0, 1});
  expect_f32(run1(make_node("Pad", 2), 13, {&x, &pads}), {1, 1, 3, 3}, {0, 0, 0, 1, 2, 0, 3, 4, 0});
}

TEST(Resize, AnyRankAndLeadingAxes) {
  // Rank 1 and interpolation on a leading axis take the general path.
  Tensor x = Tensor::from_f32({2}, {1, 2});
  Tensor s1 = Tensor::from_f32({1}, {2});
  Node linear = make_node("Resize", 3);
  set_string(linear, "mode", "linear");
  expect_f32(run1(linear, 13, {&x, nullptr, &s1}), {4}, {1, 1.25f, 1.75f, 2});
  Tensor cube = Tensor::from_f32({2, 1, 2}, {1, 2, 3, 4});
  Tensor s3 = Tensor::from_f32({3}, {2, 1, 1});
  expect_f32(run1(linear, 13, {&cube, nullptr, &s3}), {4, 1, 2}, {1, 2, 1.5f, 2.5f, 2.5f, 3.5f, 3, 4});
}

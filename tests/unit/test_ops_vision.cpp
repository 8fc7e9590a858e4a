// The operators of issue 15 (Slice, Split, DepthToSpace, SpaceToDepth,
// Reduce*, Pow, Sqrt, Exp, Neg, Abs, Min, Max, Erf, Cast, Expand, Tile): the
// cases the ONNX node tests do not cover (tests/conformance runs those), and
// a conv network built from them that change mode must reproduce exactly at
// threshold 0, with change sets that stay sparse through them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "op_test_support.h"
#include "ops/op.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

using namespace sparseinfer;
using sparseinfer::test::Ints;
using sparseinfer::test::make_node;
using sparseinfer::test::random_tensor;

namespace {

std::vector<Tensor> run_op(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs) {
  auto op = create_op(OpInfo{&node, opset, "test.onnx"});
  std::vector<Tensor*> ptrs;
  std::vector<Tensor> outputs = test::allocate_outputs(op->infer(inputs), ptrs);
  Scratch scratch;
  ExecContext ctx{1, &scratch};
  op->forward(inputs, ptrs, ctx);
  return outputs;
}

std::string error_of(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs) {
  try {
    run_op(node, opset, inputs);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(VisionOps, CastSaturatesAndTruncates) {
  Node cast = make_node("Cast", 1);
  cast.attributes["to"] = Attribute::of_int(7);
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = Tensor::from_f32({6}, {-2.7f, 2.7f, std::nanf(""), inf, -inf, 1e30f});
  Tensor y = run_op(cast, 13, {&x})[0];
  ASSERT_EQ(y.dtype(), DType::Int64);
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(y.to_i64_vector(), (Ints{-2, 2, 0, big, small, big}));
  cast.attributes["to"] = Attribute::of_int(1);
  Tensor back = run_op(cast, 13, {&y})[0];
  EXPECT_EQ(back.dtype(), DType::Float32);
  EXPECT_EQ(back.f32()[0], -2.0f);
  cast.attributes["to"] = Attribute::of_int(10);  // FLOAT16
  EXPECT_NE(error_of(cast, 13, {&x}).find("not supported"), std::string::npos);
}

TEST(VisionOps, NegAndAbsOnInt64Wrap) {
  const int64_t small = std::numeric_limits<int64_t>::min();
  Tensor x = Tensor::from_i64({3}, {-5, 7, small});
  EXPECT_EQ(run_op(make_node("Neg", 1), 13, {&x})[0].to_i64_vector(), (Ints{5, -7, small}));
  EXPECT_EQ(run_op(make_node("Abs", 1), 13, {&x})[0].to_i64_vector(), (Ints{5, 7, small}));
  // Sqrt has no int64 form.
  EXPECT_NE(error_of(make_node("Sqrt", 1), 13, {&x}).find("not supported"), std::string::npos);
}

TEST(VisionOps, PowMixedTypes) {
  Tensor base = Tensor::from_f32({3}, {2.0f, -3.0f, 4.0f});
  Tensor e = Tensor::from_i64({1}, {3});
  EXPECT_EQ(run_op(make_node("Pow", 2), 15, {&base, &e})[0].to_f32_vector(), (std::vector<float>{8, -27, 64}));
  Tensor ib = Tensor::from_i64({3}, {2, -3, 5});
  Tensor ie = Tensor::from_i64({3}, {10, 3, -1});
  EXPECT_EQ(run_op(make_node("Pow", 2), 15, {&ib, &ie})[0].to_i64_vector(), (Ints{1024, -27, 0}));
  Tensor fe = Tensor::from_f32({1}, {0.5f});
  Tensor sq = Tensor::from_i64({3}, {4, 9, 16});
  EXPECT_EQ(run_op(make_node("Pow", 2), 15, {&sq, &fe})[0].to_i64_vector(), (Ints{2, 3, 4}));
  // Opset 7 required equal types.
  EXPECT_NE(error_of(make_node("Pow", 2), 7, {&base, &e}).find("differ"), std::string::npos);
}

TEST(VisionOps, MinMaxThreeWayBroadcastAndNaN) {
  Tensor a = Tensor::from_f32({2, 1}, {1.0f, 5.0f});
  Tensor b = Tensor::from_f32({3}, {0.0f, 3.0f, std::nanf("")});
  Tensor c = Tensor::scalar_f32(2.0f);
  Tensor mx = run_op(make_node("Max", 3), 13, {&a, &b, &c})[0];
  ASSERT_EQ(mx.shape(), (Shape{2, 3}));
  std::vector<float> v = mx.to_f32_vector();
  EXPECT_EQ(v[0], 2.0f);
  EXPECT_EQ(v[1], 3.0f);
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_EQ(v[3], 5.0f);
  EXPECT_EQ(v[4], 5.0f);
  Tensor mn = run_op(make_node("Min", 3), 13, {&a, &b, &c})[0];
  EXPECT_EQ(mn.to_f32_vector()[3], 0.0f);
  EXPECT_EQ(mn.to_f32_vector()[4], 2.0f);
}

TEST(VisionOps, ReduceIntAndEmptyAxes) {
  Tensor x = Tensor::from_i64({2, 3}, {1, 2, 3, 4, 5, 6});
  Node sum = make_node("ReduceSum", 1);
  sum.attributes["keepdims"] = Attribute::of_int(0);
  Tensor all = run_op(sum, 13, {&x})[0];
  EXPECT_EQ(all.shape(), Shape{});
  EXPECT_EQ(all.to_i64_vector(), Ints{21});
  Node mean = make_node("ReduceMean", 1);
  mean.attributes["axes"] = Attribute::of_ints({-1});
  Tensor m = run_op(mean, 13, {&x})[0];
  EXPECT_EQ(m.shape(), (Shape{2, 1}));
  EXPECT_EQ(m.to_i64_vector(), (Ints{2, 5}));
  // Axes given as a graph input that is not constant are named in the error.
  Tensor axes = Tensor::descriptor(DType::Int64, {1});
  Node max = make_node("ReduceMax", 2);
  EXPECT_NE(error_of(max, 18, {&x, &axes}).find("'axes' must be a constant"), std::string::npos);
}

TEST(VisionOps, SliceSplitTileRefuseBadParameters) {
  Tensor x = random_tensor({2, 4}, 1);
  Tensor starts = Tensor::from_i64({1}, {0}), ends = Tensor::from_i64({1}, {2}), axes = Tensor::from_i64({1}, {0});
  Tensor zero_step = Tensor::from_i64({1}, {0});
  EXPECT_NE(error_of(make_node("Slice", 5), 13, {&x, &starts, &ends, &axes, &zero_step}).find("step of 0"),
            std::string::npos);
  Tensor split = Tensor::from_i64({2}, {1, 2});
  EXPECT_NE(error_of(make_node("Split", 2, 2), 13, {&x, &split}).find("add up to 3"), std::string::npos);
  Tensor repeats = Tensor::from_i64({1}, {2});
  EXPECT_NE(error_of(make_node("Tile", 2), 13, {&x, &repeats}).find("rank 2"), std::string::npos);
  // Steps too large to multiply: one element, read without overflow.
  const int64_t lowest = std::numeric_limits<int64_t>::min(), highest = std::numeric_limits<int64_t>::max();
  Tensor from_end = Tensor::from_i64({1}, {3}), to_start = Tensor::from_i64({1}, {lowest});
  Tensor axis1 = Tensor::from_i64({1}, {1}), huge_back = Tensor::from_i64({1}, {lowest});
  Tensor last = run_op(make_node("Slice", 5), 13, {&x, &from_end, &to_start, &axis1, &huge_back})[0];
  ASSERT_EQ(last.shape(), (Shape{2, 1}));
  EXPECT_EQ(last.f32()[1], x.f32()[7]);
  Tensor zero = Tensor::from_i64({1}, {0}), to_end = Tensor::from_i64({1}, {highest});
  Tensor huge_forward = Tensor::from_i64({1}, {highest});
  Tensor first = run_op(make_node("Slice", 5), 13, {&x, &zero, &to_end, &axis1, &huge_forward})[0];
  ASSERT_EQ(first.shape(), (Shape{2, 1}));
  EXPECT_EQ(first.f32()[1], x.f32()[4]);
  // An empty axis sliced backwards stays empty.
  Tensor empty = Tensor::descriptor(DType::Float32, {0, 4});
  empty.allocate(DType::Float32, {0, 4});
  Tensor back = Tensor::from_i64({1}, {-1}), axis0 = Tensor::from_i64({1}, {0});
  EXPECT_EQ(run_op(make_node("Slice", 5), 13, {&empty, &zero, &to_start, &axis0, &back})[0].shape(), (Shape{0, 4}));
  Node d2s = make_node("DepthToSpace", 1);
  d2s.attributes["blocksize"] = Attribute::of_int(2);
  Tensor three_channels = random_tensor({1, 3, 2, 2}, 2);
  EXPECT_NE(error_of(d2s, 13, {&three_channels}).find("blocksize^2"), std::string::npos);
}

// DepthToSpace then SpaceToDepth with the same block size is the identity,
// in both DepthToSpace modes.
TEST(VisionOps, DepthToSpaceRoundTrip) {
  Tensor x = random_tensor({2, 8, 3, 5}, 3);
  for (const char* mode : {"DCR", "CRD"}) {
    Node d2s = make_node("DepthToSpace", 1);
    d2s.attributes["blocksize"] = Attribute::of_int(2);
    d2s.attributes["mode"] = Attribute::of_string(mode);
    Tensor space = run_op(d2s, 13, {&x})[0];
    ASSERT_EQ(space.shape(), (Shape{2, 2, 6, 10}));
    Node s2d = make_node("SpaceToDepth", 1);
    s2d.attributes["blocksize"] = Attribute::of_int(2);
    Tensor depth = run_op(s2d, 13, {&space})[0];
    if (std::string(mode) == "DCR") {
      EXPECT_EQ(depth.to_f32_vector(), x.to_f32_vector());
    } else {
      // CRD reads channel c*4 + i*2 + j; SpaceToDepth writes (i*2 + j)*2 + c.
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t k = 0; k < 4; ++k)
          for (int64_t p = 0; p < 15; ++p) EXPECT_EQ(depth.f32()[(k * 2 + c) * 15 + p], x.f32()[(c * 4 + k) * 15 + p]);
    }
  }
}

// --- change mode ---------------------------------------------------------

namespace {

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out, const std::string& name) {
  Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

void add_conv(Model& m, const std::string& in, const std::string& out, int64_t cin, int64_t cout, uint32_t seed) {
  m.initializers["w_" + out] = random_tensor({cout, cin, 3, 3}, seed);
  m.initializers["b_" + out] = random_tensor({cout}, seed + 100);
  Node n = node("Conv", {in, "w_" + out, "b_" + out}, {out}, out);
  n.attributes["pads"] = Attribute::of_ints({1, 1, 1, 1});
  m.nodes.push_back(n);
}

// A conv network (opset 13) through every new operator: the parameter inputs
// (axes, split, starts, shape, repeats) are constants, as in exported CNNs.
Model vision_ops_model() {
  Model m;
  m.path = "vision_ops.onnx";
  m.opset = 13;
  m.inputs.push_back({"x", DType::Float32, {1, 3, 16, 16}});
  auto ints = [&](const std::string& name, Ints v) {
    m.initializers[name] = Tensor::from_i64({static_cast<int64_t>(v.size())}, v);
  };
  auto scalar = [&](const std::string& name, float v) { m.initializers[name] = Tensor::scalar_f32(v); };
  add_conv(m, "x", "c1", 3, 8, 1);
  m.nodes.push_back(node("Abs", {"c1"}, {"abs"}, "abs"));
  Node d2s = node("DepthToSpace", {"abs"}, {"d2s"}, "d2s");
  d2s.attributes["blocksize"] = Attribute::of_int(2);
  d2s.attributes["mode"] = Attribute::of_string("CRD");
  m.nodes.push_back(d2s);
  add_conv(m, "d2s", "c2", 2, 4, 2);  // 32 x 32
  Node s2d = node("SpaceToDepth", {"c2"}, {"s2d"}, "s2d");
  s2d.attributes["blocksize"] = Attribute::of_int(2);
  m.nodes.push_back(s2d);  // 16 channels, 16 x 16
  ints("split_sizes", {8, 8});
  Node split = node("Split", {"s2d", "split_sizes"}, {"sp0", "sp1"}, "split");
  split.attributes["axis"] = Attribute::of_int(1);
  m.nodes.push_back(split);
  m.nodes.push_back(node("Max", {"sp0", "sp1", "c1"}, {"max"}, "max"));
  scalar("two", 2.0f);
  m.nodes.push_back(node("Min", {"max", "two"}, {"min"}, "min"));
  m.nodes.push_back(node("Pow", {"min", "two"}, {"pow"}, "pow"));
  m.nodes.push_back(node("Sqrt", {"pow"}, {"sqrt"}, "sqrt"));
  m.nodes.push_back(node("Neg", {"sqrt"}, {"neg"}, "neg"));
  m.nodes.push_back(node("Exp", {"neg"}, {"exp"}, "exp"));
  m.nodes.push_back(node("Erf", {"exp"}, {"erf"}, "erf"));
  Node mean = node("ReduceMean", {"erf"}, {"mean"}, "mean");
  mean.attributes["axes"] = Attribute::of_ints({1});
  m.nodes.push_back(mean);  // 1 x 1 x 16 x 16
  ints("expand_shape", {1, 8, 1, 1});
  m.nodes.push_back(node("Expand", {"mean", "expand_shape"}, {"expanded"}, "expand"));
  m.nodes.push_back(node("Add", {"erf", "expanded"}, {"sum"}, "add"));
  ints("channel_axis", {1});
  Node rsum = node("ReduceSum", {"sum", "channel_axis"}, {"rsum"}, "rsum");
  m.nodes.push_back(rsum);  // 1 x 1 x 16 x 16
  ints("starts", {0, 0}), ints("ends", {8, 16}), ints("hw_axes", {2, 3});
  m.nodes.push_back(node("Slice", {"sum", "starts", "ends", "hw_axes"}, {"top"}, "slice"));  // 1 x 8 x 8 x 16
  ints("repeats", {1, 1, 2, 1});
  m.nodes.push_back(node("Tile", {"top", "repeats"}, {"tiled"}, "tile"));  // 1 x 8 x 16 x 16
  scalar("scale", 64.0f);
  m.nodes.push_back(node("Mul", {"tiled", "scale"}, {"scaled"}, "scale"));
  Node to_int = node("Cast", {"scaled"}, {"quantized"}, "to_int");
  to_int.attributes["to"] = Attribute::of_int(7);
  m.nodes.push_back(to_int);
  Node to_float = node("Cast", {"quantized"}, {"dequantized"}, "to_float");
  to_float.attributes["to"] = Attribute::of_int(1);
  m.nodes.push_back(to_float);
  ints("axis0", {0});
  m.nodes.push_back(node("Unsqueeze", {"dequantized", "axis0"}, {"u"}, "unsqueeze"));
  m.nodes.push_back(node("Squeeze", {"u", "axis0"}, {"s"}, "squeeze"));
  add_conv(m, "s", "c3", 8, 4, 3);
  Node rmax = node("ReduceMax", {"c3"}, {"peak"}, "peak");
  rmax.attributes["axes"] = Attribute::of_ints({2, 3});
  m.nodes.push_back(rmax);  // 1 x 4 x 1 x 1
  m.outputs.push_back({"c3", DType::Float32, {}});
  m.outputs.push_back({"rsum", DType::Float32, {}});
  m.outputs.push_back({"peak", DType::Float32, {}});
  return m;
}

// A still random background with a block that moves, an exact repeat, and a
// frame with faint noise on a few pixels.
std::vector<Tensor> moving_block_frames() {
  Tensor base = random_tensor({1, 3, 16, 16}, 7);
  std::vector<Tensor> frames;
  for (int f = 0; f < 6; ++f) {
    Tensor t = base;
    for (int c = 0; c < 3; ++c)
      for (int y = 5; y < 9; ++y)
        for (int x = 1 + f; x < 4 + f; ++x) t.f32()[(c * 16 + y) * 16 + x] = 1.5f;
    if (f == 3) t = frames.back();
    if (f == 5)
      for (int64_t i = 0; i < t.numel(); i += 37) t.f32()[i] += 1e-3f;
    frames.push_back(std::move(t));
  }
  return frames;
}

}  // namespace

TEST(VisionOps, ChangeModeIsExactAtThresholdZero) {
  Model model = vision_ops_model();
  std::vector<Tensor> frames = moving_block_frames();
  EngineOptions dense_options, change_options;
  dense_options.input_shapes = change_options.input_shapes = {frames[0].shape()};
  change_options.mode = Mode::Change;
  Engine dense(model, dense_options), change(model, change_options);
  auto ds = dense.new_stream(), cs = change.new_stream();
  cs->set_all_thresholds(0.0f);
  size_t c2 = change.layers().size();
  for (size_t i = 0; i < change.layers().size(); ++i)
    if (change.layers()[i].name == "c2") c2 = i;
  ASSERT_LT(c2, change.layers().size());
  for (size_t f = 0; f < frames.size(); ++f) {
    FrameResult d = dense.run(*ds, {&frames[f]});
    FrameResult c = change.run(*cs, {&frames[f]});
    ASSERT_EQ(d.outputs.size(), 3u);
    for (size_t o = 0; o < d.outputs.size(); ++o) {
      ASSERT_EQ(d.outputs[o]->shape(), c.outputs[o]->shape());
      // Relative: dense convolutions take the packed AVX2 kernel and change
      // mode its own, which sum in another order (outputs reach |140| here,
      // and Pow/Exp amplify the rounding to 2e-5 relative).
      for (int64_t i = 0; i < d.outputs[o]->numel(); ++i)
        ASSERT_NEAR(d.outputs[o]->f32()[i], c.outputs[o]->f32()[i],
                    1e-4f * std::max(1.0f, std::fabs(d.outputs[o]->f32()[i])))
            << "frame " << f << " output " << o << " element " << i;
    }
    // The conv after DepthToSpace recomputes only near the moving block: the
    // change set came through Abs and DepthToSpace pixel-exact, not as "all".
    if (f == 1 || f == 2) {
      EXPECT_GT(c.layer_stats[c2].changed_fraction, 0.0) << "frame " << f;
      EXPECT_LT(c.layer_stats[c2].changed_fraction, 0.5) << "frame " << f;
    }
    if (f == 3) {
      for (const LayerStats& l : c.layer_stats) EXPECT_EQ(l.changed_fraction, 0.0) << "repeated frame";
    }
  }
}

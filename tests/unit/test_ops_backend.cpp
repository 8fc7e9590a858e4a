// Each fast CPU operator (core/cpu/<op>_cpu.cpp) against its reference
// (core/ops/<op>.cpp) on random inputs, to 1e-4 relative: the backend table
// must change speed only, never results.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include "op_test_support.h"
#include "ops/activation.h"
#include "ops/op.h"

using namespace sparseinfer;

namespace {

using test::Ints;
using test::make_node;
using test::random_tensor;

Activation activation(ActivationKind kind) {
  Activation a;
  a.kind = kind;
  a.alpha = 0.1f;  // LeakyRelu slope
  a.min = -0.5f;   // Clip bounds
  a.max = 0.5f;
  return a;
}

// Plans `op` with `infer_inputs` (where a tensor without data stands for a
// value computed at run time), then runs it on `inputs`.
std::vector<Tensor> run(Op& op, const std::vector<const Tensor*>& infer_inputs,
                        const std::vector<const Tensor*>& inputs) {
  std::vector<Tensor*> out_ptrs;
  std::vector<Tensor> outs = test::allocate_outputs(op.infer(infer_inputs), out_ptrs);
  Scratch scratch;
  ExecContext ctx{2, &scratch};
  op.forward(inputs, out_ptrs, ctx);
  return outs;
}

// Runs the CPU backend's operator and the reference on the same inputs and
// expects the same outputs. With runtime_input >= 0 that input is planned as
// a runtime value (e.g. Conv weights that cannot be packed ahead).
void expect_cpu_matches_reference(const Node& node, const std::vector<const Tensor*>& inputs, const std::string& what,
                                  int runtime_input = -1) {
  SCOPED_TRACE(what);
  OpInfo info{&node, 13, "test.onnx"};
  std::unique_ptr<Op> fast = create_op(info, Backend::Cpu);
  std::unique_ptr<Op> reference = create_reference_op(info);
  // The comparison means something only when the CPU table replaced the reference.
  ASSERT_NE(typeid(*fast), typeid(*reference)) << node.op_type << " has no fast CPU implementation";
  std::vector<const Tensor*> infer_inputs = inputs;
  Tensor runtime;
  if (runtime_input >= 0) {
    runtime = Tensor::descriptor(DType::Float32, inputs[static_cast<size_t>(runtime_input)]->shape());
    infer_inputs[static_cast<size_t>(runtime_input)] = &runtime;
  }
  std::vector<Tensor> got = run(*fast, infer_inputs, inputs);
  std::vector<Tensor> want = run(*reference, infer_inputs, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(shape_str(got[o].shape()), shape_str(want[o].shape())) << "output " << o;
    ASSERT_EQ(got[o].dtype(), want[o].dtype()) << "output " << o;
    int bad = 0;
    for (int64_t i = 0; i < got[o].numel(); ++i) {
      if (got[o].dtype() == DType::Int64) {
        if (got[o].i64()[i] != want[o].i64()[i] && bad++ < 5)
          ADD_FAILURE() << "output " << o << " element " << i << ": " << got[o].i64()[i] << " vs " << want[o].i64()[i];
        continue;
      }
      const float g = got[o].f32()[i], w = want[o].f32()[i];
      if (std::fabs(g - w) > 1e-4f * std::max(1.0f, std::fabs(w)) && bad++ < 5)
        ADD_FAILURE() << "output " << o << " element " << i << ": fast " << g << ", reference " << w;
    }
    EXPECT_EQ(bad, 0) << "output " << o << " differs in " << bad << " elements";
  }
}

struct ConvCase {
  Shape x;  // N, C, spatial...
  int64_t out_channels;
  Ints kernel;
  Ints strides = {}, pads = {}, dilations = {};  // empty: ONNX defaults
  int64_t group = 1;
  ActivationKind act = ActivationKind::None;
  bool bias = true;
};

std::string describe(const ConvCase& c) {
  std::string s = "x " + shape_str(c.x) + " cout " + std::to_string(c.out_channels) + " kernel " + shape_str(c.kernel);
  if (!c.strides.empty()) s += " strides " + shape_str(c.strides);
  if (!c.pads.empty()) s += " pads " + shape_str(c.pads);
  if (!c.dilations.empty()) s += " dilations " + shape_str(c.dilations);
  s += " group " + std::to_string(c.group) + " act " + activation_name(c.act) + (c.bias ? "" : " no bias");
  return s;
}

void check_conv(const std::string& op_type, const ConvCase& c, uint32_t seed) {
  Node node = make_node(op_type, c.bias ? 3 : 2);
  node.attributes["kernel_shape"] = Attribute::of_ints(c.kernel);
  if (c.group != 1) node.attributes["group"] = Attribute::of_int(c.group);
  if (!c.strides.empty()) node.attributes["strides"] = Attribute::of_ints(c.strides);
  if (!c.pads.empty()) node.attributes["pads"] = Attribute::of_ints(c.pads);
  if (!c.dilations.empty()) node.attributes["dilations"] = Attribute::of_ints(c.dilations);
  if (c.act != ActivationKind::None) set_fused_activation(node, activation(c.act));
  const bool transposed = op_type == "ConvTranspose";
  // Conv weights are [Cout, Cin/group, k...]; ConvTranspose weights [Cin, Cout/group, k...].
  Shape w_shape = transposed ? Shape{c.x[1], c.out_channels / c.group} : Shape{c.out_channels, c.x[1] / c.group};
  w_shape.insert(w_shape.end(), c.kernel.begin(), c.kernel.end());
  Tensor x = random_tensor(c.x, seed), w = random_tensor(w_shape, seed + 1),
         b = random_tensor({c.out_channels}, seed + 2);
  std::vector<const Tensor*> inputs{&x, &w};
  if (c.bias) inputs.push_back(&b);
  expect_cpu_matches_reference(node, inputs, op_type + " " + describe(c) + ", constant weights");
  expect_cpu_matches_reference(node, inputs, op_type + " " + describe(c) + ", runtime weights", 1);
}

TEST(CpuBackend, ConvMatchesReference) {
  using A = ActivationKind;
  const ConvCase cases[] = {
      {{1, 8, 16, 16}, 16, {1, 1}},                                       // pointwise
      {{2, 8, 12, 12}, 16, {3, 3}, {}, {1, 1, 1, 1}, {}, 1, A::Relu},     // 3x3 same, batch 2
      {{1, 6, 17, 15}, 12, {3, 3}, {2, 2}, {1, 1, 1, 1}},                 // stride 2, odd size
      {{1, 4, 20, 20}, 8, {5, 5}, {1, 1}, {2, 2, 2, 2}, {}, 1, A::Clip},  // 5x5
      {{1, 3, 24, 24}, 8, {7, 7}, {2, 2}, {3, 3, 3, 3}, {}, 1, A::LeakyRelu},
      {{1, 8, 14, 14}, 8, {3, 3}, {}, {2, 2, 2, 2}, {2, 2}, 1, A::HardSwish},  // dilation 2
      {{1, 8, 12, 12}, 12, {3, 3}, {}, {1, 0, 2, 1}, {}, 2, A::Sigmoid},       // 2 groups, uneven pads
      {{1, 16, 16, 16}, 16, {3, 3}, {}, {1, 1, 1, 1}, {}, 16, A::Relu},        // depthwise
      {{2, 8, 15, 15}, 8, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 8, A::HardSwish},  // depthwise stride 2
      {{1, 4, 10, 10}, 8, {3, 3}, {}, {1, 1, 1, 1}, {}, 4},                    // depthwise multiplier 2
      {{1, 8, 9, 9}, 8, {5, 5}, {}, {4, 4, 4, 4}, {2, 2}, 8, A::Tanh},         // dilated depthwise
      // The AVX2 polyphase depthwise path: planes split over several accumulator
      // blocks, odd sizes, uneven pads, mixed strides, 5x5, activations with and
      // without a vector form.
      {{1, 4, 70, 90}, 4, {3, 3}, {}, {1, 1, 1, 1}, {}, 4, A::Clip},
      {{1, 4, 71, 93}, 4, {3, 3}, {2, 2}, {0, 1, 1, 0}, {}, 4, A::Relu},
      {{1, 3, 33, 37}, 3, {5, 5}, {2, 2}, {2, 2, 2, 2}, {}, 3, A::HardSwish},
      {{1, 3, 19, 21}, 3, {5, 5}, {1, 2}, {2, 1, 2, 3}, {}, 3, A::Sigmoid},
      {{1, 5, 6, 7}, 5, {3, 3}, {2, 1}, {1, 1, 1, 1}, {}, 5, A::LeakyRelu},
      {{1, 2, 3, 3}, 2, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 2, A::HardSigmoid, false},
      // Packed implicit GEMM: strips over row ends, rows past a panel, several k blocks.
      {{1, 13, 23, 29}, 21, {1, 1}, {}, {}, {}, 1, A::HardSwish},
      {{1, 300, 9, 11}, 11, {1, 1}, {}, {}, {}, 1, A::Relu},
      {{1, 7, 30, 41}, 5, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 1, A::Clip},
      {{1, 6, 26, 50}, 18, {7, 7}, {}, {3, 3, 3, 3}, {}, 1, A::Relu},
      {{1, 4, 20, 36}, 9, {3, 3}, {1, 3}, {1, 2, 1, 0}, {}, 1, A::Tanh},
      {{1, 16, 4, 4}, 8, {1, 1}, {}, {}, {}, 1, A::None, false},              // under one 32-pixel strip, no bias
      {{1, 24, 1, 1}, 12, {1, 1}, {}, {}, {}, 1, A::Relu},                    // squeeze-excite: one pixel
      {{1, 6, 40}, 8, {3}, {2}, {1, 1}},                                      // 1-D
      {{1, 4, 6, 8, 8}, 6, {3, 3, 3}, {1, 2, 2}, {1, 1, 1, 1, 1, 1}, {}, 2},  // 3-D, grouped
  };
  uint32_t seed = 100;
  for (const ConvCase& c : cases) check_conv("Conv", c, seed += 10);
}

TEST(CpuBackend, ConvTransposeMatchesReference) {
  using A = ActivationKind;
  const ConvCase cases[] = {
      {{1, 8, 7, 7}, 4, {2, 2}, {2, 2}},
      {{2, 6, 6, 5}, 6, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 1, A::Relu},
      {{1, 8, 5, 5}, 8, {4, 4}, {2, 2}, {1, 1, 1, 1}, {}, 2, A::LeakyRelu},
      {{1, 4, 6, 6}, 4, {3, 3}, {1, 1}, {}, {2, 2}, 1, A::None, false},
      {{1, 4, 12}, 3, {5}, {3}, {1, 2}},
  };
  uint32_t seed = 300;
  for (const ConvCase& c : cases) check_conv("ConvTranspose", c, seed += 10);
}

TEST(CpuBackend, GemmMatchesReference) {
  struct Case {
    int64_t m, n, k;
    bool trans_a, trans_b;
    Shape c;  // empty: no C input
    float alpha, beta;
    ActivationKind act;
  };
  const Case cases[] = {
      {7, 9, 11, false, false, {}, 1.0f, 1.0f, ActivationKind::None},
      {16, 10, 32, false, true, {10}, 1.0f, 1.0f, ActivationKind::Relu},
      {5, 12, 8, true, false, {5, 12}, 0.5f, 2.0f, ActivationKind::None},
      {6, 4, 20, true, true, {6, 1}, 1.5f, 0.25f, ActivationKind::Sigmoid},
      {3, 3, 3, false, false, {1}, 1.0f, 0.0f, ActivationKind::Clip},
      {64, 128, 256, false, true, {128}, 1.0f, 1.0f, ActivationKind::HardSwish},  // large enough for BLAS threads
      {1, 40, 96, false, true, {40}, 1.0f, 1.0f, ActivationKind::Relu},           // one row (a classifier): GEMV
      {1, 24, 17, true, false, {}, 0.5f, 0.0f, ActivationKind::None},             // one row, A transposed
      {9, 1, 33, false, false, {9, 1}, 1.0f, 0.5f, ActivationKind::None},         // one column: GEMV
      {7, 1, 12, true, true, {}, 2.0f, 0.0f, ActivationKind::None},               // one column, both transposed
  };
  uint32_t seed = 500;
  for (const Case& c : cases) {
    Node node = make_node("Gemm", c.c.empty() ? 2 : 3);
    node.attributes["transA"] = Attribute::of_int(c.trans_a);
    node.attributes["transB"] = Attribute::of_int(c.trans_b);
    node.attributes["alpha"] = Attribute::of_float(c.alpha);
    node.attributes["beta"] = Attribute::of_float(c.beta);
    if (c.act != ActivationKind::None) set_fused_activation(node, activation(c.act));
    Tensor a = random_tensor(c.trans_a ? Shape{c.k, c.m} : Shape{c.m, c.k}, seed += 10);
    Tensor b = random_tensor(c.trans_b ? Shape{c.n, c.k} : Shape{c.k, c.n}, seed + 1);
    Tensor cc = random_tensor(c.c.empty() ? Shape{1} : c.c, seed + 2);
    std::vector<const Tensor*> inputs{&a, &b};
    if (!c.c.empty()) inputs.push_back(&cc);
    expect_cpu_matches_reference(node, inputs,
                                 "Gemm " + std::to_string(c.m) + "x" + std::to_string(c.n) + "x" + std::to_string(c.k) +
                                     " transA " + std::to_string(c.trans_a) + " transB " + std::to_string(c.trans_b) +
                                     " C " + shape_str(c.c));
  }
}

TEST(CpuBackend, ResizeMatchesReference) {
  struct Case {
    Shape x;
    std::string coord;
    std::vector<float> scales;   // empty: sizes
    std::vector<int64_t> sizes;  // used when scales is empty
  };
  const Case cases[] = {
      {{1, 3, 9, 12}, "half_pixel", {1, 1, 2, 2}, {}},          // the decoders' 2x upsampling
      {{2, 4, 7, 5}, "half_pixel", {1, 1, 1.5f, 3.25f}, {}},    // fractional scales, batch 2
      {{1, 2, 16, 20}, "half_pixel", {}, {1, 2, 5, 7}},         // downsampling by sizes
      {{1, 2, 6, 8}, "align_corners", {}, {1, 2, 11, 17}},      // corners
      {{1, 2, 6, 8}, "asymmetric", {1, 1, 2, 0.5f}, {}},        // up in H, down in W
      {{1, 1, 5, 6}, "pytorch_half_pixel", {}, {1, 1, 1, 13}},  // one output row
      {{1, 130, 3, 4}, "half_pixel", {1, 1, 4, 4}, {}},         // many planes, both threads
  };
  uint32_t seed = 700;
  for (const Case& c : cases) {
    Node node = make_node("Resize", 4);
    node.attributes["mode"] = Attribute::of_string("linear");
    node.attributes["coordinate_transformation_mode"] = Attribute::of_string(c.coord);
    Tensor x = random_tensor(c.x, seed += 10);
    Tensor roi(DType::Float32, {0});
    Tensor scales(DType::Float32, {static_cast<int64_t>(c.scales.size())});
    for (size_t i = 0; i < c.scales.size(); ++i) scales.f32()[i] = c.scales[i];
    Tensor sizes(DType::Int64, {static_cast<int64_t>(c.sizes.size())});
    for (size_t i = 0; i < c.sizes.size(); ++i) sizes.i64()[i] = c.sizes[i];
    expect_cpu_matches_reference(node, {&x, &roi, &scales, &sizes}, "Resize linear " + c.coord + " " + shape_str(c.x));
  }
}

TEST(CpuBackend, MatMulMatchesReference) {
  const std::pair<Shape, Shape> cases[] = {
      {{7, 5}, {5, 9}},              // plain matrices
      {{3, 4, 6}, {6, 2}},           // B shared by every batch (folded into one GEMM)
      {{2, 3, 4, 6}, {2, 3, 6, 5}},  // batched
      {{2, 1, 4, 6}, {1, 3, 6, 5}},  // broadcast batch dimensions
      {{6}, {2, 6, 3}},              // 1-D A
      {{2, 4, 6}, {6}},              // 1-D B
      {{4, 64, 96}, {4, 96, 128}},   // large enough for BLAS threads
  };
  uint32_t seed = 700;
  for (const auto& [a_shape, b_shape] : cases) {
    Node node = make_node("MatMul", 2);
    Tensor a = random_tensor(a_shape, seed += 10), b = random_tensor(b_shape, seed + 1);
    expect_cpu_matches_reference(node, {&a, &b}, "MatMul " + shape_str(a_shape) + " x " + shape_str(b_shape));
  }
}

TEST(CpuBackend, PoolsMatchReference) {
  struct Case {
    std::string op;
    Shape x;
    Ints kernel, strides, pads, dilations;
    bool ceil_mode = false, count_include_pad = false, indices = false;
  };
  const Case cases[] = {
      {"MaxPool", {2, 8, 16, 16}, {2, 2}, {2, 2}, {}, {}},  // the 2x2 stride-2 special case
      {"MaxPool", {1, 8, 17, 15}, {2, 2}, {2, 2}, {}, {}},  // odd size: last row/column dropped
      {"MaxPool", {1, 3, 10, 39}, {2, 2}, {2, 2}, {}, {}},  // vector body and a scalar tail
      {"MaxPool", {1, 6, 15, 15}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, true},
      {"MaxPool", {1, 4, 12, 12}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {2, 2}},
      {"MaxPool", {2, 4, 10, 10}, {2, 2}, {2, 2}, {}, {}, false, false, true},  // with Indices
      {"MaxPool", {1, 64, 40, 40}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {}},           // large enough for threads
      {"AveragePool", {1, 6, 15, 15}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}},
      {"AveragePool", {1, 6, 15, 15}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, true, true},
      {"AveragePool", {1, 64, 40, 40}, {2, 2}, {2, 2}, {}, {}},
      {"AveragePool", {1, 4, 30}, {4}, {3}, {1, 2}, {}},
      {"MaxPool", {1, 3, 6, 8, 8}, {2, 2, 2}, {2, 2, 2}, {}, {}},
      {"GlobalAveragePool", {2, 16, 37, 29}, {}, {}, {}, {}},
      {"GlobalMaxPool", {2, 16, 37, 29}, {}, {}, {}, {}},
      {"GlobalAveragePool", {1, 64, 40, 40}, {}, {}, {}, {}},
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    Node node = make_node(c.op, 1, c.indices ? 2 : 1);
    if (!c.kernel.empty()) node.attributes["kernel_shape"] = Attribute::of_ints(c.kernel);
    if (!c.strides.empty()) node.attributes["strides"] = Attribute::of_ints(c.strides);
    if (!c.pads.empty()) node.attributes["pads"] = Attribute::of_ints(c.pads);
    if (!c.dilations.empty()) node.attributes["dilations"] = Attribute::of_ints(c.dilations);
    if (c.ceil_mode) node.attributes["ceil_mode"] = Attribute::of_int(1);
    if (c.count_include_pad) node.attributes["count_include_pad"] = Attribute::of_int(1);
    Tensor x = random_tensor(c.x, seed += 10);
    expect_cpu_matches_reference(node, {&x}, c.op + " x " + shape_str(c.x) + " kernel " + shape_str(c.kernel));
  }
}

TEST(CpuBackend, EveryFastOperatorHasAReference) {
  const std::vector<std::string> all = supported_ops();
  for (const std::string& name : fast_ops(Backend::Cpu))
    EXPECT_TRUE(std::binary_search(all.begin(), all.end(), name)) << name << " has no reference in core/ops/";
}

TEST(CpuBackend, OperatorsWithoutAFastPathFallBackToTheReference) {
  Node node = make_node("Softmax", 1);
  OpInfo info{&node, 13, "test.onnx"};
  std::unique_ptr<Op> cpu = create_op(info, Backend::Cpu);
  std::unique_ptr<Op> reference = create_reference_op(info);
  EXPECT_EQ(typeid(*cpu), typeid(*reference));
}

}  // namespace

// Conv, ConvTranspose, pools, Gemm and MatMul against naive references
// written straight from the ONNX operator definitions (double accumulation).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "op_test_support.h"
#include "ops/activation.h"
#include "ops/op.h"

using namespace sparseinfer;

namespace {

using test::Ints;
using test::make_node;
using test::random_tensor;

// Creates the op, infers, allocates outputs from the descriptors and runs forward.
std::vector<Tensor> run_op(const Node& node, const std::vector<const Tensor*>& inputs, int threads = 2,
                           int64_t* macs = nullptr) {
  OpInfo info{&node, 13, "test.onnx"};
  auto op = create_op(info);
  std::vector<Tensor*> out_ptrs;
  std::vector<Tensor> outs = test::allocate_outputs(op->infer(inputs), out_ptrs);
  Scratch scratch;
  ExecContext ctx{threads, &scratch};
  op->forward(inputs, out_ptrs, ctx);
  // A second run on the same op must give the same result (no state kept).
  std::vector<Tensor> again = outs;
  std::vector<Tensor*> again_ptrs;
  for (auto& t : again) again_ptrs.push_back(&t);
  op->forward(inputs, again_ptrs, ctx);
  for (size_t i = 0; i < outs.size(); ++i) {
    if (outs[i].dtype() != DType::Float32) continue;
    for (int64_t j = 0; j < outs[i].numel(); ++j) EXPECT_EQ(outs[i].f32()[j], again[i].f32()[j]);
  }
  if (macs) {
    std::vector<const Tensor*> cout;
    for (auto& t : outs) cout.push_back(&t);
    *macs = op->macs(inputs, cout);
  }
  return outs;
}

void expect_close(const Tensor& got, const Shape& shape, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(shape_str(got.shape()), shape_str(shape)) << what;
  ASSERT_EQ(static_cast<size_t>(got.numel()), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double tol = 1e-4 * std::max(1.0, std::fabs(want[i]));
    if (std::fabs(got.f32()[i] - want[i]) > tol && bad++ < 5)
      ADD_FAILURE() << what << ": element " << i << " is " << got.f32()[i] << ", expected " << want[i];
  }
  EXPECT_EQ(bad, 0) << what;
}

// Row-major strides of a shape.
Ints strides_of(const Shape& s) {
  Ints st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Calls fn(index) for every multi-index of `dims` in row-major order.
void for_each_index(const Ints& dims, const std::function<void(const Ints&)>& fn) {
  Ints idx(dims.size(), 0);
  for (int64_t d : dims)
    if (d == 0) return;
  while (true) {
    fn(idx);
    size_t d = dims.size();
    while (d > 0) {
      --d;
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
      if (d == 0) return;
    }
    if (dims.empty()) return;
  }
}

// ---- activations, written independently of ops/activation.h ----

struct ActCase {
  std::string name;
  float alpha = 0, beta = 0, min = 0, max = 0;
};

double ref_act(const ActCase& a, double x) {
  if (a.name == "") return x;
  if (a.name == "Relu") return x < 0 ? 0 : x;
  if (a.name == "Clip") return std::min<double>(std::max<double>(x, a.min), a.max);
  if (a.name == "LeakyRelu") return x < 0 ? a.alpha * x : x;
  if (a.name == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (a.name == "HardSigmoid") return std::clamp(a.alpha * x + a.beta, 0.0, 1.0);
  if (a.name == "HardSwish") return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0);
  if (a.name == "Tanh") return std::tanh(x);
  ADD_FAILURE() << "unknown activation " << a.name;
  return x;
}

void set_act(Node& n, const ActCase& a) {
  if (a.name.empty()) return;
  n.attributes["sparseinfer_activation"] = Attribute::of_string(a.name);
  n.attributes["sparseinfer_alpha"] = Attribute::of_float(a.alpha);
  n.attributes["sparseinfer_beta"] = Attribute::of_float(a.beta);
  n.attributes["sparseinfer_min"] = Attribute::of_float(a.min);
  n.attributes["sparseinfer_max"] = Attribute::of_float(a.max);
}

// ---- Conv ----

struct ConvCase {
  Shape x;  // [N, C, spatial...]
  int64_t cout = 1;
  Ints kernel;
  int64_t group = 1;
  Ints strides, pads, dilations;  // empty: attribute omitted
  std::string auto_pad;           // empty: attribute omitted
  bool bias = true;
  ActCase act;
  bool kernel_attr = true;
};

std::string describe(const ConvCase& c) {
  std::string s = "x" + shape_str(c.x) + " cout " + std::to_string(c.cout) + " k" + shape_str(c.kernel) + " g" +
                  std::to_string(c.group) + " s" + shape_str(c.strides) + " p" + shape_str(c.pads) + " d" +
                  shape_str(c.dilations) + " " + c.auto_pad + " " + c.act.name;
  return s;
}

// Pads (begin then end) and output size straight from the ONNX Conv definition.
void conv_geometry(const ConvCase& c, Ints& pads, Ints& out) {
  const size_t r = c.kernel.size();
  pads.assign(2 * r, 0);
  out.assign(r, 0);
  for (size_t i = 0; i < r; ++i) {
    const int64_t in = c.x[2 + i];
    const int64_t s = c.strides.empty() ? 1 : c.strides[i];
    const int64_t d = c.dilations.empty() ? 1 : c.dilations[i];
    const int64_t eff = d * (c.kernel[i] - 1) + 1;
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
      out[i] = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + eff - in);
      pads[i] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[r + i] = total - pads[i];
    } else {
      if (!c.pads.empty() && c.auto_pad != "VALID") {
        pads[i] = c.pads[i];
        pads[r + i] = c.pads[r + i];
      }
      out[i] = (in + pads[i] + pads[r + i] - eff) / s + 1;
    }
  }
}

std::vector<double> ref_conv(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b, Shape& y_shape) {
  Ints pads, out;
  conv_geometry(c, pads, out);
  const size_t r = c.kernel.size();
  const int64_t n_b = c.x[0], cin = c.x[1], cin_g = cin / c.group, cout_g = c.cout / c.group;
  y_shape = {n_b, c.cout};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  const Ints xs = strides_of(x.shape()), ws = strides_of(w.shape());
  std::vector<double> y;
  for (int64_t n = 0; n < n_b; ++n)
    for (int64_t co = 0; co < c.cout; ++co)
      for_each_index(out, [&](const Ints& o) {
        const int64_t g = co / cout_g;
        double sum = b ? b->f32()[co] : 0.0;
        for (int64_t ci = 0; ci < cin_g; ++ci)
          for_each_index(c.kernel, [&](const Ints& k) {
            int64_t xi = n * xs[0] + (g * cin_g + ci) * xs[1];
            for (size_t d = 0; d < r; ++d) {
              const int64_t s = c.strides.empty() ? 1 : c.strides[d];
              const int64_t dil = c.dilations.empty() ? 1 : c.dilations[d];
              const int64_t pos = o[d] * s - pads[d] + k[d] * dil;
              if (pos < 0 || pos >= c.x[2 + d]) return;
              xi += pos * xs[2 + d];
            }
            int64_t wi = co * ws[0] + ci * ws[1];
            for (size_t d = 0; d < r; ++d) wi += k[d] * ws[2 + d];
            sum += static_cast<double>(x.f32()[xi]) * w.f32()[wi];
          });
        y.push_back(ref_act(c.act, sum));
      });
  return y;
}

void check_conv(const ConvCase& c, int threads = 2) {
  Node node = make_node("Conv", c.bias ? 3 : 2);
  if (c.kernel_attr) node.attributes["kernel_shape"] = Attribute::of_ints(c.kernel);
  if (c.group != 1) node.attributes["group"] = Attribute::of_int(c.group);
  if (!c.strides.empty()) node.attributes["strides"] = Attribute::of_ints(c.strides);
  if (!c.pads.empty()) node.attributes["pads"] = Attribute::of_ints(c.pads);
  if (!c.dilations.empty()) node.attributes["dilations"] = Attribute::of_ints(c.dilations);
  if (!c.auto_pad.empty()) node.attributes["auto_pad"] = Attribute::of_string(c.auto_pad);
  set_act(node, c.act);
  Tensor x = random_tensor(c.x, 1);
  Shape ws{c.cout, c.x[1] / c.group};
  ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
  Tensor w = random_tensor(ws, 2);
  Tensor b = random_tensor({c.cout}, 3);
  std::vector<const Tensor*> ins{&x, &w};
  if (c.bias) ins.push_back(&b);
  int64_t macs = 0;
  auto outs = run_op(node, ins, threads, &macs);
  Shape y_shape;
  auto want = ref_conv(c, x, w, c.bias ? &b : nullptr, y_shape);
  expect_close(outs[0], y_shape, want, describe(c));
  {
    // Weights that are not constant at plan time take the im2col + OpenBLAS path.
    OpInfo info{&node, 13, "test.onnx"};
    auto op = create_op(info);
    Tensor w_desc = Tensor::descriptor(DType::Float32, w.shape());
    std::vector<const Tensor*> plan_ins = ins;
    plan_ins[1] = &w_desc;
    auto descs = op->infer(plan_ins);
    Tensor y;
    y.allocate(descs[0].dtype(), descs[0].shape());
    Scratch scratch;
    ExecContext ctx{threads, &scratch};
    op->forward(ins, {&y}, ctx);
    expect_close(y, y_shape, want, describe(c) + " (weights not constant)");
  }
  EXPECT_EQ(macs, shape_numel(y_shape) * shape_numel(Shape(ws.begin() + 1, ws.end()))) << describe(c);
}

TEST(Conv, Grid2D) {
  for (int64_t group : {1, 2, 4})
    for (int64_t stride : {1, 2})
      for (Ints kernel : {Ints{1, 1}, Ints{3, 3}, Ints{2, 3}})
        for (int64_t dil : {1, 2})
          for (Ints pads : {Ints{}, Ints{1, 1, 1, 1}, Ints{0, 2, 1, 0}}) {
            ConvCase c;
            c.x = {2, 4, 9, 11};
            c.cout = 8;
            c.kernel = kernel;
            c.group = group;
            c.strides = {stride, stride};
            c.dilations = {dil, dil};
            c.pads = pads;
            check_conv(c);
          }
}

TEST(Conv, Depthwise) {
  for (int64_t mult : {1, 2})
    for (int64_t stride : {1, 2, 3})
      for (int64_t k : {3, 5, 9})  // 9x9 has more taps than the register kernel takes
        for (Ints pads : {Ints{1, 1, 1, 1}, Ints{2, 0, 0, 2}, Ints{}}) {
          ConvCase c;
          c.x = {1, 6, 13, 17};
          c.cout = 6 * mult;
          c.group = 6;
          c.kernel = {k, k};
          c.strides = {stride, stride};
          c.pads = pads;
          c.act = {"Relu"};
          check_conv(c);
          if (k == 9) continue;  // dilated 9x9 is taller than the input
          c.dilations = {2, 1};
          check_conv(c, 1);
        }
}

TEST(Conv, AutoPad) {
  for (std::string mode : {"SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"})
    for (int64_t stride : {1, 2})
      for (int64_t group : {1, 3}) {
        ConvCase c;
        c.x = {1, 3, 10, 7};
        c.cout = 6;
        c.kernel = {4, 3};
        c.group = group;
        c.strides = {stride, stride};
        c.auto_pad = mode;
        check_conv(c);
      }
}

TEST(Conv, FusedActivations) {
  for (ActCase act : {ActCase{"Relu"}, ActCase{"Clip", 0, 0, -0.5f, 0.7f}, ActCase{"LeakyRelu", 0.1f},
                      ActCase{"Sigmoid"}, ActCase{"HardSigmoid", 0.2f, 0.5f}, ActCase{"HardSwish"}, ActCase{"Tanh"}})
    for (int64_t group : {1, 5}) {
      ConvCase c;
      c.x = {1, 5, 8, 8};
      c.cout = 10;
      c.kernel = {3, 3};
      c.group = group;
      c.pads = {1, 1, 1, 1};
      c.act = act;
      check_conv(c);
      c.kernel = {1, 1};  // pointwise GEMM path
      c.pads = {};
      check_conv(c);
    }
}

TEST(Conv, OneAndThreeD) {
  ConvCase c;
  c.x = {2, 3, 20};
  c.cout = 4;
  c.kernel = {5};
  c.strides = {2};
  c.pads = {2, 1};
  c.dilations = {2};
  check_conv(c);
  c.group = 3;
  c.cout = 3;
  check_conv(c);
  ConvCase d;
  d.x = {1, 2, 5, 6, 7};
  d.cout = 4;
  d.kernel = {3, 2, 3};
  d.strides = {1, 2, 1};
  d.pads = {1, 0, 1, 0, 1, 2};
  d.act = {"Relu"};
  check_conv(d);
  d.group = 2;
  check_conv(d);
  d.auto_pad = "SAME_UPPER";
  d.pads = {};
  check_conv(d);
}

TEST(Conv, KernelFromWeightNoBiasAndManyTiles) {
  ConvCase c;
  c.x = {1, 3, 150, 160};  // enough output pixels for several im2col tiles per thread
  c.cout = 8;
  c.kernel = {3, 3};
  c.pads = {1, 1, 1, 1};
  c.bias = false;
  c.kernel_attr = false;
  check_conv(c);
  check_conv(c, 1);
  check_conv(c, 3);
  // Stride 2 over rows wider than one 32-pixel strip, with left/right padding.
  ConvCase s2;
  s2.x = {1, 3, 40, 101};
  s2.cout = 16;
  s2.kernel = {3, 3};
  s2.strides = {2, 2};
  s2.pads = {1, 1, 1, 1};
  s2.act = {"HardSwish"};
  check_conv(s2);
  s2.kernel = {7, 5};
  s2.pads = {3, 2, 3, 2};
  s2.dilations = {1, 2};
  check_conv(s2);
  s2.strides = {3, 3};
  check_conv(s2);
}

TEST(Conv, RejectsBadInputs) {
  Node node = make_node("Conv", 2);
  node.attributes["group"] = Attribute::of_int(3);
  Tensor x = random_tensor({1, 4, 5, 5}, 1);
  Tensor w = random_tensor({6, 2, 3, 3}, 2);
  OpInfo info{&node, 13, "bad.onnx"};
  auto op = create_op(info);
  EXPECT_THROW(op->infer({&x, &w}), ModelError);
  Tensor x6 = random_tensor({1, 2, 3, 3, 3, 3}, 1);
  Tensor w6 = random_tensor({2, 2, 1, 1, 1, 1}, 2);
  Node n2 = make_node("Conv", 2);
  OpInfo info2{&n2, 13, "bad.onnx"};
  try {
    create_op(info2)->infer({&x6, &w6});
    ADD_FAILURE() << "4-D convolution accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("3-D"), std::string::npos) << e.what();
  }
}

// ---- ConvTranspose ----

struct ConvTCase {
  Shape x;
  int64_t cout = 1;
  Ints kernel;
  int64_t group = 1;
  Ints strides, pads, dilations, output_padding, output_shape;
  std::string auto_pad;
  bool bias = true;
};

void check_conv_transpose(const ConvTCase& c) {
  Node node = make_node("ConvTranspose", c.bias ? 3 : 2);
  node.attributes["kernel_shape"] = Attribute::of_ints(c.kernel);
  if (c.group != 1) node.attributes["group"] = Attribute::of_int(c.group);
  if (!c.strides.empty()) node.attributes["strides"] = Attribute::of_ints(c.strides);
  if (!c.pads.empty()) node.attributes["pads"] = Attribute::of_ints(c.pads);
  if (!c.dilations.empty()) node.attributes["dilations"] = Attribute::of_ints(c.dilations);
  if (!c.output_padding.empty()) node.attributes["output_padding"] = Attribute::of_ints(c.output_padding);
  if (!c.output_shape.empty()) node.attributes["output_shape"] = Attribute::of_ints(c.output_shape);
  if (!c.auto_pad.empty()) node.attributes["auto_pad"] = Attribute::of_string(c.auto_pad);
  const size_t r = c.kernel.size();
  const int64_t cin = c.x[1], cin_g = cin / c.group, cout_g = c.cout / c.group;
  Tensor x = random_tensor(c.x, 4);
  Shape ws{cin, cout_g};
  ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
  Tensor w = random_tensor(ws, 5);
  Tensor b = random_tensor({c.cout}, 6);
  std::vector<const Tensor*> ins{&x, &w};
  if (c.bias) ins.push_back(&b);
  int64_t macs = 0;
  auto outs = run_op(node, ins, 2, &macs);

  // ONNX ConvTranspose: output size and pads.
  Ints out(r), pb(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t s = c.strides.empty() ? 1 : c.strides[i];
    const int64_t d = c.dilations.empty() ? 1 : c.dilations[i];
    const int64_t op = c.output_padding.empty() ? 0 : c.output_padding[i];
    const int64_t full = s * (c.x[2 + i] - 1) + op + (c.kernel[i] - 1) * d + 1;
    int64_t target = -1;
    if (!c.output_shape.empty())
      target = c.output_shape[c.output_shape.size() - r + i];
    else if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER")
      target = c.x[2 + i] * s;
    if (target >= 0) {
      const int64_t total = std::max<int64_t>(0, full - target);
      pb[i] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      out[i] = target;
    } else {
      pb[i] = c.pads.empty() ? 0 : c.pads[i];
      const int64_t pe = c.pads.empty() ? 0 : c.pads[r + i];
      out[i] = full - pb[i] - pe;
    }
  }
  Shape y_shape{c.x[0], c.cout};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  std::vector<double> y(static_cast<size_t>(shape_numel(y_shape)), 0.0);
  const Ints ys = strides_of(y_shape), xs = strides_of(c.x), wss = strides_of(ws);
  for (int64_t n = 0; n < c.x[0]; ++n)
    for (int64_t co = 0; co < c.cout; ++co)
      for_each_index(out, [&](const Ints& o) {
        int64_t yi = n * ys[0] + co * ys[1];
        for (size_t d = 0; d < r; ++d) yi += o[d] * ys[2 + d];
        y[yi] = c.bias ? b.f32()[co] : 0.0;
      });
  for (int64_t n = 0; n < c.x[0]; ++n)
    for (int64_t ci = 0; ci < cin; ++ci)
      for_each_index(Ints(c.x.begin() + 2, c.x.end()), [&](const Ints& i) {
        const int64_t g = ci / cin_g;
        int64_t xi = n * xs[0] + ci * xs[1];
        for (size_t d = 0; d < r; ++d) xi += i[d] * xs[2 + d];
        for (int64_t co = 0; co < cout_g; ++co)
          for_each_index(c.kernel, [&](const Ints& k) {
            int64_t yi = n * ys[0] + (g * cout_g + co) * ys[1];
            for (size_t d = 0; d < r; ++d) {
              const int64_t s = c.strides.empty() ? 1 : c.strides[d];
              const int64_t dil = c.dilations.empty() ? 1 : c.dilations[d];
              const int64_t pos = i[d] * s - pb[d] + k[d] * dil;
              if (pos < 0 || pos >= out[d]) return;
              yi += pos * ys[2 + d];
            }
            int64_t wi = ci * wss[0] + co * wss[1];
            for (size_t d = 0; d < r; ++d) wi += k[d] * wss[2 + d];
            y[yi] += static_cast<double>(x.f32()[xi]) * w.f32()[wi];
          });
      });
  expect_close(outs[0], y_shape, y, "ConvTranspose x" + shape_str(c.x) + " k" + shape_str(c.kernel));
  EXPECT_EQ(macs, x.numel() * shape_numel(Shape(ws.begin() + 1, ws.end())));
}

TEST(ConvTranspose, Grid) {
  for (int64_t group : {1, 2})
    for (int64_t stride : {1, 2, 3})
      for (Ints pads : {Ints{}, Ints{1, 0, 0, 1}})
        for (Ints opad : {Ints{}, Ints{1, 0}})
          for (int64_t dil : {1, 2}) {
            if (!opad.empty() && stride == 1 && dil == 1) continue;  // output_padding must be < stride or dilation
            ConvTCase c;
            c.x = {2, 4, 5, 6};
            c.cout = 6;
            c.kernel = {3, 2};
            c.group = group;
            c.strides = {stride, stride};
            c.pads = pads;
            c.output_padding = opad;
            c.dilations = {dil, dil};
            check_conv_transpose(c);
          }
}

TEST(ConvTranspose, OutputShapeAndAutoPad) {
  ConvTCase c;
  c.x = {1, 3, 4, 5};
  c.cout = 2;
  c.kernel = {3, 3};
  c.strides = {2, 2};
  c.output_shape = {9, 10};
  check_conv_transpose(c);
  c.output_shape = {1, 2, 8, 11};
  check_conv_transpose(c);
  c.output_shape = {10, 12};  // larger than the full output: the extra border gets only the bias
  check_conv_transpose(c);
  c.output_shape = {1, 2, 8, 11};
  c.auto_pad = "SAME_UPPER";
  check_conv_transpose(c);
  c.output_shape = {};
  check_conv_transpose(c);
  c.auto_pad = "SAME_LOWER";
  check_conv_transpose(c);
  ConvTCase d;  // 1-D, no bias
  d.x = {1, 2, 7};
  d.cout = 3;
  d.kernel = {4};
  d.strides = {3};
  d.bias = false;
  check_conv_transpose(d);
}

// ---- pools ----

struct PoolCase {
  Shape x;
  Ints kernel, strides, pads, dilations;
  std::string auto_pad;
  bool ceil_mode = false;
  bool count_include_pad = false;
  int64_t storage_order = 0;
};

// Output size and begin pads from the ONNX pool definition (with the rule
// that the last window must start inside the input or its begin padding).
void pool_geometry(const PoolCase& c, Ints& out, Ints& pb, Ints& pe) {
  const size_t r = c.kernel.size();
  out.assign(r, 0);
  pb.assign(r, 0);
  pe.assign(r, 0);
  for (size_t i = 0; i < r; ++i) {
    const int64_t in = c.x[2 + i];
    const int64_t s = c.strides.empty() ? 1 : c.strides[i];
    const int64_t d = c.dilations.empty() ? 1 : c.dilations[i];
    const int64_t eff = (c.kernel[i] - 1) * d + 1;
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
      out[i] = static_cast<int64_t>(std::ceil(double(in) / double(s)));
      const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + eff - in);
      pb[i] = c.auto_pad == "SAME_LOWER" ? (total + 1) / 2 : total / 2;
      pe[i] = total - pb[i];
      continue;
    }
    if (!c.pads.empty() && c.auto_pad != "VALID") {
      pb[i] = c.pads[i];
      pe[i] = c.pads[r + i];
    }
    const double span = double(in + pb[i] + pe[i] - eff) / double(s);
    out[i] = static_cast<int64_t>(c.ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
    if (c.ceil_mode && (out[i] - 1) * s >= in + pb[i]) --out[i];
  }
}

void set_pool_attrs(Node& node, const PoolCase& c) {
  node.attributes["kernel_shape"] = Attribute::of_ints(c.kernel);
  if (!c.strides.empty()) node.attributes["strides"] = Attribute::of_ints(c.strides);
  if (!c.pads.empty()) node.attributes["pads"] = Attribute::of_ints(c.pads);
  if (!c.dilations.empty()) node.attributes["dilations"] = Attribute::of_ints(c.dilations);
  if (!c.auto_pad.empty()) node.attributes["auto_pad"] = Attribute::of_string(c.auto_pad);
  if (c.ceil_mode) node.attributes["ceil_mode"] = Attribute::of_int(1);
  if (c.count_include_pad) node.attributes["count_include_pad"] = Attribute::of_int(1);
  if (c.storage_order) node.attributes["storage_order"] = Attribute::of_int(c.storage_order);
}

std::string describe(const PoolCase& c) {
  return "x" + shape_str(c.x) + " k" + shape_str(c.kernel) + " s" + shape_str(c.strides) + " p" + shape_str(c.pads) +
         " d" + shape_str(c.dilations) + " " + c.auto_pad + (c.ceil_mode ? " ceil" : "") +
         (c.count_include_pad ? " incl" : "") + " order" + std::to_string(c.storage_order);
}

void check_pool(const PoolCase& c, bool max, bool with_indices = true) {
  Node node = make_node(max ? "MaxPool" : "AveragePool", 1, max && with_indices ? 2 : 1);
  set_pool_attrs(node, c);
  Tensor x = random_tensor(c.x, 7);
  auto outs = run_op(node, {&x});
  Ints out, pb, pe;
  pool_geometry(c, out, pb, pe);
  const size_t r = c.kernel.size();
  Shape y_shape{c.x[0], c.x[1]};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  const Ints xs = strides_of(c.x);
  const Ints spatial(c.x.begin() + 2, c.x.end());
  std::vector<double> y;
  std::vector<int64_t> idx;
  for (int64_t n = 0; n < c.x[0]; ++n)
    for (int64_t ch = 0; ch < c.x[1]; ++ch)
      for_each_index(out, [&](const Ints& o) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
        int64_t best_at = -1, count = 0, count_padded = 0;
        for_each_index(c.kernel, [&](const Ints& k) {
          Ints pos(r);
          bool inside = true, inside_padded = true;
          for (size_t d = 0; d < r; ++d) {
            const int64_t s = c.strides.empty() ? 1 : c.strides[d];
            const int64_t dil = c.dilations.empty() ? 1 : c.dilations[d];
            pos[d] = o[d] * s - pb[d] + k[d] * dil;
            if (pos[d] < 0 || pos[d] >= spatial[d]) inside = false;
            if (pos[d] < -pb[d] || pos[d] >= spatial[d] + pe[d]) inside_padded = false;
          }
          count_padded += inside_padded;
          if (!inside) return;
          int64_t flat = 0;  // row-major spatial offset
          for (size_t d = 0; d < r; ++d) flat = flat * spatial[d] + pos[d];
          const double v = x.f32()[(n * c.x[1] + ch) * xs[1] + flat];
          ++count;
          sum += v;
          if (v > best) {
            best = v;
            // storage_order 1: column-major over the spatial dimensions.
            int64_t at = flat;
            if (c.storage_order == 1) {
              at = 0;
              for (size_t d = r; d-- > 0;) at = at * spatial[d] + pos[d];
            }
            best_at = (n * c.x[1] + ch) * xs[1] + at;
          }
        });
        if (max) {
          y.push_back(best);
          idx.push_back(best_at);
        } else {
          y.push_back(sum / double(c.count_include_pad ? count_padded : count));
        }
      });
  expect_close(outs[0], y_shape, y, std::string(max ? "MaxPool " : "AveragePool ") + describe(c));
  if (max && with_indices) {
    ASSERT_EQ(outs.size(), 2u);
    ASSERT_EQ(outs[1].dtype(), DType::Int64);
    for (size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(outs[1].i64()[i], idx[i]) << describe(c) << " index " << i;
  }
}

TEST(Pool, Grid2D) {
  for (Ints kernel : {Ints{2, 2}, Ints{3, 3}, Ints{3, 2}})
    for (int64_t stride : {1, 2, 3})
      for (Ints pads : {Ints{}, Ints{1, 1, 1, 1}, Ints{0, 1, 1, 0}})
        for (bool ceil_mode : {false, true})
          for (bool incl : {false, true}) {
            PoolCase c;
            c.x = {2, 3, 9, 10};
            c.kernel = kernel;
            c.strides = {stride, stride};
            c.pads = pads;
            c.ceil_mode = ceil_mode;
            c.count_include_pad = incl;
            check_pool(c, false);
            if (!incl) check_pool(c, true);
            if (!incl) check_pool(c, true, false);
          }
}

TEST(Pool, MaxDilationStorageOrderAutoPad) {
  for (int64_t order : {0, 1})
    for (Ints dil : {Ints{1, 1}, Ints{2, 1}, Ints{2, 2}}) {
      PoolCase c;
      c.x = {1, 2, 11, 8};
      c.kernel = {3, 2};
      c.strides = {2, 1};
      c.dilations = dil;
      c.pads = {1, 0, 1, 1};
      c.storage_order = order;
      check_pool(c, true);
      c.ceil_mode = true;
      check_pool(c, true);
    }
  for (std::string mode : {"SAME_UPPER", "SAME_LOWER", "VALID"})
    for (int64_t stride : {1, 2}) {
      PoolCase c;
      c.x = {1, 2, 7, 9};
      c.kernel = {3, 4};
      c.strides = {stride, stride};
      c.auto_pad = mode;
      check_pool(c, true);
      check_pool(c, false);
      c.count_include_pad = true;
      check_pool(c, false);
    }
}

TEST(Pool, OneAndThreeD) {
  PoolCase c;
  c.x = {2, 3, 13};
  c.kernel = {3};
  c.strides = {2};
  c.pads = {1, 1};
  check_pool(c, true);
  check_pool(c, false);
  PoolCase d;
  d.x = {1, 2, 5, 6, 7};
  d.kernel = {2, 3, 2};
  d.strides = {2, 1, 2};
  d.pads = {0, 1, 1, 1, 0, 0};
  d.ceil_mode = true;
  check_pool(d, true);
  d.storage_order = 1;
  check_pool(d, true);
  d.count_include_pad = true;
  check_pool(d, false);
}

TEST(Pool, Global) {
  for (bool max : {false, true})
    for (Shape s : {Shape{2, 3, 5, 7}, Shape{1, 4, 9}, Shape{1, 2, 300, 300}, Shape{1, 3, 2, 3, 4}}) {
      Node node = make_node(max ? "GlobalMaxPool" : "GlobalAveragePool", 1);
      Tensor x = random_tensor(s, 9);
      auto outs = run_op(node, {&x});
      const int64_t planes = s[0] * s[1], size = x.numel() / planes;
      std::vector<double> want;
      for (int64_t p = 0; p < planes; ++p) {
        double acc = max ? -1e30 : 0.0;
        for (int64_t i = 0; i < size; ++i)
          acc = max ? std::max<double>(acc, x.f32()[p * size + i]) : acc + x.f32()[p * size + i];
        want.push_back(max ? acc : acc / double(size));
      }
      Shape ys(s.size(), 1);
      ys[0] = s[0];
      ys[1] = s[1];
      expect_close(outs[0], ys, want, std::string(max ? "GlobalMaxPool " : "GlobalAveragePool ") + shape_str(s));
    }
}

TEST(Pool, MacsAreZeroAndBadKernelRejected) {
  Node node = make_node("MaxPool", 1);
  node.attributes["kernel_shape"] = Attribute::of_ints({2, 2});
  Tensor x = random_tensor({1, 1, 4, 4}, 1);
  OpInfo info{&node, 13, "t.onnx"};
  auto op = create_op(info);
  auto d = op->infer({&x});
  Tensor y;
  y.allocate(d[0].dtype(), d[0].shape());
  EXPECT_EQ(op->macs({&x}, {&y}), 0);
  Node bad = make_node("MaxPool", 1);
  bad.attributes["kernel_shape"] = Attribute::of_ints({2, 2, 2});
  OpInfo bad_info{&bad, 13, "t.onnx"};
  EXPECT_THROW(create_op(bad_info)->infer({&x}), ModelError);
}

// ---- Gemm ----

TEST(Gemm, TransposesAndBroadcastC) {
  const int64_t M = 5, N = 7, K = 6;
  for (int ta : {0, 1})
    for (int tb : {0, 1})
      for (Shape cs : {Shape{}, Shape{N}, Shape{1, N}, Shape{M, 1}, Shape{M, N}, Shape{1}})
        for (bool with_c : {true, false}) {
          if (!with_c && !cs.empty()) continue;
          Node node = make_node("Gemm", with_c ? 3 : 2);
          node.attributes["transA"] = Attribute::of_int(ta);
          node.attributes["transB"] = Attribute::of_int(tb);
          node.attributes["alpha"] = Attribute::of_float(0.7f);
          node.attributes["beta"] = Attribute::of_float(1.3f);
          set_act(node, {"LeakyRelu", 0.2f});
          Tensor a = random_tensor(ta ? Shape{K, M} : Shape{M, K}, 11);
          Tensor b = random_tensor(tb ? Shape{N, K} : Shape{K, N}, 12);
          Tensor c = random_tensor(cs, 13);
          std::vector<const Tensor*> ins{&a, &b};
          if (with_c) ins.push_back(&c);
          int64_t macs = 0;
          auto outs = run_op(node, ins, 2, &macs);
          std::vector<double> want;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double s = 0;
              for (int64_t k = 0; k < K; ++k)
                s += double(ta ? a.f32()[k * M + i] : a.f32()[i * K + k]) *
                     (tb ? b.f32()[j * K + k] : b.f32()[k * N + j]);
              s *= 0.7;
              if (with_c) {
                const int64_t ci = cs.size() == 2 ? (cs[0] == 1 ? 0 : i) : 0;
                const int64_t cj = cs.empty() || cs.back() == 1 ? 0 : j;
                const int64_t cols = cs.empty() ? 1 : cs.back();
                s += 1.3 * c.f32()[ci * cols + cj];
              }
              want.push_back(ref_act({"LeakyRelu", 0.2f}, s));
            }
          expect_close(outs[0], {M, N}, want,
                       "Gemm ta" + std::to_string(ta) + " tb" + std::to_string(tb) + " C" + shape_str(cs));
          EXPECT_EQ(macs, M * N * K);
        }
}

TEST(Gemm, RejectsMismatch) {
  Node node = make_node("Gemm", 2);
  Tensor a = random_tensor({3, 4}, 1), b = random_tensor({5, 2}, 2);
  OpInfo info{&node, 13, "t.onnx"};
  EXPECT_THROW(create_op(info)->infer({&a, &b}), ModelError);
  Node n3 = make_node("Gemm", 3);
  Tensor b2 = random_tensor({4, 2}, 2), c = random_tensor({3, 3}, 3);
  OpInfo info3{&n3, 13, "t.onnx"};
  EXPECT_THROW(create_op(info3)->infer({&a, &b2, &c}), ModelError);
}

// ---- MatMul ----

void check_matmul(const Shape& as, const Shape& bs, const Shape& ys) {
  Node node = make_node("MatMul", 2);
  Tensor a = random_tensor(as, 21), b = random_tensor(bs, 22);
  int64_t macs = 0;
  auto outs = run_op(node, {&a, &b}, 2, &macs);
  // numpy matmul: promote 1-D operands, broadcast the batch dimensions.
  Shape pa = as, pb = bs;
  if (pa.size() == 1) pa.insert(pa.begin(), 1);
  if (pb.size() == 1) pb.push_back(1);
  const int64_t M = pa[pa.size() - 2], K = pa.back(), N = pb.back();
  const size_t rank = std::max(pa.size(), pb.size()) - 2;
  Shape ab(rank, 1), bb(rank, 1), batch(rank, 1);
  for (size_t i = 0; i < pa.size() - 2; ++i) ab[rank - (pa.size() - 2) + i] = pa[i];
  for (size_t i = 0; i < pb.size() - 2; ++i) bb[rank - (pb.size() - 2) + i] = pb[i];
  for (size_t i = 0; i < rank; ++i) batch[i] = std::max(ab[i], bb[i]);
  std::vector<double> want;
  for_each_index(batch, [&](const Ints& bi) {
    int64_t ai = 0, bj = 0;
    for (size_t d = 0; d < rank; ++d) {
      ai = ai * ab[d] + (ab[d] == 1 ? 0 : bi[d]);
      bj = bj * bb[d] + (bb[d] == 1 ? 0 : bi[d]);
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(a.f32()[(ai * M + i) * K + k]) * b.f32()[(bj * K + k) * N + j];
        want.push_back(s);
      }
  });
  expect_close(outs[0], ys, want, "MatMul " + shape_str(as) + " x " + shape_str(bs));
  EXPECT_EQ(macs, shape_numel(batch) * M * N * K);
}

TEST(MatMul, NumpySemantics) {
  check_matmul({3, 4}, {4, 5}, {3, 5});
  check_matmul({4}, {4, 5}, {5});
  check_matmul({3, 4}, {4}, {3});
  check_matmul({4}, {4}, {});
  check_matmul({2, 3, 4}, {4, 5}, {2, 3, 5});
  check_matmul({3, 4}, {2, 4, 5}, {2, 3, 5});
  check_matmul({2, 1, 3, 4}, {3, 4, 5}, {2, 3, 3, 5});
  check_matmul({2, 3, 4}, {4}, {2, 3});
  check_matmul({4}, {2, 4, 5}, {2, 5});
  Node node = make_node("MatMul", 2);
  Tensor a = random_tensor({2, 3, 4}, 1), b = random_tensor({3, 4, 5}, 2);
  OpInfo info{&node, 13, "t.onnx"};
  EXPECT_THROW(create_op(info)->infer({&a, &b}), ModelError);
}

}  // namespace

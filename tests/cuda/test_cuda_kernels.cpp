// The CUDA kernels of kernels/ against the CPU kernels of core/cpu/ they
// mirror (exact flags, indices and copies; float results within 1e-5
// relative), and CudaChangeConv over frames against the CPU dense Conv.
// Without a CUDA device every test is skipped, visibly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cpu/change_conv.h"
#include "cpu/change_eltwise.h"
#include "cpu/change_pool.h"
#include "cpu/sgemm.h"
#include "cuda_change.h"
#include "ops/activation.h"
#include "ops/change_set.h"
#include "ops/conv_geometry.h"
#include "ops/op.h"

using namespace sparseinfer;
namespace cu = sparseinfer::cuda;

namespace {

bool g_has_device = false;

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_has_device) GTEST_SKIP() << "no CUDA device";
    ctx_ = std::make_unique<cu::CudaContext>(0);
  }
  cu::CudaContext& ctx() { return *ctx_; }

  template <typename T>
  cu::DeviceBuffer<T> upload(const std::vector<T>& host) {
    cu::DeviceBuffer<T> d(std::max<size_t>(host.size(), 1));
    d.upload(host.data(), host.size(), ctx());
    return d;
  }
  template <typename T>
  std::vector<T> download(const T* d, size_t count) {
    std::vector<T> host(count);
    cu::copy_to_host(host.data(), d, count * sizeof(T), ctx());
    return host;
  }

 private:
  std::unique_ptr<cu::CudaContext> ctx_;
};

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Sorted random subset of [0, n) with about `fraction` of the indices.
std::vector<int32_t> random_pixels(int64_t n, double fraction, uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution pick(fraction);
  std::vector<int32_t> v;
  for (int64_t i = 0; i < n; ++i)
    if (pick(rng)) v.push_back(static_cast<int32_t>(i));
  return v;
}

// Largest |a - b| / max(1, |b|) over the elements.
double max_rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    double d = std::fabs(static_cast<double>(a[i]) - b[i]) / std::max(1.0, std::fabs(static_cast<double>(b[i])));
    if (!(d <= worst)) worst = d;  // NaN counts as worst
  }
  return worst;
}

constexpr double kTolerance = 1e-5;

struct ConvCase {
  int64_t batch, cin, h, w, cout, kh, kw, stride, pad_t, pad_l, pad_b, pad_r, dilation, group;
  Activation act;
};

Activation make_act(ActivationKind kind, float alpha = 0.0f, float beta = 0.0f, float lo = 0.0f, float hi = 0.0f) {
  Activation a;
  a.kind = kind;
  a.alpha = alpha;
  a.beta = beta;
  a.min = lo;
  a.max = hi;
  return a;
}

std::vector<ConvCase> conv_cases() {
  return {
      {1, 8, 17, 19, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, make_act(ActivationKind::Relu)},
      {2, 6, 16, 15, 10, 3, 3, 2, 1, 1, 0, 1, 1, 1, make_act(ActivationKind::Clip, 0, 0, 0.0f, 6.0f)},
      {1, 4, 20, 18, 8, 5, 5, 1, 4, 4, 4, 4, 2, 1, make_act(ActivationKind::LeakyRelu, 0.1f)},
      {1, 8, 13, 14, 12, 3, 1, 1, 1, 0, 1, 0, 1, 2, make_act(ActivationKind::Sigmoid)},
      {1, 12, 15, 16, 12, 3, 3, 1, 1, 1, 1, 1, 1, 12, make_act(ActivationKind::HardSwish)},
      {2, 16, 9, 11, 24, 1, 1, 1, 0, 0, 0, 0, 1, 1, make_act(ActivationKind::HardSigmoid, 0.2f, 0.5f)},
      {1, 3, 32, 30, 8, 7, 7, 2, 3, 3, 3, 3, 1, 1, make_act(ActivationKind::Tanh)},
  };
}

Node conv_node(const ConvCase& c) {
  Node n;
  n.name = "conv_test";
  n.op_type = "Conv";
  n.inputs = {"x", "w", "b"};
  n.outputs = {"y"};
  n.attributes["kernel_shape"] = Attribute::of_ints({c.kh, c.kw});
  n.attributes["strides"] = Attribute::of_ints({c.stride, c.stride});
  n.attributes["pads"] = Attribute::of_ints({c.pad_t, c.pad_l, c.pad_b, c.pad_r});
  n.attributes["dilations"] = Attribute::of_ints({c.dilation, c.dilation});
  n.attributes["group"] = Attribute::of_int(c.group);
  if (c.act.kind != ActivationKind::None) set_fused_activation(n, c.act);
  return n;
}

ConvGeometry geometry_of(const ConvCase& c) {
  return resolve_window_2d(conv_node(c), Shape{c.batch, c.cin, c.h, c.w}, c.cout, c.kh, c.kw, c.group);
}

// Weights scaled like a trained layer's (about 1/sqrt(fan-in)) so outputs stay O(1).
std::vector<float> conv_weights(const ConvGeometry& g, uint32_t seed) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(g.patch_size()));
  return random_floats(static_cast<size_t>(g.out_channels * g.patch_size()), seed, -scale, scale);
}

// The CPU dense Conv operator (core/ops/conv.cpp) on one input.
class CpuConv {
 public:
  CpuConv(const ConvCase& c, const std::vector<float>& w, const std::vector<float>& b)
      : node_(conv_node(c)),
        w_(Tensor::from_f32({c.cout, c.cin / c.group, c.kh, c.kw}, w)),
        b_(Tensor::from_f32({c.cout}, b)),
        x_shape_{c.batch, c.cin, c.h, c.w} {
    OpInfo info{&node_, 13, "test"};
    op_ = create_op(info);
    Tensor x = Tensor::descriptor(DType::Float32, x_shape_);
    std::vector<Tensor> outs = op_->infer({&x, &w_, &b_});
    y_shape_ = outs[0].shape();
  }
  std::vector<float> run(const std::vector<float>& input) {
    Tensor x = Tensor::from_f32(x_shape_, input);
    Tensor y(DType::Float32, y_shape_);
    Scratch scratch;
    ExecContext ctx{2, &scratch};
    op_->forward({&x, &w_, &b_}, {&y}, ctx);
    return std::vector<float>(y.f32(), y.f32() + y.numel());
  }
  const Shape& output_shape() const { return y_shape_; }

 private:
  Node node_;
  Tensor w_, b_;
  Shape x_shape_, y_shape_;
  std::unique_ptr<Op> op_;
};

// Input state equal to the input except for a random subset of pixels, some
// changed above `threshold` in one channel, some below it.
struct DetectData {
  std::vector<float> input, state;
};
DetectData detect_data(int64_t batch, int64_t channels, int64_t hw, float threshold, uint32_t seed) {
  DetectData d;
  d.input = random_floats(static_cast<size_t>(batch * channels * hw), seed);
  d.state = d.input;
  std::mt19937 rng(seed + 1);
  std::uniform_int_distribution<int64_t> pixel(0, batch * hw - 1), channel(0, channels - 1);
  std::uniform_real_distribution<float> big(threshold * 1.5f + 0.01f, 1.0f), small(0.0f, threshold * 0.9f);
  for (int i = 0; i < static_cast<int>(batch * hw / 8); ++i) {
    const int64_t p = pixel(rng), n = p / hw, q = p % hw, c = channel(rng);
    d.state[static_cast<size_t>((n * channels + c) * hw + q)] += (i % 2 ? big(rng) : -small(rng));
  }
  return d;
}

}  // namespace

TEST_F(Cuda, DetectChangesEveryPixel) {
  const int64_t batch = 2, channels = 7, h = 23, w = 29, hw = h * w;
  for (float threshold : {0.0f, 0.05f, 0.3f}) {
    DetectData d = detect_data(batch, channels, hw, threshold, 11);
    std::vector<float> cpu_state = d.state;
    std::vector<uint8_t> cpu_flags;
    ChangeSet all;
    detect_changes(d.input.data(), cpu_state.data(), batch, channels, h, w, all, threshold, cpu_flags, 2);

    auto input = upload(d.input), state = upload(d.state);
    cu::DeviceBuffer<uint8_t> flags(static_cast<size_t>(batch * hw));
    cu::detect_changes(ctx(), input.data(), state.data(), batch, channels, h, w, nullptr, 0, threshold, flags.data());
    EXPECT_EQ(download(flags.data(), cpu_flags.size()), cpu_flags) << "threshold " << threshold;
    EXPECT_EQ(download(state.data(), cpu_state.size()), cpu_state) << "threshold " << threshold;
  }
}

TEST_F(Cuda, DetectChangesAtCandidates) {
  const int64_t batch = 1, channels = 5, h = 31, w = 17, hw = h * w;
  const float threshold = 0.1f;
  DetectData d = detect_data(batch, channels, hw, threshold, 21);
  ChangeSet candidates;
  candidates.kind = ChangeSet::Kind::Pixels;
  candidates.batch = batch;
  candidates.height = h;
  candidates.width = w;
  candidates.pixels = random_pixels(batch * hw, 0.4, 22);
  std::vector<float> cpu_state = d.state;
  std::vector<uint8_t> cpu_flags(static_cast<size_t>(batch * hw), 0);
  detect_changes(d.input.data(), cpu_state.data(), batch, channels, h, w, candidates, threshold, cpu_flags, 1);

  auto input = upload(d.input), state = upload(d.state);
  auto cand = upload(candidates.pixels);
  cu::DeviceBuffer<uint8_t> flags(static_cast<size_t>(batch * hw));
  // Stale ones in the flag map must be cleared by the kernel.
  std::vector<uint8_t> ones(static_cast<size_t>(batch * hw), 1);
  flags.upload(ones.data(), ones.size(), ctx());
  cu::detect_changes(ctx(), input.data(), state.data(), batch, channels, h, w, cand.data(),
                     static_cast<int64_t>(candidates.pixels.size()), threshold, flags.data());
  EXPECT_EQ(download(flags.data(), cpu_flags.size()), cpu_flags);
  EXPECT_EQ(download(state.data(), cpu_state.size()), cpu_state);
}

TEST_F(Cuda, ExtractIndices) {
  for (double fraction : {0.0, 0.01, 0.3, 1.0}) {
    const int64_t n = 3 * 97 * 101;
    std::vector<uint8_t> flags(static_cast<size_t>(n), 0);
    for (int32_t p : random_pixels(n, fraction, 31)) flags[static_cast<size_t>(p)] = 1;
    auto d_flags = upload(flags);
    cu::DeviceBuffer<int32_t> indices(static_cast<size_t>(n)), count(1);
    cu::IndexExtractor extractor;
    extractor.select(ctx(), d_flags.data(), n, indices.data(), count.data());
    const int32_t got_count = download(count.data(), 1)[0];
    ChangeSet cpu;
    extract_changes(flags, cpu);
    ASSERT_EQ(static_cast<size_t>(got_count), cpu.pixels.size()) << "fraction " << fraction;
    EXPECT_EQ(download(indices.data(), static_cast<size_t>(got_count)), cpu.pixels) << "fraction " << fraction;
  }
}

TEST_F(Cuda, MarkAffectedOutputs) {
  for (const ConvCase& c : conv_cases()) {
    const ConvGeometry g = geometry_of(c);
    const int64_t in_grid = g.batch * g.in_h * g.in_w, out_grid = g.batch * g.out_h * g.out_w;
    for (double fraction : {0.002, 0.05}) {
      ChangeSet changed;
      changed.kind = ChangeSet::Kind::Pixels;
      changed.batch = g.batch;
      changed.height = g.in_h;
      changed.width = g.in_w;
      changed.pixels = random_pixels(in_grid, fraction, 41);
      std::vector<uint8_t> cpu_out(static_cast<size_t>(out_grid), 0);
      mark_affected_outputs(changed, g, cpu_out);

      std::vector<uint8_t> in_flags(static_cast<size_t>(in_grid), 0);
      for (int32_t p : changed.pixels) in_flags[static_cast<size_t>(p)] = 1;
      auto d_in = upload(in_flags);
      cu::DeviceBuffer<uint8_t> d_out(static_cast<size_t>(out_grid));
      cu::mark_affected_outputs(ctx(), d_in.data(), g, d_out.data());
      EXPECT_EQ(download(d_out.data(), cpu_out.size()), cpu_out)
          << "kernel " << c.kh << "x" << c.kw << " stride " << c.stride << " dilation " << c.dilation;
    }
  }
}

TEST_F(Cuda, GatherPatches) {
  for (const ConvCase& c : conv_cases()) {
    const ConvGeometry g = geometry_of(c);
    const int64_t k = g.patch_size();
    const auto input = random_floats(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w), 51);
    const auto pixels = random_pixels(g.batch * g.out_h * g.out_w, 0.3, 52);
    const int64_t n = static_cast<int64_t>(pixels.size());
    auto d_input = upload(input);
    auto d_pixels = upload(pixels);
    cu::DeviceBuffer<float> d_patches(static_cast<size_t>(n * k));
    for (int64_t grp = 0; grp < g.group; ++grp) {
      std::vector<float> cpu(static_cast<size_t>(n * k));
      gather_patches(input.data(), g, grp, pixels.data(), n, cpu.data(), 2);
      cu::gather_patches(ctx(), d_input.data(), g, grp, d_pixels.data(), n, d_patches.data());
      EXPECT_EQ(download(d_patches.data(), cpu.size()), cpu) << "group " << grp << " kernel " << c.kh << "x" << c.kw;
    }
  }
}

TEST_F(Cuda, GemmAndScatter) {
  for (const ConvCase& c : conv_cases()) {
    const ConvGeometry g = geometry_of(c);
    if (g.is_depthwise()) continue;
    const int64_t k = g.patch_size(), cout_g = g.out_channels / g.group;
    const auto input = random_floats(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w), 61);
    const auto weights = conv_weights(g, 62);
    const auto bias = random_floats(static_cast<size_t>(g.out_channels), 63);
    const auto pixels = random_pixels(g.batch * g.out_h * g.out_w, 0.25, 64);
    const int64_t n = static_cast<int64_t>(pixels.size());
    const auto previous = random_floats(static_cast<size_t>(g.batch * g.out_channels * g.out_h * g.out_w), 65);
    std::vector<float> cpu_out = previous;
    auto d_input = upload(input), d_weights = upload(weights), d_bias = upload(bias), d_out = upload(previous);
    auto d_pixels = upload(pixels);
    cu::DeviceBuffer<float> d_patches(static_cast<size_t>(n * k)), d_y(static_cast<size_t>(n * cout_g));
    for (int64_t grp = 0; grp < g.group; ++grp) {
      std::vector<float> patches(static_cast<size_t>(n * k)), y(static_cast<size_t>(n * cout_g));
      gather_patches(input.data(), g, grp, pixels.data(), n, patches.data(), 2);
      sgemm(false, true, cout_g, n, k, 1.0f, weights.data() + grp * cout_g * k, k, patches.data(), k, 0.0f, y.data(), n,
            2);
      scatter_outputs(y.data(), bias.data(), c.act, g, grp, pixels.data(), n, cpu_out.data(), 2);

      cu::gather_patches(ctx(), d_input.data(), g, grp, d_pixels.data(), n, d_patches.data());
      cu::gemm_weights_patches(ctx(), cout_g, n, k, d_weights.data() + grp * cout_g * k, d_patches.data(), d_y.data());
      EXPECT_LE(max_rel_error(download(d_y.data(), y.size()), y), kTolerance) << "GEMM, group " << grp;
      // Scatter on the CPU's own Y, so the update is checked apart from the GEMM.
      auto d_check = upload(previous), d_cpu_y = upload(y);
      std::vector<float> cpu_check = previous;
      scatter_outputs(y.data(), bias.data(), c.act, g, grp, pixels.data(), n, cpu_check.data(), 1);
      cu::scatter_outputs(ctx(), d_cpu_y.data(), d_bias.data(), c.act, g, grp, d_pixels.data(), n, d_check.data());
      EXPECT_LE(max_rel_error(download(d_check.data(), cpu_check.size()), cpu_check), kTolerance)
          << "scatter, group " << grp;
      cu::scatter_outputs(ctx(), d_y.data(), d_bias.data(), c.act, g, grp, d_pixels.data(), n, d_out.data());
    }
    EXPECT_LE(max_rel_error(download(d_out.data(), cpu_out.size()), cpu_out), kTolerance)
        << "kernel " << c.kh << "x" << c.kw << " group " << c.group;
  }
}

TEST_F(Cuda, GemmHalfPrecision) {
  const ConvCase c = conv_cases()[0];
  const ConvGeometry g = geometry_of(c);
  const int64_t k = g.patch_size(), cout = g.out_channels;
  const auto input = random_floats(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w), 71);
  const auto weights = conv_weights(g, 72);
  const auto pixels = random_pixels(g.batch * g.out_h * g.out_w, 0.5, 73);
  const int64_t n = static_cast<int64_t>(pixels.size());
  std::vector<float> patches(static_cast<size_t>(n * k)), y(static_cast<size_t>(n * cout));
  gather_patches(input.data(), g, 0, pixels.data(), n, patches.data(), 2);
  sgemm(false, true, cout, n, k, 1.0f, weights.data(), k, patches.data(), k, 0.0f, y.data(), n, 2);

  auto d_input = upload(input), d_weights = upload(weights);
  auto d_pixels = upload(pixels);
  cu::DeviceBuffer<uint16_t> w16(static_cast<size_t>(cout * k)), p16(static_cast<size_t>(n * k));
  cu::DeviceBuffer<float> d_y(static_cast<size_t>(n * cout));
  cu::convert_to_f16(ctx(), d_weights.data(), cout * k, w16.data());
  cu::gather_patches_f16(ctx(), d_input.data(), g, 0, d_pixels.data(), n, p16.data());
  cu::gemm_weights_patches_f16(ctx(), cout, n, k, w16.data(), p16.data(), d_y.data());
  const double err = max_rel_error(download(d_y.data(), y.size()), y);
  std::printf("fp16 tensor-core GEMM (K=%lld): max error %.3g relative to max(1,|y|)\n", static_cast<long long>(k),
              err);
  // fp16 inputs carry 11 significant bits: errors of a few 1e-3 are expected, 1e-2 is not.
  EXPECT_LE(err, 1e-2);
}

TEST_F(Cuda, DepthwiseAtPixels) {
  const ConvCase c = conv_cases()[4];
  const ConvGeometry g = geometry_of(c);
  ASSERT_TRUE(g.is_depthwise());
  const auto input = random_floats(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w), 81);
  const auto weights = conv_weights(g, 82);
  const auto bias = random_floats(static_cast<size_t>(g.out_channels), 83);
  const auto pixels = random_pixels(g.batch * g.out_h * g.out_w, 0.3, 84);
  const auto previous = random_floats(static_cast<size_t>(g.batch * g.out_channels * g.out_h * g.out_w), 85);
  std::vector<float> cpu = previous;
  depthwise_at_pixels(input.data(), weights.data(), bias.data(), c.act, g, pixels.data(),
                      static_cast<int64_t>(pixels.size()), cpu.data(), 2);
  auto d_input = upload(input), d_weights = upload(weights), d_bias = upload(bias), d_out = upload(previous);
  auto d_pixels = upload(pixels);
  cu::depthwise_at_pixels(ctx(), d_input.data(), d_weights.data(), d_bias.data(), c.act, g, d_pixels.data(),
                          static_cast<int64_t>(pixels.size()), d_out.data());
  EXPECT_LE(max_rel_error(download(d_out.data(), cpu.size()), cpu), kTolerance);
}

TEST_F(Cuda, PoolAtPixels) {
  struct PoolCase {
    int64_t k, stride, pad_t, pad_b;
    PoolKind kind;
    bool count_include_pad;
  };
  const PoolCase cases[] = {{2, 2, 0, 0, PoolKind::Max, false},
                            {3, 2, 1, 1, PoolKind::Max, false},
                            {3, 1, 1, 1, PoolKind::Average, false},
                            {3, 2, 1, 1, PoolKind::Average, true},
                            {2, 2, 0, 1, PoolKind::Average, true}};
  for (const PoolCase& pc : cases) {
    ConvGeometry g;
    g.batch = 2;
    g.in_channels = g.out_channels = 6;
    g.in_h = 15;
    g.in_w = 14;
    g.kernel_h = g.kernel_w = pc.k;
    g.stride_h = g.stride_w = pc.stride;
    g.pad_top = g.pad_left = pc.pad_t;
    g.pad_bottom = g.pad_right = pc.pad_b;
    g.out_h = (g.in_h + pc.pad_t + pc.pad_b - pc.k) / pc.stride + 1;
    g.out_w = (g.in_w + pc.pad_t + pc.pad_b - pc.k) / pc.stride + 1;
    const auto input = random_floats(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w), 91);
    const auto pixels = random_pixels(g.batch * g.out_h * g.out_w, 0.4, 92);
    const auto previous = random_floats(static_cast<size_t>(g.batch * g.out_channels * g.out_h * g.out_w), 93);
    std::vector<float> cpu = previous;
    pool_at_pixels(input.data(), pc.kind, pc.count_include_pad, g, pixels.data(), static_cast<int64_t>(pixels.size()),
                   cpu.data(), 2);
    auto d_input = upload(input), d_out = upload(previous);
    auto d_pixels = upload(pixels);
    cu::pool_at_pixels(ctx(), d_input.data(), pc.kind, pc.count_include_pad, g, d_pixels.data(),
                       static_cast<int64_t>(pixels.size()), d_out.data());
    EXPECT_LE(max_rel_error(download(d_out.data(), cpu.size()), cpu), kTolerance)
        << "kernel " << pc.k << " stride " << pc.stride << " pads " << pc.pad_t << "," << pc.pad_b;
  }
}

TEST_F(Cuda, EltwiseAtPixels) {
  const int64_t out[4] = {2, 5, 9, 11};
  const int64_t numel = out[0] * out[1] * out[2] * out[3];
  const auto a = random_floats(static_cast<size_t>(numel), 101);
  const auto b_full = random_floats(static_cast<size_t>(numel), 102, 0.5f, 2.0f);
  const auto b_channel = random_floats(5, 103, 0.5f, 2.0f);
  const auto pixels = random_pixels(out[0] * out[2] * out[3], 0.3, 104);
  const auto previous = random_floats(static_cast<size_t>(numel), 105);
  auto d_a = upload(a), d_full = upload(b_full), d_channel = upload(b_channel);
  auto d_pixels = upload(pixels);
  const int64_t full_shape[4] = {2, 5, 9, 11}, channel_shape[3] = {5, 1, 1};
  struct Case {
    EltwiseOp op;
    Activation act;
    bool per_channel;
  };
  const Case cases[] = {{EltwiseOp::Activation, make_act(ActivationKind::Relu), false},
                        {EltwiseOp::Activation, make_act(ActivationKind::HardSwish), false},
                        {EltwiseOp::Activation, make_act(ActivationKind::Tanh), false},
                        {EltwiseOp::Add, {}, false},
                        {EltwiseOp::Sub, {}, true},
                        {EltwiseOp::Mul, {}, true},
                        {EltwiseOp::Div, {}, false},
                        {EltwiseOp::PRelu, {}, true}};
  for (const Case& c : cases) {
    const BroadcastOperand ha = broadcast_operand(a.data(), full_shape, 4, out);
    const BroadcastOperand hb = c.per_channel ? broadcast_operand(b_channel.data(), channel_shape, 3, out)
                                              : broadcast_operand(b_full.data(), full_shape, 4, out);
    std::vector<float> cpu = previous;
    eltwise_at_pixels(c.op, c.act, ha, c.op == EltwiseOp::Activation ? BroadcastOperand{} : hb, out, pixels.data(),
                      static_cast<int64_t>(pixels.size()), cpu.data(), 1);
    BroadcastOperand da = ha, db = hb;
    da.data = d_a.data();
    db.data = c.per_channel ? d_channel.data() : d_full.data();
    auto d_out = upload(previous);
    cu::eltwise_at_pixels(ctx(), c.op, c.act, da, c.op == EltwiseOp::Activation ? BroadcastOperand{} : db, out,
                          d_pixels.data(), static_cast<int64_t>(pixels.size()), d_out.data());
    EXPECT_LE(max_rel_error(download(d_out.data(), cpu.size()), cpu), kTolerance) << "op " << static_cast<int>(c.op);
  }
}

TEST_F(Cuda, DenseConvMatchesCpuConv) {
  for (const ConvCase& c : conv_cases()) {
    const ConvGeometry g = geometry_of(c);
    const auto weights = conv_weights(g, 111);
    const auto bias = random_floats(static_cast<size_t>(g.out_channels), 112);
    const auto input = random_floats(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w), 113);
    CpuConv cpu(c, weights, bias);
    const auto expected = cpu.run(input);
    auto d_input = upload(input), d_weights = upload(weights), d_bias = upload(bias);
    cu::DeviceBuffer<float> d_out(expected.size());
    // A small tile so the tiling itself is exercised.
    cu::CudaDenseConv dense(g, 4096);
    dense.run(ctx(), d_input.data(), d_weights.data(), d_bias.data(), c.act, d_out.data());
    EXPECT_LE(max_rel_error(download(d_out.data(), expected.size()), expected), kTolerance)
        << "kernel " << c.kh << "x" << c.kw << " stride " << c.stride << " group " << c.group;
  }
}

// A frame sequence in which a moving rectangle changes and the rest stays
// bit-identical, as in a static-camera video.
std::vector<float> next_frame(const std::vector<float>& frame, int64_t batch, int64_t channels, int64_t h, int64_t w,
                              int step, uint32_t seed) {
  std::vector<float> f = frame;
  std::mt19937 rng(seed + static_cast<uint32_t>(step));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t y0 = (step * 3) % h, x0 = (step * 5) % w, rh = std::min<int64_t>(4, h - y0),
                rw = std::min<int64_t>(6, w - x0);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = y0; y < y0 + rh; ++y)
        for (int64_t x = x0; x < x0 + rw; ++x) f[static_cast<size_t>(((n * channels + c) * h + y) * w + x)] = dist(rng);
  if (step % 4 == 3) f = random_floats(f.size(), seed * 7 + static_cast<uint32_t>(step));  // a scene cut
  return f;
}

TEST_F(Cuda, ChangeConvAtThresholdZeroMatchesDenseCpuConv) {
  for (bool fp16 : {false, true}) {
    for (const ConvCase& c : conv_cases()) {
      const ConvGeometry g = geometry_of(c);
      const auto weights = conv_weights(g, 121);
      const auto bias = random_floats(static_cast<size_t>(g.out_channels), 122);
      CpuConv cpu(c, weights, bias);
      cu::CudaChangeConvOptions options;
      options.fp16 = fp16;
      cu::CudaChangeConv layer(ctx(), g, weights.data(), bias.data(), c.act, options);
      auto frame = random_floats(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w), 123);
      cu::DeviceBuffer<float> d_frame(frame.size());
      double worst = 0.0;
      for (int step = 0; step < 8; ++step) {
        if (step > 0) frame = next_frame(frame, g.batch, g.in_channels, g.in_h, g.in_w, step, 124);
        d_frame.upload(frame.data(), frame.size(), ctx());
        layer.run(d_frame.data(), nullptr, 0, 0.0f);
        const auto expected = cpu.run(frame);
        const double err = max_rel_error(download(layer.output(), expected.size()), expected);
        worst = std::max(worst, err);
        if (!fp16) {
          EXPECT_LE(err, kTolerance) << "frame " << step << " kernel " << c.kh << "x" << c.kw << " group " << c.group;
          if (g.is_pointwise()) continue;
          EXPECT_EQ(download(layer.input_state(), frame.size()), frame) << "closed-loop state at threshold 0";
        }
      }
      if (fp16) {
        std::printf("CudaChangeConv fp16, kernel %lldx%lld group %lld: max error %.3g over 8 frames\n",
                    static_cast<long long>(c.kh), static_cast<long long>(c.kw), static_cast<long long>(c.group), worst);
        EXPECT_LE(worst, 2e-2);
      }
    }
  }
}

// The whole GPU pipeline at a threshold above zero against the CPU kernels
// strung together the way core/engine/change_conv_kernel.cpp does.
TEST_F(Cuda, ChangeConvFollowsCpuPipeline) {
  const float threshold = 0.2f;
  for (const ConvCase& c : conv_cases()) {
    const ConvGeometry g = geometry_of(c);
    if (g.is_pointwise()) continue;
    const auto weights = conv_weights(g, 131);
    const auto bias = random_floats(static_cast<size_t>(g.out_channels), 132);
    CpuConv cpu(c, weights, bias);
    cu::CudaChangeConv layer(ctx(), g, weights.data(), bias.data(), c.act);
    const int64_t in_hw = g.in_h * g.in_w;
    auto frame = random_floats(static_cast<size_t>(g.batch * g.in_channels * in_hw), 133);
    std::vector<float> state = frame, output = cpu.run(frame);
    cu::DeviceBuffer<float> d_frame(frame.size());
    d_frame.upload(frame.data(), frame.size(), ctx());
    layer.run(d_frame.data(), nullptr, 0, threshold);
    std::vector<float> base = frame;
    for (int step = 1; step < 6; ++step) {
      // A changed rectangle, plus fresh noise everywhere that stays below the threshold.
      base = next_frame(base, g.batch, g.in_channels, g.in_h, g.in_w, step % 3, 134 + 10 * static_cast<uint32_t>(step));
      const auto noise = random_floats(base.size(), 135 + static_cast<uint32_t>(step), -0.05f, 0.05f);
      for (size_t i = 0; i < base.size(); ++i) frame[i] = base[i] + noise[i];
      d_frame.upload(frame.data(), frame.size(), ctx());
      layer.run(d_frame.data(), nullptr, 0, threshold);

      std::vector<uint8_t> flags;
      ChangeSet all, changed, affected;
      detect_changes(frame.data(), state.data(), g.batch, g.in_channels, g.in_h, g.in_w, all, threshold, flags, 2);
      changed.batch = g.batch;
      changed.height = g.in_h;
      changed.width = g.in_w;
      extract_changes(flags, changed);
      std::vector<uint8_t> out_flags(static_cast<size_t>(g.batch * g.out_h * g.out_w), 0);
      mark_affected_outputs(changed, g, out_flags);
      affected.batch = g.batch;
      affected.height = g.out_h;
      affected.width = g.out_w;
      extract_changes(out_flags, affected);
      ASSERT_FALSE(layer.all_changed()) << "the change should be sparse";
      EXPECT_EQ(layer.input_changed_count(), static_cast<int>(changed.pixels.size()));
      ASSERT_EQ(layer.changed_count(), static_cast<int>(affected.pixels.size()));
      EXPECT_EQ(download(layer.changed_pixels(), affected.pixels.size()), affected.pixels);
      EXPECT_EQ(download(layer.input_state(), state.size()), state);
      // Recomputed pixels take conv(state); the others keep last frame's output.
      const auto dense_on_state = cpu.run(state);
      const int64_t out_hw = g.out_h * g.out_w;
      for (int32_t p : affected.pixels)
        for (int64_t oc = 0; oc < g.out_channels; ++oc) {
          const size_t i = static_cast<size_t>((p / out_hw * g.out_channels + oc) * out_hw + p % out_hw);
          output[i] = dense_on_state[i];
        }
      EXPECT_LE(max_rel_error(download(layer.output(), output.size()), output), kTolerance) << "frame " << step;
      const cu::CudaStageTimes t = layer.stage_times();
      EXPECT_GE(t.detect_ms, 0.0);
      EXPECT_GT(t.detect_ms + t.extract_ms + t.gather_ms + t.gemm_ms + t.update_ms, 0.0);
    }
  }
}

// The changed-pixel list of one layer fed as candidates to the next, with a
// 1x1 layer that reuses the indexes (CBinfer §III-E).
TEST_F(Cuda, ChangeConvChainWithCandidates) {
  const ConvCase first{1, 4, 24, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, make_act(ActivationKind::Relu)};
  const ConvCase second{1, 8, 24, 20, 6, 1, 1, 1, 0, 0, 0, 0, 1, 1, make_act(ActivationKind::None)};
  const ConvCase third{1, 6, 24, 20, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, make_act(ActivationKind::Relu)};
  const ConvGeometry g1 = geometry_of(first), g2 = geometry_of(second), g3 = geometry_of(third);
  const auto w1 = conv_weights(g1, 141), w2 = conv_weights(g2, 142), w3 = conv_weights(g3, 143);
  const auto b1 = random_floats(8, 144), b2 = random_floats(6, 145), b3 = random_floats(5, 146);
  CpuConv c1(first, w1, b1), c2(second, w2, b2), c3(third, w3, b3);
  cu::CudaChangeConv l1(ctx(), g1, w1.data(), b1.data(), first.act), l2(ctx(), g2, w2.data(), b2.data(), second.act),
      l3(ctx(), g3, w3.data(), b3.data(), third.act);
  auto frame = random_floats(static_cast<size_t>(4 * 24 * 20), 147);
  cu::DeviceBuffer<float> d_frame(frame.size());
  for (int step = 0; step < 6; ++step) {
    if (step > 0) frame = next_frame(frame, 1, 4, 24, 20, step, 148);
    d_frame.upload(frame.data(), frame.size(), ctx());
    l1.run(d_frame.data(), nullptr, 0, 0.0f);
    l2.run(l1.output(), l1.all_changed() ? nullptr : l1.changed_pixels(), l1.changed_count(), 0.0f);
    l3.run(l2.output(), l2.all_changed() ? nullptr : l2.changed_pixels(), l2.changed_count(), 0.0f);
    const auto expected = c3.run(c2.run(c1.run(frame)));
    EXPECT_LE(max_rel_error(download(l3.output(), expected.size()), expected), 4 * kTolerance) << "frame " << step;
  }
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string why;
  g_has_device = cu::device_count(&why) > 0;
  if (!g_has_device)
    std::printf("no CUDA device: %d GPU tests skipped (%s)\n", ::testing::UnitTest::GetInstance()->total_test_count(),
                why.c_str());
  const int result = RUN_ALL_TESTS();
  // 77 tells meson the test was skipped, so the summary shows it.
  return result == 0 && !g_has_device ? 77 : result;
}

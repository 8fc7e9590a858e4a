// The policy net's hand-written backward pass against central finite
// differences of its own forward pass (double-checked in
// tests/reference/policy_torch_reference.py against PyTorch autograd).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "policy/policy_net.h"
#include "sparseinfer/error.h"

using sparseinfer::policy::PolicyNet;
using sparseinfer::policy::PolicyNetConfig;

namespace {

// loss = sum_b c_b * logit_b: its gradient w.r.t. the logits is c.
double weighted_logit_sum(PolicyNet& net, const std::vector<float>& input, int h, int w, const std::vector<float>& c) {
  const std::vector<float>& logits = net.forward(input.data(), h, w);
  double s = 0;
  for (size_t i = 0; i < logits.size(); ++i) s += double(c[i]) * logits[i];
  return s;
}

}  // namespace

TEST(PolicyNet, OneLogitPerEightInputPixels) {
  PolicyNetConfig config;
  config.input_channels = 8;
  PolicyNet net(config, 1);
  std::vector<float> input(8 * 144 * 192, 0.25f);
  const std::vector<float>& logits = net.forward(input.data(), 144, 192);
  EXPECT_EQ(net.grid_height(), 18);
  EXPECT_EQ(net.grid_width(), 24);
  EXPECT_EQ(logits.size(), 18u * 24u);
}

TEST(PolicyNet, RefusesSizesThatAreNotMultiplesOfTheStride) {
  PolicyNet net(PolicyNetConfig{}, 1);
  std::vector<float> input(8 * 20 * 20, 0.f);
  EXPECT_THROW(net.forward(input.data(), 20, 20), sparseinfer::Error);
  EXPECT_THROW(net.backward(input.data()), sparseinfer::Error);  // no forward yet
}

TEST(PolicyNet, GradientsMatchFiniteDifferences) {
  PolicyNetConfig config;
  config.input_channels = 5;
  config.widths = {4, 6, 5};
  PolicyNet net(config, 7);
  const int h = 16, w = 24;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<float> input(size_t(config.input_channels) * h * w);
  for (float& v : input) v = uniform(rng);
  // Full-size weights (the net starts its residual branches and head small)
  // so the logits are O(1) and float rounding stays far below the differences.
  for (const auto& conv : net.convs()) {
    std::normal_distribution<float> normal(0.f, std::sqrt(2.f / float(conv.cin * conv.kernel * conv.kernel)));
    for (int64_t k = 0; k < conv.weight_count(); ++k) net.parameters()[conv.weight_offset + k] = normal(rng);
    for (int o = 0; o < conv.cout; ++o) net.parameters()[conv.bias_offset + o] = 0.1f * uniform(rng);
  }
  const std::vector<float> logits = net.forward(input.data(), h, w);
  std::vector<float> c(logits.size());
  for (float& v : c) v = uniform(rng);
  net.zero_gradients();
  net.forward(input.data(), h, w);
  net.backward(c.data());
  const std::vector<float> analytic = net.gradients();

  // Every bias and a spread of weights of every layer.
  std::vector<size_t> checked;
  for (const auto& conv : net.convs()) {
    for (int o = 0; o < conv.cout; ++o) checked.push_back(size_t(conv.bias_offset + o));
    const int64_t n = conv.weight_count();
    for (int k = 0; k < 12; ++k) checked.push_back(size_t(conv.weight_offset + (k * 7919) % n));
  }
  double scale = 0;
  for (size_t i : checked) scale = std::max(scale, double(std::fabs(analytic[i])));
  const float eps = 1e-3f;
  int bad = 0;
  double worst = 0;
  std::vector<double> errors;
  for (size_t i : checked) {
    float& p = net.parameters()[i];
    const float saved = p;
    p = saved + eps;
    const double up = weighted_logit_sum(net, input, h, w, c);
    p = saved - eps;
    const double down = weighted_logit_sum(net, input, h, w, c);
    p = saved;
    const double numeric = (up - down) / (2.0 * eps);
    // Relative to the pair, with a floor at 1e-3 of the largest gradient.
    const double error =
        std::fabs(numeric - analytic[i]) / std::max(1e-3 * scale, std::fabs(numeric) + std::fabs(analytic[i]));
    worst = std::max(worst, error);
    errors.push_back(error);
    if (error > 2e-2) {
      ++bad;
      std::printf("parameter %zu: analytic %.6g, finite difference %.6g\n", i, analytic[i], numeric);
    }
  }
  // Float32 differences are noisy and a ReLU kink inside [-eps, eps] spoils
  // a few; a wrong backward pass is off by O(1) on most parameters. The
  // exact check is tests/reference/policy_torch_reference.py.
  std::sort(errors.begin(), errors.end());
  const double median = errors[errors.size() / 2];
  std::printf("checked %zu parameters: median relative error %.2e, worst %.2e, %d above 2e-2\n", checked.size(), median,
              worst, bad);
  EXPECT_LT(median, 2e-3);
  EXPECT_LE(bad, int(checked.size() / 20));
  EXPECT_GT(scale, 1e-2);  // an all-zero gradient would pass trivially
}

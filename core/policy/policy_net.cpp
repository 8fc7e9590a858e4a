#include "policy/policy_net.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "cpu/im2col.h"
#include "cpu/sgemm.h"
#include "sparseinfer/error.h"

namespace sparseinfer::policy {

namespace {

// Indexes of the convolutions in convs_ (see the layout in the header).
enum ConvIndex { kStem, kRes0a, kRes0b, kDown1, kRes1a, kRes1b, kDown2, kRes2a, kRes2b, kHead, kConvCount };

void relu_in_place(std::vector<float>& v) {
  for (float& x : v) x = x > 0.f ? x : 0.f;
}

// g *= (activation > 0): the ReLU's backward, given its output.
void relu_backward(const std::vector<float>& activation, std::vector<float>& g) {
  for (size_t i = 0; i < g.size(); ++i)
    if (!(activation[i] > 0.f)) g[i] = 0.f;
}

}  // namespace

PolicyNet::PolicyNet(const PolicyNetConfig& config, uint64_t seed) : config_(config) {
  if (config.input_channels < 1) throw Error("policy net: input_channels must be at least 1");
  for (int w : config.widths)
    if (w < 1) throw Error("policy net: every stage width must be at least 1");
  const int w0 = config.widths[0], w1 = config.widths[1], w2 = config.widths[2];
  const std::array<std::array<int, 5>, kConvCount> shapes{{
      // cin, cout, kernel, stride, pad
      {config.input_channels, w0, 3, 2, 1},
      {w0, w0, 3, 1, 1},
      {w0, w0, 3, 1, 1},
      {w0, w1, 3, 2, 1},
      {w1, w1, 3, 1, 1},
      {w1, w1, 3, 1, 1},
      {w1, w2, 3, 2, 1},
      {w2, w2, 3, 1, 1},
      {w2, w2, 3, 1, 1},
      {w2, 1, 1, 1, 0},
  }};
  int64_t offset = 0;
  for (const auto& s : shapes) {
    PolicyConv c;
    c.cin = s[0];
    c.cout = s[1];
    c.kernel = s[2];
    c.stride = s[3];
    c.pad = s[4];
    c.weight_offset = offset;
    offset += c.weight_count();
    c.bias_offset = offset;
    offset += c.cout;
    convs_.push_back(c);
  }
  params_.assign(offset, 0.f);
  grads_.assign(offset, 0.f);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < convs_.size(); ++i) {
    const PolicyConv& c = convs_[i];
    const double fan_in = double(c.cin) * c.kernel * c.kernel;
    // He init for layers followed by ReLU; the second conv of a residual
    // block and the head start smaller, so the untrained net is close to
    // identity blocks and gives probabilities near 0.5.
    const bool damped = i == kRes0b || i == kRes1b || i == kRes2b || i == kHead;
    std::normal_distribution<double> normal(0.0, std::sqrt(2.0 / fan_in) * (damped ? 0.1 : 1.0));
    for (int64_t k = 0; k < c.weight_count(); ++k) params_[c.weight_offset + k] = float(normal(rng));
  }
  acts_.resize(convs_.size());
}

void PolicyNet::zero_gradients() {
  std::fill(grads_.begin(), grads_.end(), 0.f);
}

void PolicyNet::conv_forward(int index, const float* input, int h, int w) {
  const PolicyConv& c = convs_[index];
  Activation& a = acts_[index];
  Window& win = a.window;
  win = Window{};
  win.in = {1, h, w};
  win.kernel = {1, c.kernel, c.kernel};
  win.stride = {1, c.stride, c.stride};
  win.pad_begin = {0, c.pad, c.pad};
  win.pad_end = {0, c.pad, c.pad};
  win.out = {1, (h + 2 * c.pad - c.kernel) / c.stride + 1, (w + 2 * c.pad - c.kernel) / c.stride + 1};
  const int64_t P = win.out_size(), K = int64_t(c.cin) * c.kernel * c.kernel;
  a.col.resize(K * P);
  im2col_tile(input, c.cin, win, 0, P, a.col.data(), P);
  a.output.resize(int64_t(c.cout) * P);
  const float* bias = params_.data() + c.bias_offset;
  for (int o = 0; o < c.cout; ++o) std::fill_n(a.output.data() + o * P, P, bias[o]);
  sgemm(false, false, c.cout, P, K, 1.f, params_.data() + c.weight_offset, K, a.col.data(), P, 1.f, a.output.data(), P,
        threads_);
}

void PolicyNet::conv_backward(int index, const float* dout, float* din) {
  const PolicyConv& c = convs_[index];
  Activation& a = acts_[index];
  const int64_t P = a.window.out_size(), K = int64_t(c.cin) * c.kernel * c.kernel;
  // dW += dout [cout, P] * col^T [P, K]
  sgemm(false, true, c.cout, K, P, 1.f, dout, P, a.col.data(), P, 1.f, grads_.data() + c.weight_offset, K, threads_);
  float* dbias = grads_.data() + c.bias_offset;
  for (int o = 0; o < c.cout; ++o) {
    double sum = 0.0;
    for (int64_t p = 0; p < P; ++p) sum += dout[o * P + p];
    dbias[o] += float(sum);
  }
  if (din == nullptr) return;
  // dcol [K, P] = W^T [K, cout] * dout [cout, P], scattered back to the input.
  dcol_.resize(K * P);
  sgemm(true, false, K, P, c.cout, 1.f, params_.data() + c.weight_offset, K, dout, P, 0.f, dcol_.data(), P, threads_);
  col2im_add(dcol_.data(), 0, c.cin, a.window, din);
}

const std::vector<float>& PolicyNet::forward(const float* input, int height, int width) {
  if (height <= 0 || width <= 0 || height % kStride != 0 || width % kStride != 0)
    throw Error("policy net: input " + std::to_string(width) + "x" + std::to_string(height) +
                " is not a positive multiple of " + std::to_string(kStride) + " in both dimensions");
  in_h_ = height;
  in_w_ = width;
  int h = height, w = width;
  const float* x = input;
  // Three stages of [strided conv, ReLU, residual block].
  for (int stage = 0; stage < 3; ++stage) {
    const int down = stage * 3, ra = down + 1, rb = down + 2;
    conv_forward(down, x, h, w);
    relu_in_place(acts_[down].output);
    h = int(acts_[down].window.out[1]);
    w = int(acts_[down].window.out[2]);
    conv_forward(ra, acts_[down].output.data(), h, w);
    relu_in_place(acts_[ra].output);
    conv_forward(rb, acts_[ra].output.data(), h, w);
    std::vector<float>& out = acts_[rb].output;
    const std::vector<float>& skip = acts_[down].output;
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::max(out[i] + skip[i], 0.f);
    x = out.data();
  }
  conv_forward(kHead, x, h, w);
  grid_h_ = h;
  grid_w_ = w;
  logits_ = acts_[kHead].output;
  return logits_;
}

void PolicyNet::backward(const float* dlogits) {
  if (logits_.empty()) throw Error("policy net: backward() before forward()");
  // Gradient at the output of the last residual block.
  std::vector<float> g(acts_[kRes2b].output.size(), 0.f);
  conv_backward(kHead, dlogits, g.data());
  for (int stage = 2; stage >= 0; --stage) {
    const int down = stage * 3, ra = down + 1, rb = down + 2;
    relu_backward(acts_[rb].output, g);  // g: at the residual sum
    std::vector<float> g_down = g;       // the identity path
    std::vector<float> g_ra(acts_[ra].output.size(), 0.f);
    conv_backward(rb, g.data(), g_ra.data());
    relu_backward(acts_[ra].output, g_ra);
    conv_backward(ra, g_ra.data(), g_down.data());
    relu_backward(acts_[down].output, g_down);
    std::vector<float> g_in;
    if (stage > 0) g_in.assign(acts_[down - 1].output.size(), 0.f);
    conv_backward(down, g_down.data(), stage > 0 ? g_in.data() : nullptr);
    g = std::move(g_in);
  }
}

}  // namespace sparseinfer::policy

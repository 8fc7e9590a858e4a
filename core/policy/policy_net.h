// The BlockCopy policy network (BlockCopy §3.3, Fig. 4): a small ResNet over
// the policy input S_t = {I_t, H_{t-1}, O_{t-1}, A_{t-1}} at 1/4 of the frame
// resolution, giving one execution logit per block. Forward and backward are
// written by hand (im2col + SGEMM), so the policy trains online in C++
// without PyTorch at run time.
//
// Layout, every conv 3x3 with bias unless noted, NCHW float:
//   stem   conv stride 2, C_in -> w0, ReLU
//   res0   [conv w0->w0, ReLU, conv w0->w0] + identity, ReLU
//   down1  conv stride 2, w0 -> w1, ReLU
//   res1   residual block at w1
//   down2  conv stride 2, w1 -> w2, ReLU
//   res2   residual block at w2
//   head   conv 1x1, w2 -> 1 (the logit)
// Total stride 8: with 32-pixel blocks and a 1/4-resolution input, one
// logit per block. No batch norm: the net trains on single frames online,
// where batch statistics of one frame would be noise.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ops/window.h"

namespace sparseinfer::policy {

struct PolicyNetConfig {
  int input_channels = 8;                // 3 frame + 3 frame state + k output + 1 grid
  std::array<int, 3> widths{8, 16, 32};  // channels of the three stages
};

// One convolution's geometry and where its weights [cout, cin*k*k] and bias
// [cout] sit in the flat parameter vector.
struct PolicyConv {
  int cin = 0, cout = 0, kernel = 3, stride = 1, pad = 1;
  int64_t weight_offset = 0, bias_offset = 0;
  int64_t weight_count() const { return int64_t(cout) * cin * kernel * kernel; }
};

class PolicyNet {
 public:
  static constexpr int kStride = 8;  // input pixels per logit

  // He-normal weights from `seed`, zero biases.
  PolicyNet(const PolicyNetConfig& config, uint64_t seed);

  const PolicyNetConfig& config() const { return config_; }
  const std::vector<PolicyConv>& convs() const { return convs_; }

  // input: [input_channels, height, width]; height and width multiples of
  // kStride. Returns the logits [height/8 * width/8], row-major. Keeps the
  // activations for backward().
  const std::vector<float>& forward(const float* input, int height, int width);

  // Adds to gradients() the gradient of a loss whose derivative with respect
  // to the logits of the last forward() is dlogits.
  void backward(const float* dlogits);

  std::vector<float>& parameters() { return params_; }
  const std::vector<float>& parameters() const { return params_; }
  std::vector<float>& gradients() { return grads_; }
  void zero_gradients();

  int grid_height() const { return grid_h_; }
  int grid_width() const { return grid_w_; }

  // Threads for the SGEMMs (the policy runs beside the task network).
  void set_threads(int threads) { threads_ = threads < 1 ? 1 : threads; }

 private:
  // One executed convolution of the last forward: its geometry, column
  // matrix (kept for backward) and output.
  struct Activation {
    Window window;
    std::vector<float> col;
    std::vector<float> output;
  };
  void conv_forward(int index, const float* input, int h, int w);
  // dout: gradient at conv `index`'s output; adds to din when non-null.
  void conv_backward(int index, const float* dout, float* din);

  PolicyNetConfig config_;
  std::vector<PolicyConv> convs_;
  std::vector<float> params_, grads_;
  std::vector<Activation> acts_;
  std::vector<float> logits_;
  std::vector<float> dcol_;  // backward scratch
  int in_h_ = 0, in_w_ = 0, grid_h_ = 0, grid_w_ = 0;
  int threads_ = 1;
};

}  // namespace sparseinfer::policy

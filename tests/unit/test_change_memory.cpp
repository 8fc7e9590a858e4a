// What a change-mode stream holds between frames, against the dense engine's
// activations (every intermediate tensor, CBinfer §III-B): the stored outputs,
// the closed-loop input states (§III-C) and the scratch must stay within 1.6x
// of them at every resolution, 4K included (issue 14, point 4). Two frames: a
// dense one and a partly changed one, which sizes the change sets and the
// fallback scratch.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"

using namespace sparseinfer;

namespace {

const char* kModelsDir = SPARSEINFER_MODELS_DIR;
constexpr double kMaxStateRatio = 1.6;  // issue 14

// A smooth frame, then the same frame with its top third changed.
std::vector<Tensor> two_frames(int64_t width, int64_t height) {
  Tensor first(DType::Float32, {1, 3, height, width});
  float* x = first.f32();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < height; ++y)
      for (int64_t i = 0; i < width; ++i)
        x[(c * height + y) * width + i] = static_cast<float>((i * 7 + y * 3 + c * 11) % 97) / 97.0f - 0.5f;
  Tensor second = first;
  float* z = second.f32();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < height / 3; ++y)
      for (int64_t i = 0; i < width; ++i) z[(c * height + y) * width + i] += 0.25f;
  std::vector<Tensor> frames;
  frames.push_back(std::move(first));
  frames.push_back(std::move(second));
  return frames;
}

void expect_state_within_bound(const std::string& name, int64_t width, int64_t height) {
  Model model = load_model(std::string(kModelsDir) + "/" + name + ".onnx");
  EngineOptions o;
  o.mode = Mode::Change;
  o.input_shapes = {{1, 3, height, width}};
  Engine engine(model, o);
  auto stream = engine.new_stream();
  stream->set_all_thresholds(0.0f);
  const double dense = static_cast<double>(engine.dense_activation_bytes());
  for (const Tensor& frame : two_frames(width, height)) {
    engine.run(*stream, {&frame});
    const double ratio = static_cast<double>(stream->state_bytes()) / dense;
    std::printf("%s %lldx%lld: state %zu B, dense activations %.0f B, ratio %.3f\n", name.c_str(),
                static_cast<long long>(width), static_cast<long long>(height), stream->state_bytes(), dense, ratio);
    EXPECT_LE(ratio, kMaxStateRatio) << name << " at " << width << "x" << height << ": state " << stream->state_bytes()
                                     << " B, dense activations " << dense << " B";
  }
}

}  // namespace

TEST(ChangeMemory, SegnetSmallStateWithinBound) {
  expect_state_within_bound("segnet_small", 384, 288);
  expect_state_within_bound("segnet_small", 3840, 2160);
}

TEST(ChangeMemory, PersonNetworkStateWithinBound) {
  expect_state_within_bound("cbinfer_personlabel", 384, 288);
  expect_state_within_bound("cbinfer_personlabel", 3840, 2160);
}

// Block mode (BlockCopy §3.1) against the dense engine: with every block
// executed through the block kernels the outputs equal dense on the real
// pretrained networks and the CBinfer person network; with no block
// executed the outputs stay those of the last frame (feature transfer); the
// change gate executes exactly the blocks whose input moved (closed loop).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "engine/block/block_gate.h"
#include "output_error.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"

using namespace sparseinfer;

namespace {

const char* kModelsDir = SPARSEINFER_MODELS_DIR;
const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

// vtest frames `first` and `first + step`, scaled as the model's description says.
std::vector<Tensor> vtest_pair(int width, int height, float scale, float offset) {
  std::vector<Tensor> frames;
  cv::VideoCapture cap(kVtest);
  if (!cap.isOpened()) return frames;
  cv::Mat bgr;
  PreprocessOptions pre;
  pre.width = width;
  pre.height = height;
  for (int i = 0; i < 40 && cap.read(bgr); ++i) {
    if (i != 0 && i != 39) continue;
    Tensor t;
    preprocess_frame(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step), PixelFormat::BGR, pre, t);
    for (int64_t k = 0; k < t.numel(); ++k) t.f32()[k] = t.f32()[k] * scale + offset;
    frames.push_back(std::move(t));
  }
  return frames;
}

double relative_error(const std::vector<const Tensor*>& ref, const std::vector<const Tensor*>& got) {
  return range_relative_error(ref, got, 1e-6);
}

// A gate with a fixed answer, to drive the executor through its block path.
class FixedGate : public BlockGate {
 public:
  explicit FixedGate(uint8_t value) : value_(value) {}
  void decide(const BlockGateInput&, BlockGrid& grid) override {
    std::fill(grid.execute.begin(), grid.execute.end(), value_);
    ++decisions;
  }
  int decisions = 0;

 private:
  uint8_t value_;
};

EngineOptions options(Mode mode, const Tensor& frame, int block) {
  EngineOptions o;
  o.mode = mode;
  o.input_shapes = {frame.shape()};
  o.block_size = block;
  o.threads = 2;
  return o;
}

struct Case {
  std::string file;
  int width, height;
  float scale, offset;  // preprocessing: x * scale + offset on [0, 1] pixels
};

std::vector<Case> cases() {
  return {
      {"pretrained/ssdlite_mbv2_pedestrian_dyn.onnx", 384, 288, 2.0f, -1.0f},
      {"pretrained/ssdlite_mbv2_pedestrian_300.onnx", 300, 300, 2.0f, -1.0f},
      {"pretrained/mp_selfie_segmentation_dyn.onnx", 384, 288, 1.0f, 0.0f},
      {"pretrained/mp_selfie_segmentation.onnx", 256, 256, 1.0f, 0.0f},
      {"cbinfer_personlabel.onnx", 384, 288, 1.0f, 0.0f},
  };
}

void expect_all_blocks_equal_dense(const Case& c, int block) {
  SCOPED_TRACE(c.file + " block " + std::to_string(block));
  std::vector<Tensor> frames = vtest_pair(c.width, c.height, c.scale, c.offset);
  ASSERT_EQ(frames.size(), 2u) << "cannot read " << kVtest;
  Model model = load_model(std::string(kModelsDir) + "/" + c.file);
  Engine dense(model, options(Mode::Dense, frames[0], block));
  Engine blocked(model, options(Mode::Block, frames[0], block));
  auto ds = dense.new_stream(), bs = blocked.new_stream();
  auto all = std::make_shared<FixedGate>(1);
  bs->set_block_gate(all);
  // The bound is 1e-5, or, where the network amplifies float rounding beyond
  // that, three times what the dense engine itself moves between 1 and 2 threads on
  // the same frame (GEMMs of other widths round differently). On AVX2 the dense
  // engine's convolutions take the packed implicit GEMM while block mode's take
  // im2col + SGEMM, which sum in another order: the selfie segmenter's sigmoid
  // output moves 1.7e-5..3.9e-5 between the two, so it gets 5e-5. A halo or
  // transfer error is orders of magnitude larger.
  EngineOptions one_thread = options(Mode::Dense, frames[0], block);
  one_thread.threads = 1;
  Engine dense1(model, one_thread);
  auto d1s = dense1.new_stream();
  for (const Tensor& f : frames) {
    FrameResult d = dense.run(*ds, {&f});
    FrameResult d1 = dense1.run(*d1s, {&f});
    FrameResult b = blocked.run(*bs, {&f});
    const double noise = relative_error(d.outputs, d1.outputs);
    EXPECT_DOUBLE_EQ(b.executed_fraction, 1.0);
    const double bound = c.file.find("selfie") != std::string::npos ? 5e-5 : 1e-5;
    EXPECT_LE(relative_error(d.outputs, b.outputs), std::max(bound, 3 * noise)) << "dense thread noise " << noise;
  }
  // The second frame went through the gate and the block kernels, not the dense start.
  EXPECT_EQ(all->decisions, 1);
}

}  // namespace

TEST(BlockEngine, EveryBlockExecutedEqualsDense) {
  for (const Case& c : cases()) expect_all_blocks_equal_dense(c, 32);
}

TEST(BlockEngine, EveryBlockExecutedEqualsDenseAtOtherBlockSizes) {
  for (int block : {16, 64}) {
    expect_all_blocks_equal_dense(cases()[0], block);
    expect_all_blocks_equal_dense(cases()[2], block);
  }
}

TEST(BlockEngine, NoBlockExecutedKeepsTheFirstFrameOutputs) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.file);
    std::vector<Tensor> frames = vtest_pair(c.width, c.height, c.scale, c.offset);
    ASSERT_EQ(frames.size(), 2u) << "cannot read " << kVtest;
    Model model = load_model(std::string(kModelsDir) + "/" + c.file);
    Engine blocked(model, options(Mode::Block, frames[0], 32));
    auto bs = blocked.new_stream();
    bs->set_block_gate(std::make_shared<FixedGate>(0));
    FrameResult first = blocked.run(*bs, {&frames[0]});
    std::vector<Tensor> kept;
    for (const Tensor* t : first.outputs) kept.push_back(*t);
    std::vector<const Tensor*> kept_ptrs;
    for (const Tensor& t : kept) kept_ptrs.push_back(&t);
    FrameResult next = blocked.run(*bs, {&frames[1]});
    EXPECT_DOUBLE_EQ(next.executed_fraction, 0.0);
    EXPECT_EQ(next.macs_executed, 0);
    EXPECT_EQ(relative_error(kept_ptrs, next.outputs), 0.0);
    // After a reset the first frame is computed in full again.
    bs->reset();
    FrameResult again = blocked.run(*bs, {&frames[1]});
    EXPECT_TRUE(again.dense_frame);
    EXPECT_DOUBLE_EQ(again.executed_fraction, 1.0);
  }
}

TEST(BlockEngine, ChangeGateExecutesTheBlocksThatMoved) {
  Model model = load_model(std::string(kModelsDir) + "/cbinfer_personlabel.onnx");
  const int w = 128, h = 96, block = 32;
  Tensor base(DType::Float32, {1, 3, h, w});
  for (int64_t i = 0; i < base.numel(); ++i) base.f32()[i] = static_cast<float>((i * 7919) % 101) / 101.0f;
  Engine dense(model, options(Mode::Dense, base, block));
  Engine blocked(model, options(Mode::Block, base, block));
  auto bs = blocked.new_stream(), ds = dense.new_stream();
  bs->set_all_thresholds(0.1f);
  EXPECT_EQ(blocked.threshold_layers(), std::vector<std::string>{"block_change_gate"});
  FrameResult r0 = blocked.run(*bs, {&base});
  EXPECT_TRUE(r0.dense_frame);
  EXPECT_EQ(r0.grid_rows, 3);
  EXPECT_EQ(r0.grid_cols, 4);
  // The same frame again: nothing runs.
  FrameResult r1 = blocked.run(*bs, {&base});
  EXPECT_DOUBLE_EQ(r1.executed_fraction, 0.0);
  // A change of 0.05 (below the threshold) in block (0, 0) and one of 0.5 in block (2, 3).
  Tensor moved = base;
  moved.f32()[5 * w + 5] += 0.05f;
  moved.f32()[(2 * h + 70) * w + 100] += 0.5f;
  FrameResult r2 = blocked.run(*bs, {&moved});
  std::vector<uint8_t> want(12, 0);
  want[2 * 4 + 3] = 1;
  EXPECT_EQ(r2.block_grid, want);
  // Closed loop: the sub-threshold change of block (0, 0) accumulates against
  // the last executed input and fires once it passes the threshold.
  Tensor drift = moved;
  drift.f32()[5 * w + 5] += 0.06f;
  FrameResult r3 = blocked.run(*bs, {&drift});
  want.assign(12, 0);
  want[0] = 1;
  EXPECT_EQ(r3.block_grid, want);
  // With a threshold of 0 every change executes, and the output is dense's wherever the
  // receptive fields stay inside the executed blocks; here every block changes.
  bs->set_all_thresholds(0.0f);
  Tensor all = drift;
  for (int64_t i = 0; i < all.numel(); i += 17) all.f32()[i] += 0.01f;
  FrameResult r4 = blocked.run(*bs, {&all});
  EXPECT_DOUBLE_EQ(r4.executed_fraction, 1.0);
  FrameResult d4 = dense.run(*ds, {&all});
  EXPECT_LE(relative_error(d4.outputs, r4.outputs), 1e-5);
}

TEST(BlockEngine, GateRefusedOutsideBlockMode) {
  Model model = load_model(std::string(kModelsDir) + "/cbinfer_personlabel.onnx");
  Tensor frame(DType::Float32, {1, 3, 64, 64});
  Engine dense(model, options(Mode::Dense, frame, 32));
  auto ds = dense.new_stream();
  EXPECT_THROW(ds->set_block_gate(std::make_shared<FixedGate>(1)), Error);
}

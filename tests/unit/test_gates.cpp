// Skip-Conv's gates (Skip-Convolutions §3.2): exact against the dense engine
// at threshold 0 in change and block mode on real frames, and on hand-built
// inputs each kind selects what its equation says: eq. 5's L1 norm of the
// input residual, eq. 7's norm times the weight norm, §3.2.3's k x k cells,
// all on the closed loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "engine/gates/gate.h"
#include "engine/gates/norm_gate.h"
#include "output_error.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"

using namespace sparseinfer;

namespace {

const char* kModelsDir = SPARSEINFER_MODELS_DIR;
const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

// vtest frames 0, 2, 4, ... scaled to the network's range as its description says.
std::vector<Tensor> vtest_frames(int count, int width, int height, float scale, float offset) {
  std::vector<Tensor> frames;
  cv::VideoCapture cap(kVtest);
  cv::Mat bgr;
  PreprocessOptions pre;
  pre.width = width;
  pre.height = height;
  for (int i = 0; static_cast<int>(frames.size()) < count && cap.read(bgr); ++i) {
    if (i % 2) continue;
    Tensor t;
    preprocess_frame(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step), PixelFormat::BGR, pre, t);
    for (int64_t k = 0; k < t.numel(); ++k) t.f32()[k] = t.f32()[k] * scale + offset;
    frames.push_back(std::move(t));
  }
  return frames;
}

EngineOptions options(Mode mode, const Tensor& frame, const std::string& gate) {
  EngineOptions o;
  o.mode = mode;
  o.input_shapes = {frame.shape()};
  o.gate = gate;
  o.threads = 2;
  return o;
}

struct Case {
  std::string file;
  float scale, offset;
};

const Case kCases[] = {
    {"cbinfer_personlabel.onnx", 1.0f, 0.0f},
    {"pretrained/ssdlite_mbv2_pedestrian_dyn.onnx", 2.0f, -1.0f},
    {"pretrained/mp_selfie_segmentation_dyn.onnx", 1.0f, 0.0f},
};

// One threshold gate's conv input: [1, C, H, W] zeros.
Tensor zeros(int64_t c, int64_t h, int64_t w) {
  Tensor t(DType::Float32, {1, c, h, w});
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = 0.0f;
  return t;
}

float& at(Tensor& t, int64_t c, int64_t y, int64_t x) {
  return t.f32()[(c * t.dim(2) + y) * t.dim(3) + x];
}

// Runs one select() of `gate` after priming it with `reference`; returns the accepted flat pixels.
std::vector<int32_t> select_once(const Gate& gate, GateState& state, const Tensor& input, float threshold) {
  ChangeSet all, accepted;
  all.set_all();
  accepted.set_grid(1, input.dim(2), input.dim(3));
  std::vector<uint8_t> flags(static_cast<size_t>(input.dim(2) * input.dim(3)), 0);
  StageTimes times;
  gate.select(input, all, threshold, state, flags, 1, &times, accepted);
  for (uint8_t f : flags) EXPECT_EQ(f, 0) << "flags must be all zero on exit";
  return accepted.pixels;
}

Tensor weights_of(float value, int64_t count) {
  return Tensor::from_f32({1, count, 1, 1}, std::vector<float>(static_cast<size_t>(count), value));
}

}  // namespace

TEST(Gates, NamesRoundTripAndUnknownOnesAreRefused) {
  const std::vector<std::string> names = gate_names();
  ASSERT_EQ(names.size(), 9u);
  EXPECT_EQ(names[0], "threshold");
  for (const std::string& n : names) EXPECT_EQ(gate_kind_name(gate_kind_from_name(n)), n);
  EXPECT_EQ(gate_cell(GateKind::OutputNorm4x4), 4);
  EXPECT_TRUE(gate_is_output_norm(GateKind::OutputNorm8x8));
  EXPECT_FALSE(gate_is_output_norm(GateKind::InputNorm2x2));
  try {
    gate_kind_from_name("input-norm-3x3");
    FAIL() << "an unknown gate was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input-norm-3x3"), std::string::npos) << e.what();
  }
  Model model = load_model(std::string(kModelsDir) + "/cbinfer_personlabel.onnx");
  Tensor frame = zeros(3, 64, 64);
  EXPECT_THROW(Engine(model, options(Mode::Change, frame, "l2-norm")), Error);
  // Block mode takes the structured kinds only: an unstructured gate has no cell.
  EXPECT_THROW(Engine(model, options(Mode::Block, frame, "input-norm")), Error);
  Engine ok(model, options(Mode::Block, frame, "output-norm-4x4"));
}

// Eq. 5: the L1 norm over the channels, not CBinfer's largest channel.
TEST(Gates, InputNormSumsTheResidualOverChannels) {
  Tensor ref = zeros(2, 8, 8), in = zeros(2, 8, 8);
  at(in, 0, 2, 3) = 0.3f;  // |r|_1 = 0.6, max 0.3
  at(in, 1, 2, 3) = 0.3f;
  at(in, 0, 5, 5) = 0.2f;  // |r|_1 = 0.4
  at(in, 1, 5, 5) = -0.2f;
  Tensor w = weights_of(1.0f, 2);
  auto input_norm = make_gate(GateKind::InputNorm, w);
  auto threshold = make_gate(GateKind::Threshold, w);
  GateState s1, s2;
  input_norm->prime(ref, 0.5f, s1);
  threshold->prime(ref, 0.5f, s2);
  EXPECT_EQ(select_once(*input_norm, s1, in, 0.5f), std::vector<int32_t>{2 * 8 + 3});
  EXPECT_TRUE(select_once(*threshold, s2, in, 0.5f).empty());
  // The accepted pixel entered the state (closed loop), the other did not.
  EXPECT_EQ(at(s1.reference, 0, 2, 3), 0.3f);
  EXPECT_EQ(at(s1.reference, 0, 5, 5), 0.0f);
  EXPECT_EQ(&input_norm->source(in, s1), &s1.reference);
}

// Eq. 7: the decision is ||W||_1 * ||r||_1 > threshold, so doubling the
// weights halves the residual that passes.
TEST(Gates, OutputNormScalesWithTheWeightNorm) {
  Tensor ref = zeros(1, 4, 4), in = zeros(1, 4, 4);
  at(in, 0, 0, 0) = 0.1f;
  at(in, 0, 1, 1) = 0.2f;
  at(in, 0, 2, 2) = 0.4f;
  Tensor light = weights_of(0.25f, 8);  // ||W||_1 = 2
  Tensor heavy = weights_of(0.5f, 8);   // ||W||_1 = 4
  EXPECT_FLOAT_EQ(weight_l1_norm(heavy), 4.0f);
  EXPECT_FLOAT_EQ(weight_l1_norm(Tensor::from_f32({2, 1, 1, 1}, {-1.5f, 0.5f})), 2.0f);
  auto gl = make_gate(GateKind::OutputNorm, light), gh = make_gate(GateKind::OutputNorm, heavy);
  GateState sl, sh;
  gl->prime(ref, 0.5f, sl);
  gh->prime(ref, 0.5f, sh);
  // 2 * {0.1, 0.2, 0.4} > 0.5 only for 0.4; 4 * {...} for 0.2 and 0.4.
  EXPECT_EQ(select_once(*gl, sl, in, 0.5f), (std::vector<int32_t>{2 * 4 + 2}));
  EXPECT_EQ(select_once(*gh, sh, in, 0.5f), (std::vector<int32_t>{1 * 4 + 1, 2 * 4 + 2}));
  // The same choice as the input-norm gate at threshold / ||W||_1.
  auto gi = make_gate(GateKind::InputNorm, heavy);
  GateState si;
  gi->prime(ref, 0.125f, si);
  EXPECT_EQ(select_once(*gi, si, in, 0.125f), (std::vector<int32_t>{1 * 4 + 1, 2 * 4 + 2}));
}

// §3.2.3: max-pool over k x k, nearest upsample: one changed pixel brings its
// whole cell, cells at the edge are cut, and the whole cell enters the state.
TEST(Gates, StructuredGatesAcceptWholeCells) {
  Tensor ref = zeros(1, 10, 10), in = zeros(1, 10, 10);
  for (int64_t i = 0; i < ref.numel(); ++i) ref.f32()[i] = in.f32()[i] = 0.01f * float(i);
  at(in, 0, 5, 6) += 1.0f;  // cell (1, 1) of 4x4: rows 4-7, cols 4-7
  at(in, 0, 9, 9) += 1.0f;  // cell (2, 2): rows 8-9, cols 8-9 (cut by the edge)
  at(in, 0, 0, 0) += 0.1f;  // below the threshold: its cell stays
  Tensor w = weights_of(1.0f, 1);
  auto gate = make_gate(GateKind::InputNorm4x4, w);
  GateState s;
  gate->prime(ref, 0.5f, s);
  std::vector<int32_t> want;
  for (int y = 4; y < 8; ++y)
    for (int x = 4; x < 8; ++x) want.push_back(y * 10 + x);
  for (int y = 8; y < 10; ++y)
    for (int x = 8; x < 10; ++x) want.push_back(y * 10 + x);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(select_once(*gate, s, in, 0.5f), want);
  for (int32_t p : want) EXPECT_EQ(s.reference.f32()[p], in.f32()[p]);
  EXPECT_NE(s.reference.f32()[0], in.f32()[0]);

  // 2x2 and 8x8 on the same input: the cells of (5,6) and (9,9); 2x2: rows 4-5, cols 6-7.
  auto g2 = make_gate(GateKind::OutputNorm2x2, w), g8 = make_gate(GateKind::InputNorm8x8, w);
  GateState s2, s8;
  g2->prime(ref, 0.5f, s2);
  g8->prime(ref, 0.5f, s8);
  EXPECT_EQ(select_once(*g2, s2, in, 0.5f), (std::vector<int32_t>{46, 47, 56, 57, 88, 89, 98, 99}));
  // 8x8: (5,6) is in cell (0,0), rows and cols 0-7; (9,9) in cell (1,1), rows and cols 8-9.
  std::vector<int32_t> want8;
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 10; ++x)
      if ((y < 8 && x < 8) || (y >= 8 && x >= 8)) want8.push_back(y * 10 + x);
  EXPECT_EQ(select_once(*g8, s8, in, 0.5f), want8);
}

// Closed loop: residuals below the threshold are not forgotten (Skip-Conv's
// open-loop code would compare against the previous frame and lose them).
TEST(Gates, SubThresholdChangesAddUpOnTheClosedLoop) {
  Tensor w = weights_of(1.0f, 1);
  for (GateKind kind : {GateKind::InputNorm, GateKind::OutputNorm2x2}) {
    Tensor frame = zeros(1, 4, 4);
    auto gate = make_gate(kind, w);
    GateState s;
    gate->prime(frame, 0.5f, s);
    at(frame, 0, 1, 1) = 0.3f;
    EXPECT_TRUE(select_once(*gate, s, frame, 0.5f).empty());
    at(frame, 0, 1, 1) = 0.6f;  // 0.3 more since last frame, 0.6 since the state
    EXPECT_FALSE(select_once(*gate, s, frame, 0.5f).empty());
    EXPECT_EQ(at(s.reference, 0, 1, 1), 0.6f);
    EXPECT_TRUE(select_once(*gate, s, frame, 0.5f).empty());
  }
}

// A still background with a small square that moves: few pixels change, so
// structured cells reach far beyond the changed ones.
std::vector<Tensor> moving_square(int count, int width, int height) {
  std::vector<Tensor> frames;
  Tensor base(DType::Float32, {1, 3, height, width});
  for (int64_t i = 0; i < base.numel(); ++i) base.f32()[i] = static_cast<float>((i * 7919) % 101) / 101.0f;
  for (int f = 0; f < count; ++f) {
    Tensor t = base;
    for (int c = 0; c < 3; ++c)
      for (int y = 21; y < 30; ++y)
        for (int x = 5 + 3 * f; x < 12 + 3 * f; ++x) t.f32()[(c * height + y) * width + x] = 0.9f;
    frames.push_back(std::move(t));
  }
  return frames;
}

// Threshold 0 recomputes every pixel that moved at all, so every gate kind
// reproduces the dense engine on real frames of the three real networks, and
// on a small moving square (where a structured cell holds pixels whose input
// was not rewritten this frame).
TEST(Gates, EveryKindEqualsDenseAtThresholdZeroInChangeMode) {
  for (const Case& c : kCases) {
    for (bool real : {true, false}) {
      std::vector<Tensor> frames = real ? vtest_frames(3, 192, 144, c.scale, c.offset) : moving_square(4, 96, 64);
      ASSERT_GE(frames.size(), 3u) << "cannot read " << kVtest << " (Debian package opencv-doc)";
      Model model = load_model(std::string(kModelsDir) + "/" + c.file);
      Engine dense(model, options(Mode::Dense, frames[0], "threshold"));
      auto ds = dense.new_stream();
      std::vector<std::vector<Tensor>> dense_out;
      for (const Tensor& f : frames) {
        FrameResult d = dense.run(*ds, {&f});
        dense_out.emplace_back();
        for (const Tensor* t : d.outputs) dense_out.back().push_back(*t);
      }
      for (const std::string& gate : gate_names()) {
        SCOPED_TRACE(c.file + (real ? " vtest" : " moving square") + " gate " + gate);
        Engine change(model, options(Mode::Change, frames[0], gate));
        auto cs = change.new_stream();
        cs->set_all_thresholds(0.0f);
        for (size_t f = 0; f < frames.size(); ++f) {
          FrameResult r = change.run(*cs, {&frames[f]});
          std::vector<const Tensor*> want;
          for (const Tensor& t : dense_out[f]) want.push_back(&t);
          EXPECT_LE(range_relative_error(want, r.outputs, 1e-6), 1e-5) << "frame " << f;
          if (!real && f > 0) {
            EXPECT_LT(r.mac_fraction(), 0.9) << "frame " << f;
          }
        }
      }
    }
  }
}

// Block mode: at threshold 0 a structured gate executes exactly the blocks
// whose input moved; a frame that moved everywhere then equals dense, and a
// repeated one executes nothing. The output-norm kind decides by eq. 7 with
// the first convolution's weights.
TEST(Gates, StructuredKindsAsBlockGates) {
  Model model = load_model(std::string(kModelsDir) + "/cbinfer_personlabel.onnx");
  const int w = 128, h = 96;
  Tensor base(DType::Float32, {1, 3, h, w});
  for (int64_t i = 0; i < base.numel(); ++i) base.f32()[i] = static_cast<float>((i * 7919) % 101) / 101.0f;
  for (const std::string gate : {"input-norm-4x4", "output-norm-8x8"}) {
    SCOPED_TRACE(gate);
    EngineOptions bo = options(Mode::Block, base, gate);
    bo.block_size = 32;
    Engine blocked(model, bo);
    Engine dense(model, options(Mode::Dense, base, "threshold"));
    auto bs = blocked.new_stream(), ds = dense.new_stream();
    bs->set_all_thresholds(0.0f);
    blocked.run(*bs, {&base});
    FrameResult same = blocked.run(*bs, {&base});
    EXPECT_DOUBLE_EQ(same.executed_fraction, 0.0);
    Tensor moved = base;
    moved.f32()[(2 * h + 70) * w + 100] += 0.01f;  // block (2, 3)
    FrameResult one = blocked.run(*bs, {&moved});
    std::vector<uint8_t> want(12, 0);
    want[2 * 4 + 3] = 1;
    EXPECT_EQ(one.block_grid, want);
    Tensor all = moved;
    for (int64_t i = 0; i < all.numel(); i += 17) all.f32()[i] += 0.01f;
    FrameResult r = blocked.run(*bs, {&all});
    EXPECT_DOUBLE_EQ(r.executed_fraction, 1.0);
    FrameResult d = dense.run(*ds, {&all});
    EXPECT_LE(range_relative_error(d.outputs, r.outputs, 1e-6), 1e-5);
  }
  // Eq. 5 against eq. 7 on a block: the output-norm gate passes a residual
  // the input-norm gate skips at the same threshold when ||W||_1 > 1.
  EngineOptions in_o = options(Mode::Block, base, "input-norm-4x4"),
                out_o = options(Mode::Block, base, "output-norm-4x4");
  Engine in_e(model, in_o), out_e(model, out_o);
  auto is = in_e.new_stream(), os = out_e.new_stream();
  is->set_all_thresholds(0.5f);
  os->set_all_thresholds(0.5f);
  in_e.run(*is, {&base});
  out_e.run(*os, {&base});
  Tensor small = base;
  small.f32()[5 * w + 5] += 0.2f;  // |r|_1 = 0.2 in block (0, 0)
  EXPECT_DOUBLE_EQ(in_e.run(*is, {&small}).executed_fraction, 0.0);
  EXPECT_DOUBLE_EQ(out_e.run(*os, {&small}).executed_fraction, 1.0 / 12.0);
}

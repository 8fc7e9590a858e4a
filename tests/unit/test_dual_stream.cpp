// The dual-stream runner on the committed contract models
// (examples/models/saliency_{large,small}.onnx): the ONNX input/output
// contract, what Phi' does with the decay and the maps, the schedule driving
// real engines, the change fraction, reset, and clear errors for models that
// do not follow the contract.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sparseinfer/dual_stream.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

using namespace sparseinfer;

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;
const std::string kLarge = kModels + "/saliency_large.onnx";
const std::string kSmall = kModels + "/saliency_small.onnx";
const std::string kBaseline = kModels + "/saliency_small_baseline.onnx";

DualStreamOptions options(int period = 3) {
  DualStreamOptions o;
  o.large_model = kLarge;
  o.small_model = kSmall;
  o.threads = 1;
  o.schedule.period = period;
  return o;
}

// A deterministic RGB frame: a gradient with a bright square at (x0, y0).
std::vector<uint8_t> frame(int w, int h, int x0, int y0, int size = 16) {
  std::vector<uint8_t> px(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &px[(size_t(y) * w + x) * 3];
      const bool in = x >= x0 && x < x0 + size && y >= y0 && y < y0 + size;
      p[0] = in ? 250 : uint8_t(x * 255 / w);
      p[1] = in ? 30 : uint8_t(y * 255 / h);
      p[2] = in ? 30 : 90;
    }
  return px;
}

DualStreamResult run_frame(const DualStreamRunner& r, DualStreamState& s, const std::vector<uint8_t>& px,
                           StreamChoice choice = StreamChoice::Schedule) {
  const int w = r.input_width(), h = r.input_height();
  return r.run(s, px.data(), w, h, w * 3, PixelFormat::RGB, choice);
}

std::vector<float> logits_of(const Engine& e, StreamState& st, const std::vector<const Tensor*>& in) {
  FrameResult fr = e.run(st, in);
  for (size_t i = 0; i < e.outputs().size(); ++i)
    if (e.outputs()[i].name == "logits") return fr.outputs[i]->to_f32_vector();
  return {};
}

Tensor filled(Shape shape, float v) {
  Tensor t(DType::Float32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = v;
  return t;
}

Tensor ramp(Shape shape, float scale) {
  Tensor t(DType::Float32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = scale * float((i * 37) % 101) / 100.0f;
  return t;
}

}  // namespace

TEST(DualStreamContract, ModelsDeclareTheContractShapes) {
  Model large = load_model(kLarge), small = load_model(kSmall), base = load_model(kBaseline);
  ASSERT_EQ(large.inputs.size(), 1u);
  EXPECT_EQ(large.inputs[0].name, "frame");
  const std::vector<int64_t>& d = large.inputs[0].dims;
  ASSERT_EQ(d.size(), 4u);
  const int64_t H = d[2], W = d[3];
  EXPECT_EQ(d[0], 1);
  EXPECT_EQ(d[1], 3);
  EXPECT_EQ(H % 16, 0);
  EXPECT_EQ(W % 16, 0);
  ASSERT_EQ(large.outputs.size(), 3u);
  EXPECT_EQ(large.outputs[0].name, "logits");
  EXPECT_EQ(large.outputs[0].dims, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(large.outputs[1].name, "saliency_a");
  EXPECT_EQ(large.outputs[1].dims, (std::vector<int64_t>{1, 1, H / 8, W / 8}));
  EXPECT_EQ(large.outputs[2].name, "saliency_b");
  EXPECT_EQ(large.outputs[2].dims, (std::vector<int64_t>{1, 1, H / 16, W / 16}));

  ASSERT_EQ(small.inputs.size(), 4u);
  EXPECT_EQ(small.inputs[0].name, "frame");
  EXPECT_EQ(small.inputs[0].dims, (std::vector<int64_t>{1, 3, H / 2, W / 2}));
  EXPECT_EQ(small.inputs[1].name, "saliency_a");
  EXPECT_EQ(small.inputs[1].dims, large.outputs[1].dims);
  EXPECT_EQ(small.inputs[2].name, "saliency_b");
  EXPECT_EQ(small.inputs[2].dims, large.outputs[2].dims);
  EXPECT_EQ(small.inputs[3].name, "decay");
  EXPECT_EQ(small.inputs[3].dims, (std::vector<int64_t>{1}));
  ASSERT_EQ(small.outputs.size(), 1u);
  EXPECT_EQ(small.outputs[0].name, "logits");
  EXPECT_EQ(small.outputs[0].dims, (std::vector<int64_t>{1, 3}));

  ASSERT_EQ(base.inputs.size(), 1u);
  EXPECT_EQ(base.inputs[0].dims, (std::vector<int64_t>{1, 3, H / 2, W / 2}));
  ASSERT_EQ(base.outputs.size(), 1u);
  EXPECT_EQ(base.outputs[0].dims, (std::vector<int64_t>{1, 3}));

  DualStreamRunner r(options());
  EXPECT_EQ(r.input_width(), W);
  EXPECT_EQ(r.input_height(), H);
  EXPECT_EQ(r.small_input_width(), W / 2);
  EXPECT_EQ(r.small_input_height(), H / 2);
  // The point of Phi': far cheaper than Phi.
  EXPECT_LT(r.small_macs_dense() * 5, r.large_macs());
}

TEST(DualStreamRunner, LabelsComeFromTheLargeModelsMetadata) {
  DualStreamRunner runner(options());
  EXPECT_EQ(runner.labels(),
            (std::vector<std::string>{"relevant red", "all relevant green", "no relevant light"}));
}

TEST(DualStreamContract, SmallModelUsesDecayAndMaps) {
  DualStreamRunner r(options());
  const Engine& e = r.small_engine();
  std::unique_ptr<StreamState> st = e.new_stream();
  std::vector<Tensor> in;
  for (const TensorInfo& ti : e.inputs()) in.push_back(ti.name == "frame" ? ramp(ti.shape, 2.0f) : filled(ti.shape, 0));
  std::vector<const Tensor*> args;
  for (const Tensor& t : in) args.push_back(&t);
  auto set = [&](const std::string& name, const Tensor& v) {
    for (size_t i = 0; i < in.size(); ++i)
      if (e.inputs()[i].name == name) in[i] = v;
  };
  auto shape = [&](const std::string& name) {
    for (const TensorInfo& ti : e.inputs())
      if (ti.name == name) return ti.shape;
    return Shape{};
  };
  auto logits = [&]() { return logits_of(e, *st, args); };
  auto max_diff = [](const std::vector<float>& a, const std::vector<float>& b) {
    float d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
    return d;
  };

  // Maps A (zeros) vs maps B (a pattern): with decay 0 the maps are multiplied away.
  set("decay", filled({1}, 0.0f));
  const std::vector<float> zero_maps_decay0 = logits();
  set("saliency_a", ramp(shape("saliency_a"), 1.0f));
  set("saliency_b", ramp(shape("saliency_b"), 1.0f));
  const std::vector<float> maps_decay0 = logits();
  ASSERT_EQ(maps_decay0.size(), 3u);
  EXPECT_LT(max_diff(zero_maps_decay0, maps_decay0), 1e-5f);
  // With decay 1 the same maps change the output, and decay 0.5 lies elsewhere again.
  set("decay", filled({1}, 1.0f));
  const std::vector<float> maps_decay1 = logits();
  EXPECT_GT(max_diff(maps_decay1, maps_decay0), 1e-4f);
  set("decay", filled({1}, 0.5f));
  const std::vector<float> maps_decay_half = logits();
  EXPECT_GT(max_diff(maps_decay_half, maps_decay1), 1e-5f);
  // Zero maps: the decay has nothing to scale.
  set("saliency_a", filled(shape("saliency_a"), 0.0f));
  set("saliency_b", filled(shape("saliency_b"), 0.0f));
  EXPECT_LT(max_diff(logits(), zero_maps_decay0), 1e-5f);
}

TEST(DualStreamRunner, FixedScheduleOnRealEngines) {
  DualStreamRunner r(options(3));
  auto s = r.new_stream();
  const int w = r.input_width(), h = r.input_height();
  std::string pattern;
  for (int i = 0; i < 7; ++i) {
    DualStreamResult res = run_frame(r, *s, frame(w, h, 10 + 2 * i, 20));
    pattern += res.stream == DualStream::Large ? 'L' : 's';
    EXPECT_EQ(res.frame_index, i);
    EXPECT_EQ(res.k, i % 3);
    EXPECT_FLOAT_EQ(res.decay, std::exp(-float(i % 3) / 10.0f));
    float sum = 0;
    for (float p : res.probabilities) {
      EXPECT_GE(p, 0.0f);
      sum += p;
    }
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
    EXPECT_GE(res.margin, 0.0);
    EXPECT_EQ(res.macs, res.stream == DualStream::Large ? r.large_macs() : r.small_macs_dense());
    EXPECT_EQ(s->last_large_frame(), i - i % 3);
    ASSERT_EQ(s->saliency_maps().size(), 2u);
    for (const Tensor& m : s->saliency_maps())
      for (int64_t j = 0; j < m.numel(); ++j) {
        ASSERT_GE(m.f32()[j], 0.0f);
        ASSERT_LE(m.f32()[j], 1.0f);
      }
  }
  EXPECT_EQ(pattern, "LssLssL");
  EXPECT_EQ(s->frame_index(), 7);
}

TEST(DualStreamRunner, SmallFrameFeedsTheLastLargeMapsAndDecay) {
  DualStreamRunner r(options(4));
  auto s = r.new_stream();
  const int w = r.input_width(), h = r.input_height();
  const std::vector<uint8_t> f0 = frame(w, h, 30, 30), f1 = frame(w, h, 40, 30), f2 = frame(w, h, 50, 40);
  run_frame(r, *s, f0);
  const std::vector<Tensor> maps = s->saliency_maps();  // copies
  run_frame(r, *s, f1);
  DualStreamResult res = run_frame(r, *s, f2);
  ASSERT_EQ(res.stream, DualStream::Small);
  ASSERT_EQ(res.k, 2);

  // The same frame by hand: half resolution, the maps of frame 0, decay exp(-2/10).
  PreprocessOptions pre;
  pre.width = r.small_input_width();
  pre.height = r.small_input_height();
  Tensor x;
  preprocess_frame(f2.data(), w, h, w * 3, PixelFormat::RGB, pre, x);
  Tensor decay = filled({1}, std::exp(-0.2f));
  const Engine& e = r.small_engine();
  std::vector<const Tensor*> args;
  for (const TensorInfo& ti : e.inputs())
    args.push_back(ti.name == "frame"        ? &x
                   : ti.name == "decay"      ? &decay
                   : ti.name == "saliency_a" ? &maps[0]
                                             : &maps[1]);
  auto st = e.new_stream();
  std::vector<float> logits = logits_of(e, *st, args);
  ASSERT_EQ(logits.size(), 3u);
  const float top = std::max({logits[0], logits[1], logits[2]});
  float sum = 0;
  for (float v : logits) sum += std::exp(v - top);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(res.probabilities[size_t(c)], std::exp(logits[size_t(c)] - top) / sum, 1e-5f);
}

TEST(DualStreamRunner, ChangeFractionMeasuresTheMovedPatch) {
  DualStreamRunner r(options(100));
  auto s = r.new_stream();
  const int w = r.input_width(), h = r.input_height();
  EXPECT_DOUBLE_EQ(run_frame(r, *s, frame(w, h, 32, 32, 32)).change_fraction, 1.0);  // no reference yet
  EXPECT_DOUBLE_EQ(run_frame(r, *s, frame(w, h, 32, 32, 32)).change_fraction, 0.0);
  // The square moves by its size: both its old and new place changed (2 * 16x16 of the half-res grid).
  const double moved = run_frame(r, *s, frame(w, h, 64, 32, 32)).change_fraction;
  const double expect = 2.0 * 16 * 16 / (double(w / 2) * (h / 2));
  EXPECT_NEAR(moved, expect, 0.25 * expect);
}

TEST(DualStreamRunner, ResetRunsLargeNext) {
  DualStreamRunner r(options(3));
  auto s = r.new_stream();
  const int w = r.input_width(), h = r.input_height();
  const std::vector<uint8_t> f = frame(w, h, 8, 8);
  run_frame(r, *s, f);
  run_frame(r, *s, f);
  s->reset();
  EXPECT_EQ(s->frame_index(), 0);
  EXPECT_EQ(s->last_large_frame(), -1);
  EXPECT_TRUE(s->saliency_maps().empty());
  EXPECT_THROW(run_frame(r, *s, f, StreamChoice::Small), Error);
  DualStreamResult res = run_frame(r, *s, f);
  EXPECT_EQ(res.stream, DualStream::Large);
  EXPECT_EQ(res.reason, ScheduleReason::FirstFrame);
  EXPECT_EQ(res.frame_index, 0);
  EXPECT_EQ(run_frame(r, *s, f).k, 1);
  // Forced streams (evaluation protocols) follow the caller.
  EXPECT_EQ(run_frame(r, *s, f, StreamChoice::Large).stream, DualStream::Large);
  DualStreamResult forced = run_frame(r, *s, f, StreamChoice::Small);
  EXPECT_EQ(forced.stream, DualStream::Small);
  EXPECT_EQ(forced.k, 1);
}

TEST(DualStreamRunner, SmallChangeModeAtThresholdZeroMatchesDense) {
  DualStreamOptions oc = options(4);
  oc.small_mode = Mode::Change;
  oc.small_threshold = 0.0f;
  DualStreamRunner dense(options(4)), change(oc);
  auto sd = dense.new_stream(), sc = change.new_stream();
  const int w = dense.input_width(), h = dense.input_height();
  int64_t change_macs = 0, dense_macs = 0;
  for (int i = 0; i < 8; ++i) {
    const std::vector<uint8_t> f = frame(w, h, 40 + (i / 2) * 4, 30);  // moves every other frame
    DualStreamResult a = run_frame(dense, *sd, f), b = run_frame(change, *sc, f);
    ASSERT_EQ(a.stream, b.stream);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(a.probabilities[size_t(c)], b.probabilities[size_t(c)], 1e-4f) << i;
    if (a.stream == DualStream::Small) {
      dense_macs += a.macs;
      change_macs += b.macs;
    }
  }
  EXPECT_LT(change_macs, dense_macs);
}

TEST(DualStreamRunner, RejectsModelsOffTheContract) {
  auto message_of = [](const DualStreamOptions& o) {
    try {
      DualStreamRunner r(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  DualStreamOptions swapped = options();
  std::swap(swapped.large_model, swapped.small_model);
  std::string m = message_of(swapped);
  EXPECT_NE(m.find("saliency_small.onnx"), std::string::npos) << m;
  DualStreamOptions base = options();
  base.small_model = kBaseline;
  m = message_of(base);
  EXPECT_NE(m.find("saliency_small_baseline.onnx"), std::string::npos) << m;
  EXPECT_NE(m.find("four inputs"), std::string::npos) << m;
  DualStreamOptions other = options();
  other.large_model = kModels + "/cbinfer_scenelabel.onnx";
  m = message_of(other);
  EXPECT_NE(m.find("cbinfer_scenelabel.onnx"), std::string::npos) << m;
  DualStreamOptions missing = options();
  missing.small_model = kModels + "/no_such_model.onnx";
  m = message_of(missing);
  EXPECT_NE(m.find("no_such_model.onnx"), std::string::npos) << m;
  DualStreamOptions cheap = options();
  cheap.schedule.kind = ScheduleKind::Adaptive;
  cheap.schedule.max_cost = 0.001;
  m = message_of(cheap);
  EXPECT_NE(m.find("max-cost"), std::string::npos) << m;
}

TEST(DualStreamRunner, AdaptiveStaysUnderMaxCost) {
  DualStreamOptions o = options(3);
  o.schedule.kind = ScheduleKind::Adaptive;
  o.schedule.max_cost = 0.3;
  DualStreamRunner r(o);
  auto s = r.new_stream();
  const int w = r.input_width(), h = r.input_height();
  double spent = 0;
  int large = 0;
  const int n = 24;
  for (int i = 0; i < n; ++i) {
    // A jumpy scene: every frame asks for Phi, the budget decides.
    DualStreamResult res = run_frame(r, *s, frame(w, h, (i * 53) % (w - 40), (i * 29) % (h - 40), 40));
    spent += res.cost;
    large += res.stream == DualStream::Large;
    ASSERT_LE(spent, (i + 1) * 0.3 + 0.7 + 1e-9) << i;
  }
  EXPECT_GT(large, 1);
}

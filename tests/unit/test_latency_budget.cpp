// The latency-budget controller (core/control/latency_budget.h): its steps on
// given frame times, its refusals, and on the real person network over
// vtest.avi that a budget below the unconstrained frame time raises the
// thresholds and brings the frames down, while a generous one lowers them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "control/latency_budget.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/thresholds.h"

using namespace sparseinfer;

namespace {

const char* kModelsDir = SPARSEINFER_MODELS_DIR;
const char* kResultsDir = SPARSEINFER_RESULTS_DIR;
const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

TEST(LatencyBudget, OffUntilABudgetIsSet) {
  LatencyBudgetController c;
  EXPECT_FALSE(c.enabled());
  c.observe(1000.0, false);
  EXPECT_EQ(c.factor(), 1.0);
  EXPECT_EQ(c.setpoint_ms(), 0.0);
}

TEST(LatencyBudget, AFrameOverTheSetPointRaisesTheFactorAtOnce) {
  LatencyBudgetSettings s;
  s.budget_ms = 50;
  LatencyBudgetController c(s);
  const double setpoint = c.setpoint_ms();
  EXPECT_DOUBLE_EQ(setpoint, 50 * s.initial_setpoint);
  c.observe(setpoint * 4, false);
  // The whole log error at raise_gain 1: four times the set point, four times the factor.
  EXPECT_NEAR(c.factor(), 4.0, 1e-9);
}

TEST(LatencyBudget, DenseFramesAreLeftOut) {
  LatencyBudgetSettings s;
  s.budget_ms = 20;
  LatencyBudgetController c(s);
  c.observe(500, true);
  EXPECT_EQ(c.factor(), 1.0);
}

TEST(LatencyBudget, LowersSlowlyAndInSteps) {
  LatencyBudgetSettings s;
  s.budget_ms = 100;
  LatencyBudgetController c(s);
  c.observe(c.setpoint_ms() * 8, false);
  const double raised = c.factor();
  // 0.8x the set point: each frame asks for lower_gain * log(1.25) less, applied once it adds up to lower_step.
  const double per_frame = s.lower_gain * std::log(1.25);
  const int frames_per_step = static_cast<int>(std::ceil(s.lower_step / per_frame));
  ASSERT_GT(frames_per_step, 1);
  std::vector<double> seen;
  for (int i = 0; i < frames_per_step; ++i) {
    seen.push_back(c.factor());
    c.observe(c.setpoint_ms() * 0.8, false);
  }
  for (double f : seen) EXPECT_EQ(f, raised);  // no lowering before the step added up
  EXPECT_LT(c.factor(), raised);
  EXPECT_GT(c.factor(), raised * std::exp(-2 * s.lower_step));
}

TEST(LatencyBudget, StaysWithinItsBounds) {
  LatencyBudgetSettings s;
  s.budget_ms = 10;
  LatencyBudgetController c(s);
  for (int i = 0; i < 200; ++i) c.observe(1e6, false);
  EXPECT_NEAR(c.factor(), s.max_factor, 1e-9 * s.max_factor);
  for (int i = 0; i < 5000; ++i) c.observe(1e-3, false);
  EXPECT_NEAR(c.factor(), s.min_factor, 1e-9);
}

TEST(LatencyBudget, TurningItOffGivesFactorOne) {
  LatencyBudgetSettings s;
  s.budget_ms = 10;
  LatencyBudgetController c(s);
  c.observe(100, false);
  EXPECT_GT(c.factor(), 1.0);
  c.set_budget(0);
  EXPECT_EQ(c.factor(), 1.0);
}

TEST(LatencyBudget, SetPointLeavesRoomForTheSpread) {
  LatencyBudgetSettings s;
  s.budget_ms = 100;
  s.lower_gain = 1e-9;  // hold the factor still enough to look at the set point alone
  s.raise_gain = 1e-9;
  LatencyBudgetController c(s);
  // Frames alternate between 0.5x and 1.5x the set point: 1.5 is the spread at the 95th percentile.
  for (int i = 0; i < 200; ++i) c.observe(c.setpoint_ms() * (i % 2 ? 1.5 : 0.5), false);
  EXPECT_NEAR(c.setpoint_ms(), 100 / 1.5, 1.0);
}

TEST(LatencyBudget, RefusesBadSettings) {
  LatencyBudgetSettings s;
  s.budget_ms = -1;
  EXPECT_THROW(LatencyBudgetController{s}, Error);
  s.budget_ms = 10;
  s.min_factor = 0;
  EXPECT_THROW(LatencyBudgetController{s}, Error);
  LatencyBudgetController ok;
  EXPECT_THROW(ok.set_budget(std::nan("")), Error);
  EXPECT_THROW(ok.set_budget(-5), Error);
}

std::vector<Tensor> vtest_frames(int count, int width, int height) {
  std::vector<Tensor> frames;
  cv::VideoCapture cap(kVtest);
  cv::Mat bgr;
  PreprocessOptions pre;
  pre.width = width;
  pre.height = height;
  while (static_cast<int>(frames.size()) < count && cap.read(bgr)) {
    Tensor t;
    preprocess_frame(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step), PixelFormat::BGR, pre, t);
    frames.push_back(std::move(t));
  }
  return frames;
}

struct RunStats {
  double median_ms = 0, mean_mac_fraction = 0, last_factor = 1;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Frames 1.. of one stream; with a budget the controller sets the scale each frame.
RunStats run(const Engine& engine, const ThresholdSet& thresholds, const std::vector<Tensor>& frames,
             double budget_ms) {
  auto state = engine.new_stream();
  apply_thresholds(*state, thresholds);
  LatencyBudgetSettings s;
  s.budget_ms = budget_ms;
  LatencyBudgetController controller(s);
  std::vector<double> ms;
  RunStats out;
  for (size_t f = 0; f < frames.size(); ++f) {
    state->set_threshold_scale(static_cast<float>(controller.factor()));
    FrameResult r = engine.run(*state, {&frames[f]});
    controller.observe(r.times.total_ms, r.dense_frame);
    if (f >= frames.size() / 2) {  // the second half: after the controller settled
      ms.push_back(r.times.total_ms);
      out.mean_mac_fraction += r.mac_fraction() / double(frames.size() - frames.size() / 2);
    }
  }
  out.median_ms = median(ms);
  out.last_factor = controller.factor();
  return out;
}

TEST(LatencyBudget, FollowsTheBudgetOnThePersonNetwork) {
  const std::string model_path = std::string(kModelsDir) + "/cbinfer_personlabel.onnx";
  const std::string thresholds_path = std::string(kResultsDir) + "/cbinfer_personlabel.thresholds.json";
  std::vector<Tensor> frames = vtest_frames(40, 384, 288);
  ASSERT_EQ(frames.size(), 40u) << "cannot read " << kVtest;
  Model model = load_model(model_path);
  ThresholdSet thresholds = read_thresholds(thresholds_path);
  EngineOptions opt;
  opt.backend = Backend::Cpu;
  opt.mode = Mode::Change;
  opt.threads = 1;
  opt.input_shapes = {frames[0].shape()};
  Engine engine(model, opt);

  const RunStats fixed = run(engine, thresholds, frames, 0);
  // A third of the unconstrained time: the thresholds must rise and the frames get cheaper.
  const RunStats tight = run(engine, thresholds, frames, fixed.median_ms / 3);
  EXPECT_GT(tight.last_factor, 1.5);
  EXPECT_LT(tight.mean_mac_fraction, fixed.mean_mac_fraction * 0.8);
  EXPECT_LT(tight.median_ms, fixed.median_ms * 0.8);
  // A budget far above it: the thresholds fall to the lowest factor, spending MACs on accuracy.
  const RunStats loose = run(engine, thresholds, frames, fixed.median_ms * 100);
  EXPECT_LT(loose.last_factor, 0.5);
  EXPECT_GT(loose.mean_mac_fraction, fixed.mean_mac_fraction);
}

}  // namespace

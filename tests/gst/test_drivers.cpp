// The elements' GObject-free drivers without an element around them: which
// frames cbinferconv infers (inference interval, QoS, resets), the held
// results, detections rescaled to frame pixels, run-time thresholds, and the
// saliency driver's schedule and resets.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cbinfer_driver.h"
#include "element_support.h"
#include "saliency_driver.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/dual_stream.h"

namespace sg = sparseinfer::gst;

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;

// A gradient with a bright square that moves with t, packed RGB.
std::vector<uint8_t> frame_pixels(int w, int h, int t) {
  std::vector<uint8_t> px(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &px[(size_t(y) * w + x) * 3];
      p[0] = uint8_t(x * 255 / w);
      p[1] = uint8_t(y * 255 / h);
      p[2] = uint8_t((x + y) * 2);
      const int sx = 4 + 3 * t, sy = h / 4;
      if (x >= sx && x < sx + w / 8 && y >= sy && y < sy + h / 4) p[0] = p[1] = p[2] = 250;
    }
  return px;
}

sg::FrameView view_of(const std::vector<uint8_t>& px, int w, int h) {
  sg::FrameView v;
  v.pixels = px.data();
  v.width = w;
  v.height = h;
  v.stride = w * 3;
  v.format = sparseinfer::PixelFormat::RGB;
  return v;
}

sg::CbinferSettings segnet_settings() {
  sg::CbinferSettings s;
  s.model_path = kModels + "/segnet_small.onnx";
  s.threads = 1;
  return s;
}

}  // namespace

TEST(CbinferDriver, InferenceIntervalQosAndReset) {
  constexpr int w = 64, h = 32;
  sg::CbinferSettings settings = segnet_settings();
  settings.inference_interval = 3;
  sg::CbinferDriver driver;
  driver.open(settings);
  EXPECT_EQ(driver.task(), GST_SPARSEINFER_TASK_SEGMENTATION);
  EXPECT_EQ(driver.model_name(), "segnet_small.onnx");
  ASSERT_TRUE(driver.configure(w, h));
  EXPECT_FALSE(driver.configure(w, h));  // the engine already fits

  bool qos_skip = true;
  // Nothing held yet: the first frame infers even when it would be late.
  EXPECT_TRUE(driver.should_infer(0, true, &qos_skip));
  EXPECT_FALSE(qos_skip);
  std::vector<uint8_t> px = frame_pixels(w, h, 0);
  sg::CbinferFrameStats f = driver.infer(0, view_of(px, w, h));
  EXPECT_TRUE(f.inferred);
  EXPECT_TRUE(f.dense_frame);
  ASSERT_TRUE(driver.has_results());
  ASSERT_EQ(driver.held_tensors().size(), 1u);
  const auto data = driver.held_tensors()[0].data;

  // Frames between inferences hold, late or not, and are not counted as QoS skips.
  for (uint64_t i : {1, 2}) {
    EXPECT_FALSE(driver.should_infer(i, false, &qos_skip));
    EXPECT_FALSE(qos_skip);
    EXPECT_FALSE(driver.should_infer(i, true, &qos_skip));
    EXPECT_FALSE(qos_skip);
  }
  // A due frame infers in time, or holds (a QoS skip) when it would be late.
  EXPECT_TRUE(driver.should_infer(3, false, &qos_skip));
  EXPECT_FALSE(driver.should_infer(3, true, &qos_skip));
  EXPECT_TRUE(qos_skip);
  sg::CbinferFrameStats held = driver.hold(true);
  EXPECT_FALSE(held.inferred);
  EXPECT_TRUE(held.qos_skipped);
  EXPECT_EQ(held.mask, nullptr);
  EXPECT_EQ(driver.held_tensors()[0].data, data);  // the same shared data, no copy

  // After a reset nothing is held: the next frame infers, densely.
  driver.reset();
  EXPECT_FALSE(driver.has_results());
  EXPECT_TRUE(driver.should_infer(0, true, &qos_skip));
  px = frame_pixels(w, h, 1);
  EXPECT_TRUE(driver.infer(0, view_of(px, w, h)).dense_frame);

  sg::CbinferTotals totals;
  totals.add(f);
  totals.add(held);
  EXPECT_EQ(totals.frames, 2u);
  EXPECT_EQ(totals.inferred, 1u);
  EXPECT_EQ(totals.dense, 1u);
  EXPECT_EQ(totals.qos_skipped, 1u);
}

// Issue 14 #2/#3: one cost per kind of frame; the latency covers the slowest,
// QoS predicts each kind with its own, shrinks it while skipping and probes.
TEST(LatencyEstimate, KindsDecayAndProbe) {
  sg::LatencyEstimate e;
  EXPECT_EQ(e.bound_ms(), 0.0);
  e.smoothed_ms[int(sg::FrameKind::Full)] = 200;
  EXPECT_DOUBLE_EQ(e.predicted_ms(sg::FrameKind::Incremental), 200);  // unseen: as the slowest
  e.smoothed_ms[int(sg::FrameKind::Incremental)] = 10;
  EXPECT_DOUBLE_EQ(e.predicted_ms(sg::FrameKind::Incremental), 10);
  EXPECT_DOUBLE_EQ(e.predicted_ms(sg::FrameKind::Full), 200);
  EXPECT_GE(e.bound_ms(), 200);  // the latency covers the dense frames, not the mean

  // Skips shrink the prediction; a run of them ends in a probe.
  int skips = 0;
  while (e.skip_late(sg::FrameKind::Full)) ++skips;
  EXPECT_GT(skips, 3);
  EXPECT_LE(skips, 30);
  EXPECT_LT(e.predicted_ms(sg::FrameKind::Full), 200 * 0.5);
  EXPECT_DOUBLE_EQ(e.predicted_ms(sg::FrameKind::Incremental), 10);  // the other kind keeps its own
  EXPECT_GE(e.bound_ms(), 200);                                      // skipping does not lower the latency

  // A kind produced only once after a reset can be left out of the latency.
  e.covered[int(sg::FrameKind::Full)] = false;
  EXPECT_LT(e.bound_ms(), 20);
}

TEST(CbinferDriver, NextIsDenseFollowsRefreshAndResets) {
  constexpr int w = 64, h = 32;
  sg::CbinferSettings settings = segnet_settings();
  settings.refresh_interval = 3;
  sg::CbinferDriver driver;
  driver.open(settings);
  driver.configure(w, h);
  std::vector<uint8_t> px = frame_pixels(w, h, 0);
  EXPECT_TRUE(driver.next_is_dense(0));
  EXPECT_TRUE(driver.infer(0, view_of(px, w, h)).dense_frame);
  EXPECT_FALSE(driver.next_is_dense(1));
  EXPECT_FALSE(driver.infer(1, view_of(px, w, h)).dense_frame);
  // Frame 3 was due for a refresh but skipped (QoS): frame 4 refreshes instead
  // (change mode: at threshold 0, a dense result without a dense frame).
  EXPECT_TRUE(driver.next_is_dense(3));
  EXPECT_TRUE(driver.next_is_dense(4));
  const sg::CbinferFrameStats refresh = driver.infer(4, view_of(px, w, h));
  EXPECT_TRUE(refresh.refresh_frame);
  EXPECT_FALSE(refresh.dense_frame);
  EXPECT_FALSE(driver.next_is_dense(5));
  driver.reset();
  EXPECT_TRUE(driver.next_is_dense(0));
}

TEST(CbinferDriver, RefreshIntervalAndThresholdUpdates) {
  constexpr int w = 64, h = 32;
  sg::CbinferSettings settings = segnet_settings();
  settings.refresh_interval = 2;
  sg::CbinferDriver driver;
  driver.open(settings);
  driver.configure(w, h);
  for (int t = 0; t < 5; ++t) {
    std::vector<uint8_t> px = frame_pixels(w, h, t);
    const sg::CbinferFrameStats f = driver.infer(uint64_t(t), view_of(px, w, h));
    EXPECT_EQ(f.dense_frame, t == 0) << "frame " << t;
    EXPECT_EQ(f.refresh_frame, t > 0 && t % 2 == 0) << "frame " << t;
  }

  // A threshold no change passes: nothing but the first frame is recomputed.
  settings.refresh_interval = 0;
  settings.threshold = 1000.0f;
  driver.update(settings);
  driver.reset();
  std::vector<uint8_t> px = frame_pixels(w, h, 0);
  driver.infer(0, view_of(px, w, h));
  px = frame_pixels(w, h, 1);
  sg::CbinferFrameStats still = driver.infer(1, view_of(px, w, h));
  EXPECT_EQ(still.changed_fraction, 0.0);
  // Threshold 0 again: the moving square is recomputed.
  settings.threshold = 0.0f;
  driver.update(settings);
  px = frame_pixels(w, h, 2);
  sg::CbinferFrameStats moving = driver.infer(2, view_of(px, w, h));
  EXPECT_GT(moving.changed_fraction, 0.0);
  EXPECT_GT(moving.mac_fraction, still.mac_fraction);
}

TEST(CbinferDriver, DetectionsInFramePixels) {
  // The network sees 64x32, the frame is 128x64: boxes come back scaled by 2.
  constexpr int w = 128, h = 64;
  sg::CbinferSettings settings;
  settings.model_path = kModels + "/detnet_small.onnx";
  settings.threads = 1;
  settings.input_width = 64;
  settings.input_height = 32;
  settings.detection.score_threshold = 0.2f;
  settings.set.score_threshold = true;  // as the element's property does: it overrides the model description's 0.5
  sg::CbinferDriver driver;
  driver.open(settings);
  ASSERT_EQ(driver.task(), GST_SPARSEINFER_TASK_DETECTION);
  driver.configure(w, h);
  EXPECT_EQ(driver.network_width(), 64);
  std::vector<uint8_t> px = frame_pixels(w, h, 0);
  driver.infer(0, view_of(px, w, h));

  // Decode the held tensors at the network's scale, by hand.
  const sparseinfer::Tensor *heatmap = nullptr, *boxes = nullptr;
  std::vector<sparseinfer::Tensor> tensors;
  tensors.reserve(driver.held_tensors().size());
  for (const sg::HeldTensor& t : driver.held_tensors()) {
    sparseinfer::Tensor& x = tensors.emplace_back(t.dtype, sparseinfer::Shape(t.dims.begin(), t.dims.end()));
    std::memcpy(x.raw(), t.data->data(), t.data->size());
    if (t.name == "heatmap") heatmap = &x;
    if (t.name == "boxes") boxes = &x;
  }
  ASSERT_TRUE(heatmap && boxes);
  const std::vector<sg::Detection> want = sparseinfer::decode_centernet(*heatmap, *boxes, 64, 32, settings.detection);
  const std::vector<sg::Detection>& got = driver.held_detections();
  ASSERT_FALSE(want.empty());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_FLOAT_EQ(got[i].x1, want[i].x1 * 2);
    EXPECT_FLOAT_EQ(got[i].x2, want[i].x2 * 2);
    EXPECT_FLOAT_EQ(got[i].y1, want[i].y1 * 2);
    EXPECT_FLOAT_EQ(got[i].y2, want[i].y2 * 2);
    EXPECT_EQ(got[i].label, want[i].label);
  }
}

TEST(CbinferDriver, TaskSettingOverridesTheGuess) {
  sg::CbinferSettings settings = segnet_settings();
  settings.task = GST_SPARSEINFER_TASK_UNKNOWN;
  sg::CbinferDriver driver;
  driver.open(settings);
  EXPECT_EQ(driver.task(), GST_SPARSEINFER_TASK_UNKNOWN);
  EXPECT_EQ(driver.guess_task(), GST_SPARSEINFER_TASK_SEGMENTATION);
}

TEST(SaliencyDriver, FixedScheduleAndReset) {
  sg::SaliencySettings settings;
  settings.options.large_model = kModels + "/saliency_large.onnx";
  settings.options.small_model = kModels + "/saliency_small.onnx";
  settings.options.threads = 1;
  settings.options.schedule.period = 3;
  sg::SaliencyDriver driver;
  driver.open(settings);
  EXPECT_EQ(driver.model_name(sparseinfer::DualStream::Large), "saliency_large.onnx");
  EXPECT_EQ(driver.model_name(sparseinfer::DualStream::Small), "saliency_small.onnx");
  const int w = driver.runner().input_width(), h = driver.runner().input_height();
  std::vector<sparseinfer::DualStream> streams;
  for (int t = 0; t < 4; ++t) {
    std::vector<uint8_t> px = frame_pixels(w, h, t);
    streams.push_back(driver.run(view_of(px, w, h)).stream);
  }
  using S = sparseinfer::DualStream;
  EXPECT_EQ(streams, (std::vector<S>{S::Large, S::Small, S::Small, S::Large}));
  driver.reset();
  std::vector<uint8_t> px = frame_pixels(w, h, 4);
  const sparseinfer::DualStreamResult r = driver.run(view_of(px, w, h));
  EXPECT_EQ(r.stream, S::Large);
  EXPECT_EQ(r.frame_index, 0);
}

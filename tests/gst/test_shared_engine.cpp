// Issue 19: cbinferconv drivers that share a model-instance-id share one
// model and engine (released with the last one), refuse settings that would
// compile another engine by property name, and give, batched across streams,
// exactly the results each stream gets alone.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cbinfer_driver.h"
#include "engine_cache.h"
#include "saliency_driver.h"

namespace sg = sparseinfer::gst;

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;
constexpr int kWidth = 64, kHeight = 32;

// A gradient with a bright square whose place depends on the stream and the frame, packed RGB.
std::vector<uint8_t> frame_pixels(int stream, int t) {
  std::vector<uint8_t> px(size_t(kWidth) * kHeight * 3);
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      uint8_t* p = &px[(size_t(y) * kWidth + x) * 3];
      p[0] = uint8_t(x * 255 / kWidth);
      p[1] = uint8_t(y * 255 / kHeight + 10 * stream);
      p[2] = uint8_t((x + y) * 2);
      const int sx = 2 + 3 * t + 5 * stream, sy = kHeight / 4;
      if (x >= sx && x < sx + kWidth / 8 && y >= sy && y < sy + kHeight / 4) p[0] = p[1] = p[2] = 250;
    }
  return px;
}

sg::FrameView view_of(const std::vector<uint8_t>& px) {
  sg::FrameView v;
  v.pixels = px.data();
  v.width = kWidth;
  v.height = kHeight;
  v.stride = kWidth * 3;
  v.format = sparseinfer::PixelFormat::RGB;
  return v;
}

sg::CbinferSettings settings(sparseinfer::Mode mode, const std::string& id, int64_t batch_timeout_us) {
  sg::CbinferSettings s;
  s.model_path = kModels + "/segnet_small.onnx";
  s.threads = 1;
  s.mode = mode;
  s.threshold = 0.0f;  // change mode reproduces the dense result
  s.model_instance_id = id;
  s.batch_timeout_us = batch_timeout_us;
  return s;
}

std::vector<float> output_of(const sg::CbinferDriver& d) {
  const sg::HeldTensor& t = d.held_tensors().at(0);
  std::vector<float> v(t.data->size() / sizeof(float));
  std::memcpy(v.data(), t.data->data(), t.data->size());
  return v;
}

float max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST(SharedEngine, OneEnginePerInstanceReleasedWithTheLastUser) {
  auto& cache = sg::EngineCache::process();
  {
    sg::CbinferDriver a, b, alone;
    a.open(settings(sparseinfer::Mode::Change, "shared-test", 0));
    b.open(settings(sparseinfer::Mode::Change, "shared-test", 0));
    alone.open(settings(sparseinfer::Mode::Change, "", 0));
    EXPECT_EQ(cache.users("shared-test"), 2);
    EXPECT_EQ(&a.model(), &b.model());
    EXPECT_NE(&a.model(), &alone.model());
    a.configure(kWidth, kHeight);
    b.configure(kWidth, kHeight);
    alone.configure(kWidth, kHeight);
    EXPECT_EQ(&a.engine(), &b.engine());  // weights and packed kernels once
    EXPECT_NE(&a.state(), &b.state());    // each stream its own state
    // Each stream keeps its own state: the same frames give the same results as alone.
    for (int t = 0; t < 4; ++t) {
      const auto pa = frame_pixels(0, t), pb = frame_pixels(1, t);
      a.infer(uint64_t(t), view_of(pa));
      b.infer(uint64_t(t), view_of(pb));
      alone.infer(uint64_t(t), view_of(pa));
      EXPECT_EQ(output_of(a), output_of(alone)) << "frame " << t;
    }
    b.close();
    EXPECT_EQ(cache.users("shared-test"), 1);
  }
  EXPECT_EQ(cache.users("shared-test"), 0);  // released when the last one stops
}

// Dense mode: the streams borrow an activation arena per frame (at most one
// per core) and still get exactly what each gets alone, from several threads.
TEST(SharedEngine, DenseStreamsBorrowStatesAndMatchAlone) {
  constexpr int kStreams = 4, kFrames = 3;
  std::vector<sg::CbinferDriver> drivers(kStreams);
  for (auto& d : drivers) {
    d.open(settings(sparseinfer::Mode::Dense, "dense-pool", 0));
    d.configure(kWidth, kHeight);
  }
  std::vector<std::vector<std::vector<float>>> shared(kStreams);
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s)
    threads.emplace_back([&, s] {
      for (int t = 0; t < kFrames; ++t) {
        const auto px = frame_pixels(s, t);
        drivers[size_t(s)].infer(uint64_t(t), view_of(px));
        shared[size_t(s)].push_back(output_of(drivers[size_t(s)]));
      }
    });
  for (auto& th : threads) th.join();
  for (int s = 0; s < kStreams; ++s) {
    sg::CbinferDriver alone;
    alone.open(settings(sparseinfer::Mode::Dense, "", 0));
    alone.configure(kWidth, kHeight);
    for (int t = 0; t < kFrames; ++t) {
      const auto px = frame_pixels(s, t);
      alone.infer(uint64_t(t), view_of(px));
      EXPECT_EQ(shared[size_t(s)][size_t(t)], output_of(alone)) << "stream " << s << " frame " << t;
    }
  }
}

TEST(SharedEngine, MismatchNamesTheProperty) {
  sg::CbinferDriver a, b, c, d;
  a.open(settings(sparseinfer::Mode::Change, "mismatch-test", 0));
  try {
    b.open(settings(sparseinfer::Mode::Dense, "mismatch-test", 0));
    FAIL() << "a dense member of a change-mode instance was accepted";
  } catch (const sg::SettingError& e) {
    EXPECT_EQ(e.property(), "mode");
    EXPECT_NE(std::string(e.what()).find("mismatch-test"), std::string::npos) << e.what();
  }
  sg::CbinferSettings other = settings(sparseinfer::Mode::Change, "mismatch-test", 0);
  other.model_path = kModels + "/detnet_small.onnx";
  try {
    c.open(other);
    FAIL() << "another model was accepted";
  } catch (const sg::SettingError& e) {
    EXPECT_EQ(e.property(), "model");
  }
  // Another frame size than the engine the instance runs.
  a.configure(kWidth, kHeight);
  d.open(settings(sparseinfer::Mode::Change, "mismatch-test", 0));
  try {
    d.configure(kWidth * 2, kHeight);
    FAIL() << "another input size was accepted";
  } catch (const sg::SettingError& e) {
    EXPECT_EQ(e.property(), "input-width");
  }
}

// Streams on their own threads, batched: each gets exactly what it gets alone
// (dense mode: the dense result; change mode at threshold 0: also the dense result).
static void batched_matches_alone(sparseinfer::Mode mode, const std::string& id) {
  constexpr int kStreams = 3, kFrames = 5;
  std::vector<std::vector<std::vector<float>>> batched(kStreams), alone(kStreams);
  {
    std::vector<sg::CbinferDriver> drivers(kStreams);
    for (auto& d : drivers) {
      d.open(settings(mode, id, 200000));
      d.configure(kWidth, kHeight);
      ASSERT_TRUE(d.batched());
    }
    std::vector<std::thread> threads;
    for (int s = 0; s < kStreams; ++s)
      threads.emplace_back([&, s] {
        for (int t = 0; t < kFrames; ++t) {
          // Stream 2 skips frame 2: a batch goes on without it.
          if (s == 2 && t == 2) continue;
          const auto px = frame_pixels(s, t);
          try {
            const sg::CbinferFrameStats stats = drivers[size_t(s)].infer(uint64_t(t), view_of(px));
            // After the first batch, change mode recomputes only what changed.
            if (mode == sparseinfer::Mode::Change && t > 0) {
              EXPECT_FALSE(stats.dense_frame) << "stream " << s;
            }
          } catch (const std::exception& e) {
            ADD_FAILURE() << "stream " << s << " frame " << t << ": " << e.what();
            return;
          }
          batched[size_t(s)].push_back(output_of(drivers[size_t(s)]));
        }
      });
    for (auto& th : threads) th.join();
  }
  for (int s = 0; s < kStreams; ++s) {
    sg::CbinferDriver d;
    d.open(settings(sparseinfer::Mode::Dense, "", 0));
    d.configure(kWidth, kHeight);
    for (int t = 0; t < kFrames; ++t) {
      if (s == 2 && t == 2) continue;
      const auto px = frame_pixels(s, t);
      d.infer(uint64_t(t), view_of(px));
      alone[size_t(s)].push_back(output_of(d));
    }
  }
  for (int s = 0; s < kStreams; ++s) {
    ASSERT_EQ(batched[size_t(s)].size(), alone[size_t(s)].size());
    for (size_t t = 0; t < alone[size_t(s)].size(); ++t)
      EXPECT_LE(max_difference(batched[size_t(s)][t], alone[size_t(s)][t]), 1e-4f) << "stream " << s << " frame " << t;
  }
}

TEST(StreamBatcher, DenseBatchMatchesEachStreamAlone) {
  batched_matches_alone(sparseinfer::Mode::Dense, "batch-dense");
}

TEST(StreamBatcher, ChangeBatchAtThresholdZeroMatchesDense) {
  batched_matches_alone(sparseinfer::Mode::Change, "batch-change");
}

// A member that never sends a frame does not hold the others longer than their timeout.
TEST(StreamBatcher, AbsentMemberCostsAtMostTheTimeout) {
  sg::CbinferDriver a, silent;
  a.open(settings(sparseinfer::Mode::Dense, "batch-timeout", 50000));
  silent.open(settings(sparseinfer::Mode::Dense, "batch-timeout", 50000));
  a.configure(kWidth, kHeight);
  silent.configure(kWidth, kHeight);
  const auto px = frame_pixels(0, 0);
  a.infer(0, view_of(px));  // compiles the batched engine
  const auto t0 = std::chrono::steady_clock::now();
  a.infer(1, view_of(px));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(ms, 50.0);    // it waited for the other member
  EXPECT_LT(ms, 2000.0);  // but not for ever (loaded machine: generous bound)
}

// saliencyscheduler: both networks shared under one id; a different schedule is refused by name.
TEST(SharedEngine, SaliencyRunnerShared) {
  sg::SaliencySettings sal;
  sal.options.large_model = kModels + "/saliency_large.onnx";
  sal.options.small_model = kModels + "/saliency_small.onnx";
  sal.options.threads = 1;
  sal.model_instance_id = "saliency-test";
  sg::SaliencyDriver a, b, c;
  a.open(sal);
  b.open(sal);
  EXPECT_EQ(&a.runner(), &b.runner());
  EXPECT_NE(&a.state(), &b.state());
  EXPECT_EQ(sg::EngineCache::process().users("saliency-test"), 2);
  sal.options.schedule.period = 5;
  try {
    c.open(sal);
    FAIL() << "another period was accepted";
  } catch (const sg::InstanceMismatch& e) {
    EXPECT_EQ(e.property(), "period");
  }
  // A cbinferconv cannot take a saliencyscheduler's instance.
  sg::CbinferDriver d;
  try {
    d.open(settings(sparseinfer::Mode::Change, "saliency-test", 0));
    FAIL() << "a cbinferconv took a saliencyscheduler's instance";
  } catch (const sg::SettingError& e) {
    EXPECT_EQ(e.property(), "model-instance-id");
  }
}

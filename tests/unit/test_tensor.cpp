// Tensor storage, the activation buffer planner and frame preprocessing.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/buffer_plan.h"
#include "sparseinfer/error.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/tensor.h"

using namespace sparseinfer;

TEST(Tensor, AllocatesZeroedAlignedStorage) {
  Tensor t(DType::Float32, {2, 3, 5});
  EXPECT_EQ(t.numel(), 30);
  EXPECT_EQ(t.bytes(), 120u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.f32()) % 64, 0u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(t.f32()[i], 0.0f);
}

TEST(Tensor, DescriptorHasNoData) {
  Tensor d = Tensor::descriptor(DType::Int64, {4});
  EXPECT_FALSE(d.has_data());
  EXPECT_EQ(d.bytes(), 0u);
  EXPECT_THROW(d.to_i64_vector(), Error);
}

TEST(Tensor, ReshapeKeepsDataAndRejectsCountChange) {
  Tensor t = Tensor::from_f32({2, 2}, {1, 2, 3, 4});
  t.reshape({4});
  EXPECT_EQ(t.shape(), (Shape{4}));
  EXPECT_EQ(t.f32()[3], 4.0f);
  EXPECT_THROW(t.reshape({3}), Error);
}

TEST(Tensor, AllocateRejectsNegativeDims) { EXPECT_THROW(Tensor(DType::Float32, {2, -1}), Error); }

TEST(Tensor, ViewSharesMemory) {
  std::vector<float> backing(6, 1.5f);
  Tensor v = Tensor::view(DType::Float32, {2, 3}, backing.data());
  v.f32()[4] = 7.0f;
  EXPECT_EQ(backing[4], 7.0f);
  EXPECT_EQ(v.to_f32_vector()[0], 1.5f);
  Tensor copy = v;  // a copy owns its data: the backing memory is reused by engines
  backing[0] = -1.0f;
  EXPECT_EQ(copy.f32()[0], 1.5f);
  EXPECT_EQ(copy.f32()[4], 7.0f);
  backing[0] = 1.5f;
  v.allocate(DType::Float32, {2});  // detaches from the backing memory
  v.f32()[0] = 3.0f;
  EXPECT_EQ(backing[0], 1.5f);
}

TEST(Tensor, ConversionsBetweenTypes) {
  Tensor i = Tensor::from_i64({3}, {-2, 0, 5});
  EXPECT_EQ(i.to_f32_vector(), (std::vector<float>{-2, 0, 5}));
  EXPECT_THROW(Tensor::from_f32({2}, {1, 2, 3}), Error);
}

TEST(BufferPlan, NonOverlappingLifetimesShareMemory) {
  // a(0..1) -> b(1..2) -> c(2..3): a and c never live together.
  std::vector<BufferRequest> req{{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  BufferPlan plan = plan_buffers(req);
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
  EXPECT_NE(plan.offsets[0], plan.offsets[1]);
  EXPECT_LE(plan.arena_bytes, 2 * 1024u);
}

TEST(BufferPlan, OverlappingLifetimesNeverAlias) {
  // Random intervals: every pair that is live at the same time must not overlap in memory.
  std::vector<BufferRequest> req;
  uint32_t seed = 7;
  auto rnd = [&](uint32_t m) {
    seed = seed * 1664525u + 1013904223u;  // LCG: reproducible without <random> distributions
    return (seed >> 8) % m;
  };
  for (int i = 0; i < 200; ++i) {
    int first = static_cast<int>(rnd(100));
    req.push_back({static_cast<size_t>(1 + rnd(5000)), first, first + static_cast<int>(rnd(20))});
  }
  BufferPlan plan = plan_buffers(req);
  for (size_t a = 0; a < req.size(); ++a)
    for (size_t b = a + 1; b < req.size(); ++b) {
      bool live_together = req[a].first_step <= req[b].last_step && req[b].first_step <= req[a].last_step;
      bool disjoint = plan.offsets[a] + req[a].bytes <= plan.offsets[b] || plan.offsets[b] + req[b].bytes <= plan.offsets[a];
      if (live_together) {
        EXPECT_TRUE(disjoint) << a << " and " << b;
      }
    }
  for (size_t a = 0; a < req.size(); ++a) EXPECT_EQ(plan.offsets[a] % 64, 0u);
}

TEST(Preprocess, NativeSizeNormalizesAndReordersChannels) {
  // One BGR pixel (b=10, g=20, r=30) into an RGB network with mean 0, std 1/255.
  uint8_t bgr[3] = {10, 20, 30};
  PreprocessOptions opt;
  opt.mean = {0, 0, 0};
  opt.std = {1.0f / 255.0f, 1.0f / 255.0f, 1.0f / 255.0f};
  Tensor out;
  preprocess_frame(bgr, 1, 1, 3, PixelFormat::BGR, opt, out);
  EXPECT_EQ(out.shape(), (Shape{1, 3, 1, 1}));
  EXPECT_NEAR(out.f32()[0], 30.0f, 1e-4);
  EXPECT_NEAR(out.f32()[1], 20.0f, 1e-4);
  EXPECT_NEAR(out.f32()[2], 10.0f, 1e-4);
}

TEST(Preprocess, BilinearDownscaleAveragesPixelPairs) {
  // A 4x1 gray ramp halved: pixel centres land between source pairs.
  uint8_t gray[4] = {0, 100, 200, 40};
  PreprocessOptions opt;
  opt.width = 2;
  opt.height = 1;
  opt.mean = {0, 0, 0};
  opt.std = {1.0f / 255.0f, 1.0f / 255.0f, 1.0f / 255.0f};
  Tensor out;
  preprocess_frame(gray, 4, 1, 4, PixelFormat::GRAY8, opt, out);
  EXPECT_NEAR(out.f32()[0], 50.0f, 1e-3);
  EXPECT_NEAR(out.f32()[1], 120.0f, 1e-3);
  EXPECT_NEAR(out.f32()[2], 50.0f, 1e-3);  // gray replicated to every channel
}

TEST(Preprocess, RejectsBadStride) {
  uint8_t px[12] = {};
  Tensor out;
  EXPECT_THROW(preprocess_frame(px, 4, 1, 8, PixelFormat::RGB, {}, out), Error);
}

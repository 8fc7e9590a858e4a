// Information gain (BlockCopy §3.4, Algorithm 1 and the pixelwise KL) on
// cases computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "policy/information_gain.h"
#include "sparseinfer/error.h"

using sparseinfer::policy::Detection;
using sparseinfer::policy::GridGeometry;

namespace {

Detection box(float x1, float y1, float x2, float y2, float score, int label = 0) {
  return Detection{x1, y1, x2, y2, score, label};
}

// 4 x 3 blocks of 10 px over a 40 x 30 image.
GridGeometry small_grid() {
  return GridGeometry::covering(40, 30, 10);
}

}  // namespace

TEST(DetectionInformationGain, NewDetectionGivesItsScore) {
  const auto ig = sparseinfer::policy::detection_information_gain({box(0, 0, 10, 10, 0.8f)}, {}, small_grid());
  ASSERT_EQ(ig.size(), 12u);
  EXPECT_FLOAT_EQ(ig[0], 0.8f);
  for (size_t b = 1; b < ig.size(); ++b) EXPECT_EQ(ig[b], 0.f) << "block " << b;
}

TEST(DetectionInformationGain, StaticDetectionGivesNothing) {
  const auto ig = sparseinfer::policy::detection_information_gain({box(12, 3, 27, 24, 0.9f)},
                                                                  {box(12, 3, 27, 24, 0.7f)}, small_grid());
  for (float v : ig) EXPECT_EQ(v, 0.f);
}

TEST(DetectionInformationGain, MovedDetectionMarksBothBoxes) {
  // IoU of [0,10]x[0,10] and [5,15]x[0,10] = 50 / 150 = 1/3.
  const auto ig = sparseinfer::policy::detection_information_gain({box(0, 0, 10, 10, 0.8f)}, {box(5, 0, 15, 10, 0.6f)},
                                                                  small_grid());
  EXPECT_NEAR(ig[0], (2.f / 3.f) * 0.8f, 1e-6);  // max of the current (0.533) and previous (0.4) box
  EXPECT_NEAR(ig[1], (2.f / 3.f) * 0.6f, 1e-6);  // only the previous box reaches block 1
  for (size_t b = 2; b < ig.size(); ++b) EXPECT_EQ(ig[b], 0.f) << "block " << b;
}

TEST(DetectionInformationGain, VanishedDetectionGivesItsScore) {
  // Block (col 2, row 1); the current box elsewhere matches nothing.
  const auto ig = sparseinfer::policy::detection_information_gain({box(31, 21, 39, 29, 0.5f)},
                                                                  {box(22, 12, 28, 18, 0.7f)}, small_grid());
  EXPECT_FLOAT_EQ(ig[1 * 4 + 2], 0.7f);
  EXPECT_FLOAT_EQ(ig[2 * 4 + 3], 0.5f);
  EXPECT_EQ(ig[0], 0.f);
}

TEST(DetectionInformationGain, OnlySameLabelsMatch) {
  const auto ig = sparseinfer::policy::detection_information_gain({box(0, 0, 10, 10, 0.8f, 1)},
                                                                  {box(0, 0, 10, 10, 0.6f, 2)}, small_grid());
  EXPECT_FLOAT_EQ(ig[0], 0.8f);  // new (label 1) and vanished (label 2): max(0.8, 0.6)
}

TEST(DetectionInformationGain, PixelCentresDecideCoverage) {
  // [9.6, 10.4) holds no pixel centre (9.5 and 10.5 are outside).
  auto ig = sparseinfer::policy::detection_information_gain({box(9.6f, 0, 10.4f, 10, 0.9f)}, {}, small_grid());
  for (float v : ig) EXPECT_EQ(v, 0.f);
  // [9.4, 10.6) holds pixels 9 and 10: blocks 0 and 1.
  ig = sparseinfer::policy::detection_information_gain({box(9.4f, 0, 10.6f, 10, 0.9f)}, {}, small_grid());
  EXPECT_FLOAT_EQ(ig[0], 0.9f);
  EXPECT_FLOAT_EQ(ig[1], 0.9f);
  EXPECT_EQ(ig[2], 0.f);
}

TEST(DetectionInformationGain, BoxesBeyondTheFrameAreClipped) {
  const auto ig = sparseinfer::policy::detection_information_gain({box(-20, 25, 5, 90, 0.3f)}, {}, small_grid());
  EXPECT_FLOAT_EQ(ig[2 * 4 + 0], 0.3f);
  EXPECT_EQ(ig[0], 0.f);
}

TEST(DetectionInformationGain, RefusesAGridThatDoesNotCoverTheImage) {
  GridGeometry g = small_grid();
  g.cols = 3;
  EXPECT_THROW(sparseinfer::policy::detection_information_gain({}, {}, g), sparseinfer::Error);
}

TEST(SegmentationInformationGain, BernoulliKlPerBlock) {
  // A 4x4 map over a 40x40 image with 20-px blocks: 2x2 blocks, 2x2 map
  // pixels each.
  const GridGeometry g = GridGeometry::covering(40, 40, 20);
  std::vector<float> prev(16, 0.5f), cur(16, 0.5f);
  cur[0 * 4 + 3] = 0.9f;  // map pixel (x 3, y 0): block (col 1, row 0)
  cur[3 * 4 + 0] = 0.2f;  // map pixel (x 0, y 3): block (col 0, row 1)
  const auto ig = sparseinfer::policy::segmentation_information_gain(cur.data(), prev.data(), 1, 4, 4, g);
  ASSERT_EQ(ig.size(), 4u);
  const double kl09 = 0.9 * std::log(0.9 / 0.5) + 0.1 * std::log(0.1 / 0.5);
  const double kl02 = 0.2 * std::log(0.2 / 0.5) + 0.8 * std::log(0.8 / 0.5);
  EXPECT_EQ(ig[0], 0.f);
  EXPECT_NEAR(ig[1], kl09, 1e-6);
  EXPECT_NEAR(ig[2], kl02, 1e-6);
  EXPECT_EQ(ig[3], 0.f);
}

TEST(SegmentationInformationGain, TwoChannelsEqualTheBernoulliCase) {
  const GridGeometry g = GridGeometry::covering(40, 40, 20);
  std::vector<float> prev(2 * 16), cur(2 * 16);
  for (int i = 0; i < 16; ++i) {
    const float p = 0.1f + 0.05f * float(i), q = 0.7f - 0.03f * float(i);
    cur[i] = p;
    cur[16 + i] = 1.f - p;
    prev[i] = q;
    prev[16 + i] = 1.f - q;
  }
  std::vector<float> cur1(cur.begin(), cur.begin() + 16), prev1(prev.begin(), prev.begin() + 16);
  const auto two = sparseinfer::policy::segmentation_information_gain(cur.data(), prev.data(), 2, 4, 4, g);
  const auto one = sparseinfer::policy::segmentation_information_gain(cur1.data(), prev1.data(), 1, 4, 4, g);
  for (size_t b = 0; b < 4; ++b) {
    EXPECT_NEAR(two[b], one[b], 1e-6);
    EXPECT_GT(one[b], 0.f);
  }
  // Block 0 holds map pixels 0, 1, 4, 5; the largest KL of those is pixel 0's
  // (p 0.1 against q 0.7): the max of eq. 1, not a sum.
  const double kl0 = 0.1 * std::log(0.1 / 0.7) + 0.9 * std::log(0.9 / 0.3);
  EXPECT_NEAR(one[0], kl0, 1e-5);
}

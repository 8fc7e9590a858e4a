// The input checks of issue 14, point 5, below the element: settings that
// would make every frame NaN, a detection task on outputs that are not
// detections, and the decoder's degenerate boxes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cbinfer_driver.h"
#include "sparseinfer/decode.h"

namespace sg = sparseinfer::gst;
using sparseinfer::Tensor;

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;

// The property a SettingError names, or "" when `settings` pass.
std::string refused_property(const sg::CbinferSettings& settings) {
  try {
    sg::validate_settings(settings);
  } catch (const sg::SettingError& e) {
    return e.property();
  }
  return "";
}

// One class on a 4x4 grid of 8-pixel cells: peaks at (1,1) and (2,3) with
// the given (left, top, right, bottom) distances in cells.
std::vector<sg::Detection> decode_two(const float first[4], const float second[4]) {
  std::vector<float> heat(16, 0.0f), boxes(4 * 16, 1.0f);
  heat[1 * 4 + 1] = 0.9f;
  heat[2 * 4 + 3] = 0.8f;
  for (int c = 0; c < 4; ++c) {
    boxes[size_t(c) * 16 + 1 * 4 + 1] = first[c];
    boxes[size_t(c) * 16 + 2 * 4 + 3] = second[c];
  }
  sg::DetectionParams params;
  params.score_threshold = 0.5f;
  return sparseinfer::decode_centernet(Tensor::from_f32({1, 1, 4, 4}, heat), Tensor::from_f32({1, 4, 4, 4}, boxes), 32,
                                       32, params);
}

}  // namespace

TEST(InputChecks, MeanAndStd) {
  sg::CbinferSettings s;
  EXPECT_EQ(refused_property(s), "");
  s.std = {0.0, 0.0, 0.0};
  EXPECT_EQ(refused_property(s), "std");
  s.std = {0.2, 0.0, 0.2};
  EXPECT_EQ(refused_property(s), "std");
  s.std = {0.2, std::numeric_limits<double>::quiet_NaN(), 0.2};
  EXPECT_EQ(refused_property(s), "std");
  s = sg::CbinferSettings();
  s.std_count = 4;
  EXPECT_EQ(refused_property(s), "std");
  s = sg::CbinferSettings();
  s.mean_count = 2;
  EXPECT_EQ(refused_property(s), "mean");
  s = sg::CbinferSettings();
  s.mean = {0.5, std::numeric_limits<double>::infinity(), 0.5};
  EXPECT_EQ(refused_property(s), "mean");
}

TEST(InputChecks, DetectionTaskNeedsDetectionOutputs) {
  sg::CbinferSettings s;
  s.model_path = kModels + "/segnet_small.onnx";
  s.task = GST_SPARSEINFER_TASK_DETECTION;
  sg::CbinferDriver driver;
  try {
    driver.open(s);
    FAIL() << "task=detection accepted on segnet_small";
  } catch (const sg::SettingError& e) {
    EXPECT_EQ(e.property(), "task");
    EXPECT_NE(std::string(e.what()).find("heatmap"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(driver.is_open());

  s.model_path = kModels + "/detnet_small.onnx";
  EXPECT_NO_THROW(driver.open(s));
  EXPECT_EQ(driver.task(), GST_SPARSEINFER_TASK_DETECTION);
}

TEST(InputChecks, FrameSizeSuggestion) {
  sg::CbinferSettings s;
  s.model_path = kModels + "/segnet_small.onnx";
  s.threads = 1;
  sg::CbinferDriver driver;
  driver.open(s);
  EXPECT_THROW(driver.configure(321, 241), sparseinfer::Error);
  auto size = driver.suggest_input_size(321, 241);
  ASSERT_TRUE(size.has_value());
  EXPECT_LE(size->first, 321);
  EXPECT_LE(size->second, 241);
  EXPECT_NO_THROW(driver.configure(size->first, size->second));
}

TEST(DetectionDecoder, DropsDegenerateBoxes) {
  const float good[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  const float zero_width[4] = {0.0f, 0.5f, 0.0f, 0.5f};
  const float zero_height[4] = {0.5f, 0.0f, 0.5f, 0.0f};
  const float inverted[4] = {-0.6f, 0.5f, 0.2f, 0.5f};  // x2 < x1
  const float nan[4] = {std::nanf(""), 0.5f, 0.5f, 0.5f};
  EXPECT_EQ(decode_two(good, good).size(), 2u);
  for (const float* bad : {zero_width, zero_height, inverted, nan}) {
    std::vector<sg::Detection> d = decode_two(good, bad);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_FLOAT_EQ(d[0].score, 0.9f);
    EXPECT_GT(d[0].x2, d[0].x1);
    EXPECT_GT(d[0].y2, d[0].y1);
  }
  // A box pushed entirely past the border clamps to zero width.
  const float outside[4] = {-3.0f, 0.5f, 3.5f, 0.5f};  // from cell centre 28: x from 52 to 56, clamped to 32..32
  std::vector<sg::Detection> d = decode_two(good, outside);
  EXPECT_EQ(d.size(), 1u);
}

TEST(DetectionDecoder, IsDegenerate) {
  EXPECT_FALSE(sparseinfer::is_degenerate({0, 0, 1, 1, 0.5f, 0}));
  EXPECT_TRUE(sparseinfer::is_degenerate({1, 0, 1, 1, 0.5f, 0}));
  EXPECT_TRUE(sparseinfer::is_degenerate({0, 1, 1, 1, 0.5f, 0}));
  EXPECT_TRUE(sparseinfer::is_degenerate({2, 0, 1, 1, 0.5f, 0}));
}

// The model description (MODEL.onnx.json, metadata_props) and the output
// decoders: wrong fields are named, absent descriptions keep the defaults,
// and each decoder maps known outputs to known results in frame pixels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "decode/decoders.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/preprocess.h"

namespace si = sparseinfer;
namespace fs = std::filesystem;

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;

// A copy of an example model in a fresh folder, so a test controls what lies beside it.
class ModelCopy {
 public:
  explicit ModelCopy(const std::string& name) {
    dir_ = fs::temp_directory_path() / ("sparseinfer-desc-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const fs::path src = fs::path(kModels) / name;
    if (!fs::exists(src)) throw si::Error("missing test model " + src.string());
    path_ = (dir_ / name).string();
    fs::copy_file(src, path_);
  }
  ~ModelCopy() { fs::remove_all(dir_); }
  const std::string& path() const { return path_; }
  void write_description(const std::string& json) const { std::ofstream(path_ + ".json") << json; }

 private:
  fs::path dir_;
  std::string path_;
};

std::string error_of(const std::string& json) {
  try {
    si::parse_model_description(json, "m.onnx.json");
  } catch (const si::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelDescription, AbsentKeepsTheDefaults) {
  ModelCopy copy("detnet_small.onnx");
  const si::ModelDescription d = si::load_model_description(copy.path());
  EXPECT_FALSE(d.present);
  EXPECT_EQ(d.decoder, si::DecoderKind::None);
  const si::PreprocessOptions want;  // what every model got before descriptions existed
  const si::PreprocessOptions got = si::preprocess_options(d, 64, 32);
  EXPECT_EQ(got.rgb, want.rgb);
  EXPECT_EQ(got.resize, si::ResizeMode::Stretch);
  EXPECT_EQ(got.scale, want.scale);
  EXPECT_EQ(got.mean, want.mean);
  EXPECT_EQ(got.std, want.std);
  // And the same input tensor, bit for bit.
  std::vector<uint8_t> pixels(40 * 20 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 37);
  si::PreprocessOptions sized = want;
  sized.width = 64;
  sized.height = 32;
  si::Tensor a, b;
  si::preprocess_frame(pixels.data(), 40, 20, 120, si::PixelFormat::RGB, sized, a);
  si::preprocess_frame(pixels.data(), 40, 20, 120, si::PixelFormat::RGB, got, b);
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.f32()[i], b.f32()[i]);
}

TEST(ModelDescription, WrongFieldsAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"input": {"mean": [1, 2]}})", "input.mean"},
      {R"({"input": {"std": [1, 0, 1]}})", "input.std[1]"},
      {R"({"input": {"color_order": "RBG"}})", "input.color_order"},
      {R"({"input": {"resize": "crop"}})", "input.resize"},
      {R"({"input": {"scale": 0}})", "input.scale"},
      {R"({"input": {"letterbox_fill": 300}})", "input.letterbox_fill"},
      {R"({"inputs": {}})", "inputs: unknown field"},
      {R"({"labels": ["a", 1]})", "labels[1]"},
      {R"({"version": 2})", "version"},
      {R"({"decoder": {}})", "decoder.type"},
      {R"({"decoder": {"type": "yolo"}})", "decoder.type"},
      {R"({"decoder": {"type": "ssd", "score_threshold": 2}})", "decoder.score_threshold"},
      {R"({"decoder": {"type": "ssd", "max_detections": 1.5}})", "decoder.max_detections"},
      {R"({"decoder": {"type": "ssd", "anchors": {"min_scale": "x"}}})", "decoder.anchors.min_scale"},
      {R"({"decoder": {"type": "ssd", "anchors": {"aspect_ratios": [1, -2]}}})", "decoder.anchors.aspect_ratios[1]"},
      {R"({"decoder": {"type": "ssd", "box_coder": {"h_scale": 0}}})", "decoder.box_coder.h_scale"},
      {R"({"decoder": {"type": "ssd", "scores": "softmax"}})", "decoder.scores"},
      {R"({"decoder": {"type": "segmentation", "activaton": "none"}})", "decoder.activaton: unknown field"},
      {R"({"decoder": {"type": "segmentation", "activation": "relu"}})", "decoder.activation"},
      {R"({"decoder": {"type": "classification", "output": 3}})", "decoder.output"},
      {R"({"decoder": {"type": "centernet", "heatmap_output": null}})", "decoder.heatmap_output"},
      {"[1, 2]", "the description: must be a JSON object"},
      {"{", "not valid JSON"},
  };
  for (const auto& [json, field] : cases) {
    const std::string what = error_of(json);
    EXPECT_NE(what.find("m.onnx.json: "), std::string::npos) << json << " -> " << what;
    EXPECT_NE(what.find(field), std::string::npos) << json << " -> " << what;
  }
}

TEST(ModelDescription, FileBesideTheModel) {
  ModelCopy copy("detnet_small.onnx");
  copy.write_description(R"({"decoder": {"type": "centernet", "score_threshold": 0.3}, "labels": ["a", "b", "c"]})");
  const si::ModelDescription d = si::load_model_description(copy.path());
  EXPECT_TRUE(d.present);
  EXPECT_EQ(d.source, copy.path() + ".json");
  EXPECT_EQ(d.decoder, si::DecoderKind::Centernet);
  EXPECT_FLOAT_EQ(d.detection.score_threshold, 0.3f);
  EXPECT_EQ(si::label_name(d, 1), "b");
  EXPECT_EQ(si::label_name(d, 7), "7");

  // An output the model does not have is named, with the field, once the model is known.
  copy.write_description(R"({"decoder": {"type": "centernet", "boxes_output": "nope"}})");
  try {
    si::load_model_description(si::load_model(copy.path()));
    FAIL() << "no error for a missing output";
  } catch (const si::Error& e) {
    EXPECT_NE(std::string(e.what()).find("decoder.boxes_output"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(copy.path() + ".json"), std::string::npos) << e.what();
  }
  // A malformed file names itself and the field.
  copy.write_description(R"({"input": {"resize": 3}})");
  try {
    si::load_model_description(copy.path());
    FAIL() << "no error for a wrong field";
  } catch (const si::Error& e) {
    EXPECT_NE(std::string(e.what()).find(copy.path() + ".json: input.resize"), std::string::npos) << e.what();
  }
}

TEST(ModelDescription, MetadataProps) {
  ModelCopy copy("segnet_small.onnx");
  si::Model m = si::load_model(copy.path());
  m.metadata[si::kModelDescriptionMetadataKey] =
      R"({"input": {"color_order": "BGR"}, "decoder": {"type": "segmentation"}})";
  m.metadata["labels"] = "sky,road";
  const si::ModelDescription d = si::load_model_description(m);
  EXPECT_TRUE(d.present);
  EXPECT_FALSE(d.rgb);
  EXPECT_EQ(d.decoder, si::DecoderKind::Segmentation);
  EXPECT_EQ(d.labels, (std::vector<std::string>{"sky", "road"}));  // from the "labels" entry
  m.metadata[si::kModelDescriptionMetadataKey] = R"({"decoder": {"type": "segmentation", "threshold": -1}})";
  try {
    si::load_model_description(m);
    FAIL() << "no error for a wrong embedded field";
  } catch (const si::Error& e) {
    EXPECT_NE(std::string(e.what()).find("metadata_props[sparseinfer.model_description]: decoder.threshold"),
              std::string::npos)
        << e.what();
  }
}

TEST(ModelDescription, PretrainedDescriptionsLoad) {
  for (const char* name : {"ssdlite_mbv2_pedestrian_300.onnx", "ssdlite_mbv2_pedestrian_dyn.onnx",
                           "mp_selfie_segmentation.onnx", "mp_selfie_segmentation_dyn.onnx"}) {
    const si::ModelDescription d = si::load_model_description(si::load_model(kModels + "/pretrained/" + name));
    EXPECT_TRUE(d.present) << name;
    EXPECT_NE(d.decoder, si::DecoderKind::None) << name;
  }
  for (const char* name :
       {"detnet_small.onnx", "segnet_small.onnx", "cbinfer_personlabel.onnx", "cbinfer_scenelabel.onnx"}) {
    const si::ModelDescription d = si::load_model_description(si::load_model(kModels + "/" + name));
    EXPECT_TRUE(d.present) << name;
  }
}

TEST(Preprocess, LetterboxPlacesTheFrameAndFillsTheBars) {
  // A 4x2 frame into a 4x4 input: rows 1-2 hold the frame, rows 0 and 3 the fill.
  std::vector<uint8_t> pixels(4 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(10 * i);
  si::PreprocessOptions o;
  o.width = o.height = 4;
  o.resize = si::ResizeMode::Letterbox;
  o.letterbox_fill = 114;
  o.scale = 1.0f;
  o.mean = {0, 0, 0};
  o.std = {1, 1, 1};
  const si::ResizePlacement p = si::resize_placement(4, 2, o);
  EXPECT_EQ(p.x, 0);
  EXPECT_EQ(p.y, 1);
  EXPECT_EQ(p.width, 4);
  EXPECT_EQ(p.height, 2);
  si::Tensor t;
  si::preprocess_frame(pixels.data(), 4, 2, 12, si::PixelFormat::RGB, o, t);
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 4; ++x) {
      EXPECT_EQ(t.f32()[c * 16 + 0 * 4 + x], 114.0f);
      EXPECT_EQ(t.f32()[c * 16 + 3 * 4 + x], 114.0f);
      EXPECT_EQ(t.f32()[c * 16 + 1 * 4 + x], float(pixels[size_t(x * 3 + c)]));
      EXPECT_EQ(t.f32()[c * 16 + 2 * 4 + x], float(pixels[size_t(12 + x * 3 + c)]));
    }
  // A box on the picture maps back to frame pixels through the bars.
  const si::FrameGeometry g = si::frame_geometry(4, 2, o);
  const si::Detection d = si::decode::to_frame_pixels({1, 1, 3, 3, 1, 0}, g);
  EXPECT_FLOAT_EQ(d.x1, 1);
  EXPECT_FLOAT_EQ(d.y1, 0);
  EXPECT_FLOAT_EQ(d.x2, 3);
  EXPECT_FLOAT_EQ(d.y2, 2);
  // Stretch and scale: value = (pixel * scale - mean) / std.
  o.resize = si::ResizeMode::Stretch;
  o.width = 4;
  o.height = 2;
  o.scale = 1.0f / 127.5f;
  o.mean = {1, 1, 1};
  si::preprocess_frame(pixels.data(), 4, 2, 12, si::PixelFormat::RGB, o, t);
  EXPECT_NEAR(t.f32()[0], pixels[0] / 127.5f - 1, 1e-6);
  EXPECT_NEAR(t.f32()[8 + 5], pixels[5 * 3 + 1] / 127.5f - 1, 1e-6);
}

TEST(SsdDecoder, AnchorsOfThePretrainedModel) {
  const si::SsdAnchorParams p;  // the TF OD API SSDLite configuration
  EXPECT_EQ(si::decode::ssd_anchors(p, 300, 300).size(), 1917u);
  // Layer 0 at 300x300 is a 19x19 grid of 3 anchors; the first is (0.1, ratio 1) at the first cell centre.
  const si::decode::Anchor a = si::decode::ssd_anchors(p, 300, 300)[0];
  EXPECT_FLOAT_EQ(a.yc, 0.5f / 19);
  EXPECT_FLOAT_EQ(a.h, 0.1f);
  // Twice as wide as high: normalized widths scale by min(H, W)/W = 1/2, so the anchor stays square in pixels.
  const si::decode::Anchor w = si::decode::ssd_anchors(p, 300, 600)[0];
  EXPECT_FLOAT_EQ(w.h, 0.1f);
  EXPECT_FLOAT_EQ(w.w, 0.05f);
}

TEST(SsdDecoder, ZeroEncodingsGiveTheAnchorInFramePixels) {
  si::ModelDescription d;
  d.decoder = si::DecoderKind::Ssd;
  d.detection.score_threshold = 0.5f;
  d.detection.iou_threshold = 0.6f;
  const auto anchors = si::decode::ssd_anchors(d.ssd.anchors, 300, 300);
  const int64_t n = int64_t(anchors.size());
  std::vector<float> enc(size_t(n) * 4, 0.0f), scores(size_t(n) * 2, 0.0f);
  scores[size_t(7) * 2 + 1] = 0.9f;  // anchor 7, class 1
  scores[size_t(8) * 2 + 0] = 0.9f;  // background only: never a box
  const si::Tensor e = si::Tensor::from_f32({1, n, 4}, enc), s = si::Tensor::from_f32({1, n, 2}, scores);
  si::FrameGeometry g{300, 300, 600, 900, 0, 0, 300, 300};
  const si::DecodeResult r = si::decode_outputs(d, {{"box_encodings", &e}, {"scores", &s}}, g);
  ASSERT_EQ(r.detections.size(), 1u);
  const si::decode::Anchor& a = anchors[7];
  EXPECT_NEAR(r.detections[0].x1, (a.xc - a.w / 2) * 600, 1e-3);
  EXPECT_NEAR(r.detections[0].y2, (a.yc + a.h / 2) * 900, 1e-3);
  EXPECT_FLOAT_EQ(r.detections[0].score, 0.9f);
  EXPECT_EQ(r.detections[0].label, 1);
  // Outputs that do not fit the anchors are refused with the sizes.
  const si::Tensor short_e = si::Tensor::from_f32({1, 4, 4}, std::vector<float>(16, 0.f));
  const si::Tensor short_s = si::Tensor::from_f32({1, 4, 2}, std::vector<float>(8, 0.f));
  EXPECT_THROW(si::decode_outputs(d, {{"a", &short_e}, {"b", &short_s}}, g), si::Error);
}

TEST(CenternetDecoder, DecodeOutputsScalesToTheFrame) {
  si::ModelDescription d;
  d.decoder = si::DecoderKind::Centernet;
  std::vector<float> heat(16, 0.0f), boxes(64, 0.0f);
  heat[5] = 0.9f;                                                // cell (1, 1)
  for (int k = 0; k < 4; ++k) boxes[size_t(k * 16 + 5)] = 0.5f;  // half a cell each way
  const si::Tensor h = si::Tensor::from_f32({1, 1, 4, 4}, heat), b = si::Tensor::from_f32({1, 4, 4, 4}, boxes);
  const std::vector<si::Detection> net = si::decode_centernet(h, b, 32, 32, d.detection);
  ASSERT_EQ(net.size(), 1u);
  si::PreprocessOptions o;
  o.width = o.height = 32;
  const si::DecodeResult r = si::decode_outputs(d, {{"heatmap", &h}, {"boxes", &b}}, si::frame_geometry(64, 96, o));
  ASSERT_EQ(r.detections.size(), 1u);
  EXPECT_FLOAT_EQ(r.detections[0].x1, net[0].x1 * 2);
  EXPECT_FLOAT_EQ(r.detections[0].y2, net[0].y2 * 3);
}

TEST(SegmentationDecoder, ArgMaxAndOneChannel) {
  si::ModelDescription d;
  d.decoder = si::DecoderKind::Segmentation;
  // 3 classes on a 2x2 map: class 2, 0, 1, 2.
  const si::Tensor scores = si::Tensor::from_f32({1, 3, 2, 2}, {0, 5, 0, 0, /**/ 0, 0, 5, 0, /**/ 5, 0, 0, 5});
  si::PreprocessOptions o;
  o.width = o.height = 2;
  si::DecodeResult r = si::decode_outputs(d, {{"scores", &scores}}, si::frame_geometry(2, 2, o));
  EXPECT_EQ(r.class_map, (std::vector<int32_t>{2, 0, 1, 2}));
  EXPECT_EQ(r.class_fractions, (std::vector<double>{0.25, 0.25, 0.5}));
  // Softmax needs two or more channels.
  const si::Tensor one = si::Tensor::from_f32({1, 1, 2, 2}, {0.2f, 0.7f, 0.9f, 0.5f});
  EXPECT_THROW(si::decode_outputs(d, {{"p", &one}}, si::frame_geometry(2, 2, o)), si::Error);
  d.segmentation.activation = si::SegmentationActivation::None;
  r = si::decode_outputs(d, {{"p", &one}}, si::frame_geometry(2, 2, o));
  EXPECT_EQ(r.class_map, (std::vector<int32_t>{0, 1, 1, 0}));  // 0.5 is not above the threshold
  d.segmentation.activation = si::SegmentationActivation::Sigmoid;
  const si::Tensor logits = si::Tensor::from_f32({1, 1, 2, 2}, {-1.0f, 1.0f, 0.1f, -0.1f});
  r = si::decode_outputs(d, {{"p", &logits}}, si::frame_geometry(2, 2, o));
  EXPECT_EQ(r.class_map, (std::vector<int32_t>{0, 1, 1, 0}));
  // Letterboxed: only the frame's rows count.
  o.resize = si::ResizeMode::Letterbox;
  const si::FrameGeometry g = si::frame_geometry(2, 1, o);  // picture in row 0 or 1 of 2
  r = si::decode_outputs(d, {{"p", &logits}}, g);
  EXPECT_EQ(r.map_height, 1);
  EXPECT_EQ(r.map_width, 2);
}

TEST(ClassificationDecoder, SoftmaxTopClass) {
  si::ModelDescription d;
  d.decoder = si::DecoderKind::Classification;
  const si::Tensor logits = si::Tensor::from_f32({1, 3}, {1.0f, 3.0f, 2.0f});
  const si::DecodeResult r = si::decode_outputs(d, {{"logits", &logits}}, {4, 4, 4, 4, 0, 0, 4, 4});
  EXPECT_EQ(r.top_class, 1);
  const double want = std::exp(3.0) / (std::exp(1.0) + std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(r.top_score, want, 1e-6);
}

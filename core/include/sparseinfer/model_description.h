// The model description: what a network expects as input and how its outputs
// are decoded, kept beside the ONNX file (like DL Streamer's model-proc or
// NNStreamer's decoder options). docs/models.md documents the format.
//
// Sources, first found wins:
//   1. MODEL.onnx.json, the file beside MODEL.onnx (MODEL.onnx + ".json");
//   2. the model's metadata_props entry kModelDescriptionMetadataKey, holding
//      the same JSON text.
// A model with neither has an absent description (`present` false) and keeps
// the defaults below, which are the behaviour of models without one.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"

namespace sparseinfer {

// metadata_props key of an embedded description (JSON text).
inline constexpr const char* kModelDescriptionMetadataKey = "sparseinfer.model_description";

enum class DecoderKind { None, Ssd, Centernet, Segmentation, Classification };

// "none", "ssd", "centernet", "segmentation", "classification".
const char* decoder_kind_name(DecoderKind kind);

// TF Object Detection API ssd_anchor_generator (anchor_generator.proto), for
// a free input size: feature map l has ceil(H / (first_stride * 2^l)) rows
// (each map the ceil-half of the one before), cells of ratio/scale boxes at
// the cell centres, in normalized image coordinates.
struct SsdAnchorParams {
  int num_layers = 6;
  float min_scale = 0.2f;
  float max_scale = 0.95f;
  std::vector<float> aspect_ratios{1.0f, 2.0f, 0.5f, 3.0f, 1.0f / 3.0f};
  // One more anchor of this ratio at sqrt(s_l * s_{l+1}) per cell (0: none).
  float interpolated_scale_aspect_ratio = 1.0f;
  // Layer 0 uses (0.1, 1), (min_scale, 2), (min_scale, 1/2) only.
  bool reduce_boxes_in_lowest_layer = true;
  int first_stride = 16;  // stride of feature map 0 in input pixels
};

// faster_rcnn box coder: encodings (ty, tx, th, tw) divided by these scales.
struct BoxCoderParams {
  float y_scale = 10.0f, x_scale = 10.0f, h_scale = 5.0f, w_scale = 5.0f;
};

// What the detection decoders keep; element properties override these.
struct DetectionParams {
  float score_threshold = 0.5f;  // keep scores above this
  float iou_threshold = 0.5f;    // NMS: drop a box overlapping a better one of its class by more
  int max_detections = 100;
};

struct SsdParams {
  std::string boxes_output;   // [1, A, 4] box encodings; "" = the model's first output
  std::string scores_output;  // [1, A, C] class scores; "" = the second output
  // Scores are probabilities already (true), or logits that get a sigmoid (false).
  bool scores_are_probabilities = true;
  // Class 0 of the scores is background and never becomes a box.
  bool has_background_class = true;
  SsdAnchorParams anchors;
  BoxCoderParams box_coder;
};

struct CenternetParams {
  std::string heatmap_output = "heatmap";  // [1, K, h, w] sigmoid centre scores
  std::string boxes_output = "boxes";      // [1, 4, h, w] left, top, right, bottom in cells
};

enum class SegmentationActivation {
  Softmax,  // [1, C, H, W] class scores; each pixel gets its arg-max class
  Sigmoid,  // [1, 1, H, W] logits; class 1 where sigmoid(x) > threshold, else class 0
  None,     // [1, 1, H, W] probabilities; class 1 where x > threshold, else class 0
};

struct SegmentationParams {
  std::string output;  // "" = the model's first output
  SegmentationActivation activation = SegmentationActivation::Softmax;
  float threshold = 0.5f;  // one-channel models only
};

struct ClassificationParams {
  std::string output;   // [1, C] (or [1, C, 1, 1]); "" = the first output
  bool softmax = true;  // scores are logits (softmax applied) or probabilities
};

struct ModelDescription {
  bool present = false;  // false: no description found, the defaults below apply
  std::string source;    // the JSON file or "MODEL.onnx metadata_props[KEY]"; "" when absent

  // Input preprocessing: value = (pixel * scale - mean[c]) / std[c], pixel in
  // 0..255, channels in `color_order`, frame resized by `resize` to the
  // network input size. The defaults are those of models without a description.
  bool rgb = true;  // "color_order": "RGB" or "BGR"
  ResizeMode resize = ResizeMode::Stretch;
  float letterbox_fill = 0.0f;  // pixel value (0..255) of the letterbox bars
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};

  // Class names, indexed by the decoder's class index; falls back to the
  // model's "labels" metadata entry (class_labels) when the JSON has none.
  std::vector<std::string> labels;

  DecoderKind decoder = DecoderKind::None;
  DetectionParams detection;  // ssd and centernet
  SsdParams ssd;
  CenternetParams centernet;
  SegmentationParams segmentation;
  ClassificationParams classification;
};

// Reads the description of the model at `model_path` (the JSON file beside it,
// else the ONNX file's metadata_props; the ONNX file is only read when there is
// no JSON file). Absent when neither exists. Throws Error naming the file and
// the JSON field (e.g. "m.onnx.json: decoder.anchors.min_scale: must be a number")
// when the description is malformed.
ModelDescription load_model_description(const std::string& model_path);

// The same for a model already loaded (model.path locates the JSON file, model.metadata
// holds the embedded one). Also checks the output names the decoder refers to
// against the model's outputs (naming the field when one is missing).
ModelDescription load_model_description(const Model& model);

// Parses description JSON text; `source` names it in errors. Throws Error.
ModelDescription parse_model_description(const std::string& json_text, const std::string& source);

// Preprocessing for a network input of width x height (0 keeps the frame's size).
PreprocessOptions preprocess_options(const ModelDescription& description, int width, int height);

// Name of class `index`: labels[index] when it exists and is not empty, else the index in decimal.
std::string label_name(const ModelDescription& description, int index);

}  // namespace sparseinfer

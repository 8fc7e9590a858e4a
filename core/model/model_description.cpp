// Reads the model description (MODEL.onnx.json or the metadata_props entry)
// into a ModelDescription. Every field is checked by name and type, and an
// unknown field is an error too, so a typo cannot silently fall back to a default.
#include "sparseinfer/model_description.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sparseinfer/error.h"

namespace sparseinfer {

const char* decoder_kind_name(DecoderKind kind) {
  switch (kind) {
    case DecoderKind::None:
      return "none";
    case DecoderKind::Ssd:
      return "ssd";
    case DecoderKind::Centernet:
      return "centernet";
    case DecoderKind::Segmentation:
      return "segmentation";
    case DecoderKind::Classification:
      return "classification";
  }
  return "none";
}

namespace {

using Json = nlohmann::json;

// One JSON object being read: knows its path for errors and which keys it may hold.
class Fields {
 public:
  Fields(const Json& object, std::string path, const std::string& source)
      : j_(object), path_(std::move(path)), source_(source) {
    if (!j_.is_object()) fail(path_.empty() ? "the description" : path_, "must be a JSON object");
  }

  [[noreturn]] void fail(const std::string& field, const std::string& why) const {
    throw Error(source_ + ": " + field + ": " + why);
  }
  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const std::string& key) const { return j_.contains(key); }
  const Json& at(const std::string& key) const { return j_.at(key); }

  void allow_only(const std::set<std::string>& keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!keys.count(it.key())) fail(name(it.key()), "unknown field");
  }

  void number(const std::string& key, float& out, double lo, double hi) const {
    if (!has(key)) return;
    const Json& v = at(key);
    if (!v.is_number()) fail(name(key), "must be a number");
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
      fail(name(key), "must be between " + fmt(lo) + " and " + fmt(hi) + ", got " + fmt(x));
    out = float(x);
  }
  void positive(const std::string& key, float& out) const {
    if (!has(key)) return;
    number(key, out, -1e30, 1e30);
    if (!(out > 0)) fail(name(key), "must be greater than 0");
  }
  void integer(const std::string& key, int& out, int lo, int hi) const {
    if (!has(key)) return;
    const Json& v = at(key);
    if (!v.is_number_integer()) fail(name(key), "must be an integer");
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) fail(name(key), "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    out = int(x);
  }
  void boolean(const std::string& key, bool& out) const {
    if (!has(key)) return;
    if (!at(key).is_boolean()) fail(name(key), "must be true or false");
    out = at(key).get<bool>();
  }
  void string(const std::string& key, std::string& out) const {
    if (!has(key)) return;
    if (!at(key).is_string()) fail(name(key), "must be a string");
    out = at(key).get<std::string>();
  }
  // One of `choices`; returns its index, or -1 when absent.
  int choice(const std::string& key, const std::vector<std::string>& choices) const {
    if (!has(key)) return -1;
    std::string v;
    string(key, v);
    for (size_t i = 0; i < choices.size(); ++i)
      if (v == choices[i]) return int(i);
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i) list += (i ? ", " : "") + choices[i];
    fail(name(key), "must be one of " + list + ", got '" + v + "'");
  }
  void triple(const std::string& key, std::array<float, 3>& out, bool nonzero) const {
    if (!has(key)) return;
    const Json& v = at(key);
    if (!v.is_array() || v.size() != 3) fail(name(key), "must be an array of 3 numbers (one per channel)");
    for (size_t c = 0; c < 3; ++c) {
      if (!v[c].is_number() || !std::isfinite(v[c].get<double>()))
        fail(name(key) + "[" + std::to_string(c) + "]", "must be a number");
      out[c] = v[c].get<float>();
      if (nonzero && out[c] == 0) fail(name(key) + "[" + std::to_string(c) + "]", "must not be 0");
    }
  }

 private:
  static std::string fmt(double x) {
    std::ostringstream s;
    s << x;
    return s.str();
  }
  const Json& j_;
  std::string path_;
  const std::string& source_;
};

void read_input(const Fields& in, ModelDescription& d) {
  in.allow_only({"color_order", "resize", "letterbox_fill", "scale", "mean", "std"});
  if (int c = in.choice("color_order", {"RGB", "BGR"}); c >= 0) d.rgb = c == 0;
  if (int r = in.choice("resize", {"stretch", "letterbox"}); r >= 0)
    d.resize = r == 0 ? ResizeMode::Stretch : ResizeMode::Letterbox;
  in.number("letterbox_fill", d.letterbox_fill, 0, 255);
  in.positive("scale", d.scale);
  in.triple("mean", d.mean, false);
  in.triple("std", d.std, true);
}

void read_detection(const Fields& dec, DetectionParams& p) {
  dec.number("score_threshold", p.score_threshold, 0, 1);
  dec.number("iou_threshold", p.iou_threshold, 0, 1);
  dec.integer("max_detections", p.max_detections, 1, 100000);
}

void read_ssd(const Fields& dec, const std::string& source, ModelDescription& d) {
  dec.allow_only({"type", "score_threshold", "iou_threshold", "max_detections", "boxes_output", "scores_output",
                  "scores", "background_class", "anchors", "box_coder"});
  d.detection.iou_threshold = 0.6f;  // the TF OD API SSD configs' default
  read_detection(dec, d.detection);
  dec.string("boxes_output", d.ssd.boxes_output);
  dec.string("scores_output", d.ssd.scores_output);
  if (int s = dec.choice("scores", {"probability", "logit"}); s >= 0) d.ssd.scores_are_probabilities = s == 0;
  dec.boolean("background_class", d.ssd.has_background_class);
  if (dec.has("anchors")) {
    Fields a(dec.at("anchors"), dec.name("anchors"), source);
    a.allow_only({"num_layers", "min_scale", "max_scale", "aspect_ratios", "interpolated_scale_aspect_ratio",
                  "reduce_boxes_in_lowest_layer", "first_stride"});
    SsdAnchorParams& p = d.ssd.anchors;
    a.integer("num_layers", p.num_layers, 1, 12);
    a.number("min_scale", p.min_scale, 1e-6, 10);
    a.number("max_scale", p.max_scale, 1e-6, 10);
    a.number("interpolated_scale_aspect_ratio", p.interpolated_scale_aspect_ratio, 0, 100);
    a.boolean("reduce_boxes_in_lowest_layer", p.reduce_boxes_in_lowest_layer);
    a.integer("first_stride", p.first_stride, 1, 4096);
    if (a.has("aspect_ratios")) {
      const Json& v = a.at("aspect_ratios");
      if (!v.is_array() || v.empty()) a.fail(a.name("aspect_ratios"), "must be a non-empty array of numbers");
      p.aspect_ratios.clear();
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_number() || !(v[i].get<double>() > 0) || !std::isfinite(v[i].get<double>()))
          a.fail(a.name("aspect_ratios") + "[" + std::to_string(i) + "]", "must be a number greater than 0");
        p.aspect_ratios.push_back(v[i].get<float>());
      }
    }
  }
  if (dec.has("box_coder")) {
    Fields b(dec.at("box_coder"), dec.name("box_coder"), source);
    b.allow_only({"y_scale", "x_scale", "h_scale", "w_scale"});
    BoxCoderParams& p = d.ssd.box_coder;
    b.positive("y_scale", p.y_scale);
    b.positive("x_scale", p.x_scale);
    b.positive("h_scale", p.h_scale);
    b.positive("w_scale", p.w_scale);
  }
}

void read_decoder(const Fields& dec, const std::string& source, ModelDescription& d) {
  if (!dec.has("type")) dec.fail(dec.name("type"), "missing (ssd, centernet, segmentation or classification)");
  const int kind = dec.choice("type", {"ssd", "centernet", "segmentation", "classification"});
  switch (kind) {
    case 0:
      d.decoder = DecoderKind::Ssd;
      read_ssd(dec, source, d);
      break;
    case 1:
      d.decoder = DecoderKind::Centernet;
      dec.allow_only({"type", "score_threshold", "iou_threshold", "max_detections", "heatmap_output", "boxes_output"});
      read_detection(dec, d.detection);
      dec.string("heatmap_output", d.centernet.heatmap_output);
      dec.string("boxes_output", d.centernet.boxes_output);
      break;
    case 2: {
      d.decoder = DecoderKind::Segmentation;
      dec.allow_only({"type", "output", "activation", "threshold"});
      dec.string("output", d.segmentation.output);
      const int a = dec.choice("activation", {"softmax", "sigmoid", "none"});
      if (a >= 0) d.segmentation.activation = static_cast<SegmentationActivation>(a);
      dec.number("threshold", d.segmentation.threshold, 0, 1);
      break;
    }
    default:
      d.decoder = DecoderKind::Classification;
      dec.allow_only({"type", "output", "activation"});
      dec.string("output", d.classification.output);
      if (int a = dec.choice("activation", {"softmax", "none"}); a >= 0) d.classification.softmax = a == 0;
      break;
  }
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read the model description");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(path + ": cannot read the model description");
  return s.str();
}

// Output names the decoder refers to must be outputs of the model.
void check_outputs(const ModelDescription& d, const Model& model) {
  auto check = [&](const std::string& name, const char* field) {
    if (name.empty()) return;
    for (const ValueInfo& o : model.outputs)
      if (o.name == name) return;
    std::string have;
    for (size_t i = 0; i < model.outputs.size(); ++i) have += (i ? ", " : "") + model.outputs[i].name;
    throw Error(d.source + ": " + field + ": the model has no output '" + name + "' (its outputs: " + have + ")");
  };
  switch (d.decoder) {
    case DecoderKind::Ssd:
      check(d.ssd.boxes_output, "decoder.boxes_output");
      check(d.ssd.scores_output, "decoder.scores_output");
      break;
    case DecoderKind::Centernet:
      check(d.centernet.heatmap_output, "decoder.heatmap_output");
      check(d.centernet.boxes_output, "decoder.boxes_output");
      break;
    case DecoderKind::Segmentation:
      check(d.segmentation.output, "decoder.output");
      break;
    case DecoderKind::Classification:
      check(d.classification.output, "decoder.output");
      break;
    case DecoderKind::None:
      break;
  }
}

}  // namespace

ModelDescription parse_model_description(const std::string& json_text, const std::string& source) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const Json::exception& e) {
    throw Error(source + ": not valid JSON: " + e.what());
  }
  ModelDescription d;
  d.present = true;
  d.source = source;
  Fields top(j, "", source);
  top.allow_only({"version", "comment", "input", "labels", "decoder"});
  if (top.has("version")) {
    int version = 0;
    top.integer("version", version, 1, 1000);
    if (version != 1) top.fail("version", "only version 1 is known, got " + std::to_string(version));
  }
  if (top.has("comment") && !top.at("comment").is_string()) top.fail("comment", "must be a string");
  if (top.has("input")) read_input(Fields(top.at("input"), "input", source), d);
  if (top.has("labels")) {
    const Json& v = top.at("labels");
    if (!v.is_array()) top.fail("labels", "must be an array of strings");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) top.fail("labels[" + std::to_string(i) + "]", "must be a string");
      d.labels.push_back(v[i].get<std::string>());
    }
  }
  if (top.has("decoder")) read_decoder(Fields(top.at("decoder"), "decoder", source), source, d);
  return d;
}

ModelDescription load_model_description(const std::string& model_path) {
  const std::string side = model_path + ".json";
  if (file_exists(side)) return parse_model_description(read_text(side), side);
  return load_model_description(load_model(model_path));
}

ModelDescription load_model_description(const Model& model) {
  const std::string side = model.path + ".json";
  ModelDescription d;
  if (file_exists(side)) {
    d = parse_model_description(read_text(side), side);
  } else if (auto it = model.metadata.find(kModelDescriptionMetadataKey); it != model.metadata.end()) {
    d = parse_model_description(it->second, model.path + " metadata_props[" + kModelDescriptionMetadataKey + "]");
  }
  if (d.labels.empty()) d.labels = class_labels(model);
  if (d.present) check_outputs(d, model);
  return d;
}

PreprocessOptions preprocess_options(const ModelDescription& d, int width, int height) {
  PreprocessOptions p;
  p.width = width;
  p.height = height;
  p.rgb = d.rgb;
  p.resize = d.resize;
  p.letterbox_fill = d.letterbox_fill;
  p.scale = d.scale;
  p.mean = d.mean;
  p.std = d.std;
  return p;
}

std::string label_name(const ModelDescription& d, int index) {
  if (index >= 0 && size_t(index) < d.labels.size() && !d.labels[size_t(index)].empty()) return d.labels[size_t(index)];
  return std::to_string(index);
}

}  // namespace sparseinfer

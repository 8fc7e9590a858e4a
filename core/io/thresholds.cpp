#include "sparseinfer/thresholds.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sparseinfer/error.h"

namespace sparseinfer {

static constexpr const char* kFormat = "sparseinfer-thresholds";

ThresholdSet read_thresholds(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open thresholds file");
  ThresholdSet set;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (!j.is_object() || j.value("format", "") != kFormat)
      throw Error(path + ": not a sparseinfer thresholds file (\"format\" is not \"" + kFormat + "\")");
    if (j.value("version", 0) != 1) throw Error(path + ": unsupported thresholds file version");
    set.model = j.value("model", "");
    set.metric = j.value("metric", "");
    set.max_loss = j.value("max_loss", 0.0);
    if (j.contains("input_shape")) set.input_shape = j.at("input_shape").get<Shape>();
    if (!j.contains("thresholds") || !j.at("thresholds").is_object())
      throw Error(path + ": missing \"thresholds\" object");
    for (const auto& [layer, value] : j.at("thresholds").items()) {
      if (!value.is_number()) throw Error(path + ": threshold of '" + layer + "' is not a number");
      float t = value.get<float>();
      if (!(t >= 0.0f) || !std::isfinite(t)) throw Error(path + ": threshold of '" + layer + "' must be finite and >= 0");
      set.thresholds[layer] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid thresholds JSON: " + e.what());
  }
  return set;
}

void write_thresholds(const std::string& path, const ThresholdSet& set) {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["version"] = 1;
  j["model"] = set.model;
  j["input_shape"] = set.input_shape;
  j["metric"] = set.metric;
  j["max_loss"] = set.max_loss;
  nlohmann::ordered_json t = nlohmann::ordered_json::object();
  for (const auto& [layer, value] : set.thresholds) t[layer] = value;
  j["thresholds"] = t;
  std::ofstream out(path);
  if (!out) throw Error(path + ": cannot write thresholds file");
  out << j.dump(2) << "\n";
  if (!out) throw Error(path + ": write failed");
}

void apply_thresholds(StreamState& state, const ThresholdSet& set) {
  for (const auto& [layer, value] : set.thresholds) state.set_threshold(layer, value);
}

}  // namespace sparseinfer

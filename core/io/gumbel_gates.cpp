#include "sparseinfer/gumbel_gates.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sparseinfer/error.h"

namespace sparseinfer {

static constexpr const char* kFormat = "sparseinfer-gumbel-gates";

static std::vector<float> read_weights(const std::string& path, const std::string& layer, const nlohmann::json& j,
                                       const char* field, int64_t channels) {
  const std::string where = path + ": layer '" + layer + "': \"" + field + "\"";
  if (!j.contains(field) || !j.at(field).is_array()) throw Error(where + " is missing or not an array");
  const nlohmann::json& a = j.at(field);
  if (static_cast<int64_t>(a.size()) != channels)
    throw Error(where + " has " + std::to_string(a.size()) + " values for " + std::to_string(channels) + " channels");
  std::vector<float> w;
  for (const auto& v : a) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      throw Error(where + " holds a value that is not a finite number");
    w.push_back(v.get<float>());
  }
  return w;
}

GumbelGateSet read_gumbel_gates(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open gates file");
  GumbelGateSet set;
  set.path = path;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (!j.is_object() || j.value("format", "") != kFormat)
      throw Error(path + ": not a Gumbel gates file (\"format\" is not \"" + kFormat + "\")");
    if (j.value("version", 0) != 1) throw Error(path + ": unsupported Gumbel gates file version");
    set.model = j.value("model", "");
    if (j.contains("input_shape")) set.input_shape = j.at("input_shape").get<Shape>();
    if (!j.contains("layers") || !j.at("layers").is_object() || j.at("layers").empty())
      throw Error(path + ": missing or empty \"layers\" object");
    for (const auto& [name, layer] : j.at("layers").items()) {
      if (!layer.is_object()) throw Error(path + ": layer '" + name + "' is not an object");
      if (!layer.contains("channels") || !layer.at("channels").is_number_integer() ||
          layer.at("channels").get<int64_t>() < 1)
        throw Error(path + ": layer '" + name + "': \"channels\" is missing or not a positive integer");
      const int64_t channels = layer.at("channels").get<int64_t>();
      GumbelGateLayer gate;
      gate.weight_abs = read_weights(path, name, layer, "weight_abs", channels);
      gate.weight_signed = read_weights(path, name, layer, "weight_signed", channels);
      if (!layer.contains("bias") || !layer.at("bias").is_number() || !std::isfinite(layer.at("bias").get<double>()))
        throw Error(path + ": layer '" + name + "': \"bias\" is missing or not a finite number");
      gate.bias = layer.at("bias").get<float>();
      set.layers[name] = std::move(gate);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid Gumbel gates JSON: " + e.what());
  }
  return set;
}

}  // namespace sparseinfer

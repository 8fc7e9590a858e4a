#include "engine/gates/gate_settings.h"

#include "sparseinfer/error.h"

namespace sparseinfer {

GateSettings::GateSettings(const std::vector<std::string>& layers) : thresholds_(layers.size(), 0.0f) {
  for (size_t i = 0; i < layers.size(); ++i) index_[layers[i]] = i;
}

size_t GateSettings::index_of(const std::string& layer) const {
  auto it = index_.find(layer);
  if (it == index_.end())
    throw Error("no change-detecting layer named '" + layer + "' (see Engine::threshold_layers())");
  return it->second;
}

void GateSettings::set(const std::string& layer, float threshold) {
  if (!(threshold >= 0.0f)) throw Error("threshold must be >= 0");
  thresholds_[index_of(layer)] = threshold;
}

void GateSettings::set_all(float threshold) {
  if (!(threshold >= 0.0f)) throw Error("threshold must be >= 0");
  for (float& t : thresholds_) t = threshold;
}

void GateSettings::set_scale(float scale) {
  if (!(scale >= 0.0f)) throw Error("threshold scale must be >= 0");
  scale_ = scale;
}

float GateSettings::get(const std::string& layer) const {
  return thresholds_[index_of(layer)];
}

}  // namespace sparseinfer

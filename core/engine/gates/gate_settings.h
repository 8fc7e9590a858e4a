// The user's side of the gates of one stream: a threshold per gated layer
// (CBinfer eq. 3's tau, Skip-Conv's gate threshold) and one scale over all of
// them, so accuracy can be traded for speed at run time without recalibrating.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sparseinfer {

class GateSettings {
 public:
  // `layers`: names of the gated layers, in execution order.
  explicit GateSettings(const std::vector<std::string>& layers);

  // Throws Error for an unknown layer or a negative threshold.
  void set(const std::string& layer, float threshold);
  void set_all(float threshold);
  void set_scale(float scale);
  float get(const std::string& layer) const;
  float scale() const { return scale_; }
  // Threshold * scale of the i-th gated layer, as the gate uses it this frame.
  float effective(size_t i) const { return thresholds_[i] * scale_; }

 private:
  size_t index_of(const std::string& layer) const;

  std::map<std::string, size_t> index_;
  std::vector<float> thresholds_;
  float scale_ = 1.0f;
};

}  // namespace sparseinfer

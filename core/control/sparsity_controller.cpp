// IBST (SparseTem, "Online Truncation Threshold Adjustment"): one binary
// search per layer per cycle. A single search (BST) settles on a threshold
// that fits the frames it saw, and sparsity varies across inputs (SparseTem
// Fig. 7b), so the search is re-run every cycle around the last answer.
#include "sparseinfer/sparsity_controller.h"

#include <algorithm>
#include <cmath>

#include "sparseinfer/error.h"

namespace sparseinfer {

void SparsityController::validate(const SparsityControllerOptions& o) {
  if (!(o.target > 0.0 && o.target < 1.0)) throw Error("target-sparsity must lie in (0, 1)");
  if (!(o.tolerance > 0.0 && o.tolerance < 0.5)) throw Error("sparsity-tolerance must lie in (0, 0.5)");
  if (o.step_frames < 1) throw Error("sparsity-step must be at least 1 frame");
  if (o.cycle_frames < o.step_frames) throw Error("sparsity-cycle must be at least one step (sparsity-step frames)");
  if (!(o.bracket > 1.0f)) throw Error("sparsity-bracket must be above 1");
  if (!(o.min_threshold > 0.0f && o.min_threshold < o.max_threshold))
    throw Error("sparsity threshold limits must satisfy 0 < min < max");
  if (!(o.initial_threshold >= o.min_threshold && o.initial_threshold <= o.max_threshold))
    throw Error("sparsity initial threshold must lie within the threshold limits");
}

SparsityController::SparsityController(const Engine& engine, StreamState& state,
                                       const SparsityControllerOptions& options)
    : options_(options) {
  validate(options);
  if (engine.mode() != Mode::Change) throw Error("target-sparsity needs change mode");
  const std::vector<LayerInfo>& all = engine.layers();
  for (const std::string& name : engine.threshold_layers()) {
    LayerSearch l;
    l.layer = name;
    l.layer_index = all.size();
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].name == name) l.layer_index = i;
    if (l.layer_index == all.size()) throw Error("gated layer '" + name + "' is not among the engine's layers");
    const float t = state.threshold(name);
    l.threshold = std::clamp(t > 0.0f ? t : options.initial_threshold, options.min_threshold, options.max_threshold);
    state.set_threshold(name, l.threshold);
    layers_.push_back(l);
  }
  if (layers_.empty()) throw Error(engine.model_path() + ": target-sparsity: the network has no gated layer");
}

void SparsityController::set_options(const SparsityControllerOptions& options) {
  validate(options);
  options_ = options;
  for (LayerSearch& l : layers_) l.threshold = std::clamp(l.threshold, options.min_threshold, options.max_threshold);
  cycle_ = -1;
  frames_in_cycle_ = 0;
  frames_in_step_ = 0;
  for (LayerSearch& l : layers_) l.window_sum = 0.0;
}

void SparsityController::start_cycle() {
  ++cycle_;
  frames_in_cycle_ = 0;
  for (LayerSearch& l : layers_) {
    l.low = std::max(l.threshold / options_.bracket, options_.min_threshold);
    l.high = std::min(l.threshold * options_.bracket, options_.max_threshold);
  }
}

// One step of the search in log space, on the step's mean sparsity: in the
// band the threshold stays; too dense raises it towards `high`, too sparse
// lowers it towards `low`, and the bracket closes on the threshold that was
// tried. At a bracket edge the bracket widens by `bracket`, so a target
// outside it is still reached.
void SparsityController::step(LayerSearch& l) const {
  const double sparsity = l.window_sparsity;
  if (std::fabs(sparsity - options_.target) <= options_.tolerance) return;
  const float edge = 1.0001f;
  if (sparsity < options_.target) {
    l.low = l.threshold;
    if (l.threshold * edge >= l.high) l.high = std::min(l.high * options_.bracket, options_.max_threshold);
  } else {
    l.high = l.threshold;
    if (l.threshold <= l.low * edge) l.low = std::max(l.low / options_.bracket, options_.min_threshold);
  }
  l.threshold = std::sqrt(l.low * l.high);
}

void SparsityController::observe(const FrameResult& result, StreamState& state) {
  if (result.dense_frame) return;
  if (cycle_ < 0 || frames_in_cycle_ >= options_.cycle_frames) start_cycle();
  ++frames_in_cycle_;
  ++frames_in_step_;
  const bool step_ends = frames_in_step_ >= options_.step_frames;
  for (LayerSearch& l : layers_) {
    if (l.layer_index >= result.layer_stats.size()) throw Error("target-sparsity: frame result of another engine");
    l.sparsity = 1.0 - result.layer_stats[l.layer_index].changed_fraction;
    l.window_sum += l.sparsity;
    if (!step_ends) continue;
    l.window_sparsity = l.window_sum / frames_in_step_;
    l.window_sum = 0.0;
    step(l);
    state.set_threshold(l.layer, l.threshold);
  }
  if (step_ends) frames_in_step_ = 0;
}

double SparsityController::share_in_band() const {
  int in = 0, seen = 0;
  for (const LayerSearch& l : layers_) {
    if (l.window_sparsity < 0) continue;
    ++seen;
    in += std::fabs(l.window_sparsity - options_.target) <= options_.tolerance;
  }
  return seen ? double(in) / seen : 0.0;
}

double SparsityController::mean_sparsity() const {
  double sum = 0;
  int seen = 0;
  for (const LayerSearch& l : layers_)
    if (l.sparsity >= 0) {
      sum += l.sparsity;
      ++seen;
    }
  return seen ? sum / seen : 0.0;
}

}  // namespace sparseinfer

// Online threshold adjustment (SparseTem §"Online Truncation Threshold
// Adjustment", IBST): per gated layer and per stream, a binary search on the
// layer's threshold, re-run every cycle, keeps the layer's measured sparsity
// within [T - eps, T + eps] of a target T, so no layer is left much sparser
// (losing accuracy) or much denser (losing speed) than the others.
//
// Sparsity here is the share of a gated layer's output pixels NOT recomputed
// on a frame (1 - LayerStats::changed_fraction): it is what the layer's MACs
// are proportional to, and it includes the dilation by the kernel support
// (SparseTem's "dense amplification"), which the share of accepted input
// pixels would hide.
//
// The controller is per stream: call observe() after every run() of that
// stream; it sets the thresholds the next frame uses through
// StreamState::set_threshold (the stream's threshold scale still applies on
// top). Docs and the measured choice of the constants: docs/sparsetem.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"

namespace sparseinfer {

struct SparsityControllerOptions {
  double target = 0.9;      // T: wanted share of output pixels not recomputed, in (0, 1)
  double tolerance = 0.02;  // eps: the band is [T - eps, T + eps]
  // One search step per this many observed (non-dense) frames, on their mean
  // sparsity. 1, a step on every frame as SparseTem's BST, kept the layers in
  // the band best on vtest (docs/sparsetem.md).
  int step_frames = 1;
  int cycle_frames = 32;  // a new search starts every this many observed frames
  // Each cycle searches [t / bracket, t * bracket] around the layer's current
  // threshold t, in log space (thresholds span decades across layers), and
  // widens the bracket by the same factor when the answer lies outside it.
  float bracket = 4.0f;
  // The starting threshold of a layer whose threshold is 0 (a binary search
  // in log space needs a positive start), and the lowest one searched.
  float initial_threshold = 0.05f;
  float min_threshold = 1e-4f;
  float max_threshold = 1e4f;
};

// One gated layer's search, as the controller holds it.
struct LayerSearch {
  std::string layer;       // name, as in Engine::threshold_layers()
  size_t layer_index = 0;  // into Engine::layers() and FrameResult::layer_stats
  float threshold = 0.0f;  // what the next frame uses
  float low = 0.0f;        // the cycle's bracket
  float high = 0.0f;
  double sparsity = -1.0;         // last frame's; < 0 before the first observation
  double window_sparsity = -1.0;  // mean over the last complete step; < 0 before one
  double window_sum = 0.0;        // of the step in progress
};

class SparsityController {
 public:
  // Takes the starting thresholds from `state` (calibrated or set by the
  // user). Throws Error when the engine is not in change mode, has no gated
  // layer, or an option is out of range (the message names the option).
  SparsityController(const Engine& engine, StreamState& state, const SparsityControllerOptions& options);

  // Checks options; throws Error naming the first one out of range.
  static void validate(const SparsityControllerOptions& options);

  // After a frame of the stream: measures every gated layer's sparsity and,
  // every step_frames frames, takes one binary-search step per layer whose
  // mean sparsity over those frames lies outside the band.
  // Dense frames (after a reset) carry no information and are skipped.
  void observe(const FrameResult& result, StreamState& state);

  // A new target or band: a fresh search starts on the next observed frame.
  void set_options(const SparsityControllerOptions& options);
  const SparsityControllerOptions& options() const { return options_; }

  const std::vector<LayerSearch>& layers() const { return layers_; }
  // Share of the gated layers whose mean sparsity over the last complete
  // step lies in the band.
  double share_in_band() const;
  // Mean of the gated layers' sparsity on the last observed frame.
  double mean_sparsity() const;
  int64_t cycle() const { return cycle_; }

 private:
  void start_cycle();
  void step(LayerSearch& layer) const;

  SparsityControllerOptions options_;
  std::vector<LayerSearch> layers_;
  int frames_in_cycle_ = 0;
  int frames_in_step_ = 0;
  int64_t cycle_ = -1;  // -1: the first cycle starts with the first observed frame
};

}  // namespace sparseinfer

// Latency budget: a per-stream controller that keeps frame times within a
// budget by moving one factor on the change thresholds (change mode: the
// threshold scale of the gates, engine/gates/gate_settings.h) or on the block
// gate's threshold (block mode), from the times it measures. CBinfer §IV-E
// leaves "an adaptive selection of the threshold factor with a control loop"
// for a guaranteed throughput to future work; this controller is our own.
//
// The frame time falls as the factor grows (fewer pixels or blocks count as
// changed), but by how much depends on the scene and on the machine, so the
// controller learns nothing about the network: it follows measured times.
// It works in log space, where a factor step moves the time by a similar
// proportion at any operating point:
//   - a frame over the set point raises the factor at once, by the whole log
//     error (a person walking in must not cost several late frames);
//   - a frame under it lowers the factor slowly (at most lower_gain *
//     max_lower_error per frame, so a run of nearly free frames cannot undo a
//     costly one at once), and only in steps of at least `lower_step`,
//     because every lowering makes the closed-loop gates
//     rescan their whole input (threshold_gate.cpp) and lets the changes that
//     piled up below the old threshold through at once;
//   - the set point sits below the budget by the spread the controller sees:
//     it is the budget divided by the `quantile` of the recent frames'
//     time / set point ratios, so that quantile of frames fits the budget.
// Dense frames (the first after a reset) are not in the controller's hands
// and are left out.
#pragma once

#include <cstddef>
#include <vector>

namespace sparseinfer {

struct LatencyBudgetSettings {
  double budget_ms = 0;           // 0: off (factor 1)
  double min_factor = 0.125;      // lowest factor: thresholds at 1/8 of the configured ones
  double max_factor = 4096;       // highest factor
  double raise_gain = 1.0;        // share of the log error corrected by one frame over the set point
  double lower_gain = 0.15;       // the same for a frame under it
  double max_lower_error = 1.0;   // log error below which a cheap frame counts as this one
  double lower_step = 0.1;        // lowerings are applied once they add up to this much (log)
  double dead_band = 0.05;        // |log error| below this leaves the factor alone
  // Share of the recent frames the set point is placed to fit. 0.99, not the
  // 0.95 the must-hold counts: a person walking in makes the frames after a
  // cheap stretch cost several times more, so aiming at the 95th percentile
  // put the 95th above the budget (person network, vtest 0-299 at 768x576,
  // 40 ms: p95 48.8-50.2 ms at 0.95, 29.1 ms at 0.99; 20 ms: 22.0 and 18.4 ms).
  double quantile = 0.99;
  size_t window = 60;             // frames the spread is measured over
  double initial_setpoint = 0.8;  // set point / budget before the window has 10 frames
  double min_setpoint = 0.3, max_setpoint = 0.95;
};

class LatencyBudgetController {
 public:
  // Throws sparseinfer::Error for a negative budget or bad bounds.
  explicit LatencyBudgetController(const LatencyBudgetSettings& settings = {});

  // A new budget (mutable while playing); 0 turns the controller off and the
  // factor returns to 1. The learned spread is kept.
  void set_budget(double budget_ms);
  double budget_ms() const { return settings_.budget_ms; }
  bool enabled() const { return settings_.budget_ms > 0; }

  // After each frame: how long it took and whether it was computed densely.
  void observe(double frame_ms, bool dense_frame);
  // The factor on the thresholds for the next frame.
  double factor() const { return enabled() ? factor_ : 1.0; }
  // The time the controller aims frames at now (ms; 0 when off).
  double setpoint_ms() const { return enabled() ? settings_.budget_ms * setpoint_ratio_ : 0.0; }

  // A new stream: forget the recent frames' spread, keep the factor (the
  // scene is likely the same camera's).
  void reset();

 private:
  void update_setpoint();

  LatencyBudgetSettings settings_;
  double factor_ = 1.0;
  double wanted_log_ = 0.0;  // log of the factor the error asks for; the applied one may lag when lowering
  double setpoint_ratio_;
  std::vector<double> ratios_;  // ring of time / set point, last `window` controlled frames
  size_t next_ = 0;
  size_t seen_ = 0;  // controlled frames since the reset
};

}  // namespace sparseinfer

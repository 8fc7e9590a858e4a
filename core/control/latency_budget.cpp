#include "control/latency_budget.h"

#include <algorithm>
#include <cmath>

#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {
// Frames after a reset whose ratios stay out of the spread: the factor is
// still on its way from where it was, and those first errors are not noise.
constexpr size_t kSettlingFrames = 10;
// Ratios needed before the spread replaces the initial set point.
constexpr size_t kMinSpreadFrames = 10;
}  // namespace

LatencyBudgetController::LatencyBudgetController(const LatencyBudgetSettings& settings)
    : settings_(settings), setpoint_ratio_(settings.initial_setpoint) {
  const LatencyBudgetSettings& s = settings_;
  if (!(s.budget_ms >= 0) || !std::isfinite(s.budget_ms)) throw Error("latency budget must be a finite number >= 0 ms");
  if (!(s.min_factor > 0) || !(s.max_factor >= s.min_factor) || !std::isfinite(s.max_factor))
    throw Error("latency budget: need 0 < min_factor <= max_factor");
  if (!(s.raise_gain > 0) || !(s.lower_gain > 0) || !(s.lower_step >= 0) || !(s.dead_band >= 0) ||
      !(s.max_lower_error > 0))
    throw Error("latency budget: gains and max_lower_error must be > 0, lower_step and dead_band >= 0");
  if (!(s.quantile > 0 && s.quantile <= 1) || s.window == 0)
    throw Error("latency budget: need 0 < quantile <= 1 and a window of at least one frame");
  if (!(s.min_setpoint > 0) || !(s.max_setpoint >= s.min_setpoint) ||
      !(s.initial_setpoint >= s.min_setpoint && s.initial_setpoint <= s.max_setpoint))
    throw Error("latency budget: need 0 < min_setpoint <= initial_setpoint <= max_setpoint");
  factor_ = std::clamp(1.0, s.min_factor, s.max_factor);
  wanted_log_ = std::log(factor_);
}

void LatencyBudgetController::set_budget(double budget_ms) {
  if (!(budget_ms >= 0) || !std::isfinite(budget_ms)) throw Error("latency budget must be a finite number >= 0 ms");
  settings_.budget_ms = budget_ms;
}

void LatencyBudgetController::reset() {
  ratios_.clear();
  next_ = 0;
  seen_ = 0;
  setpoint_ratio_ = settings_.initial_setpoint;
}

void LatencyBudgetController::observe(double frame_ms, bool dense_frame) {
  if (!enabled() || dense_frame || !(frame_ms > 0) || !std::isfinite(frame_ms)) return;
  const LatencyBudgetSettings& s = settings_;
  const double ratio = frame_ms / (s.budget_ms * setpoint_ratio_);
  if (++seen_ > kSettlingFrames) {
    if (ratios_.size() < s.window) {
      ratios_.push_back(ratio);
    } else {
      ratios_[next_] = ratio;
      next_ = (next_ + 1) % s.window;
    }
  }
  const double error = std::log(ratio);
  const double applied = std::log(factor_);
  if (error > s.dead_band) {
    // Raise from the factor in use, even while a lowering was pending.
    wanted_log_ = std::max(wanted_log_, applied) + s.raise_gain * error;
  } else if (error < -s.dead_band) {
    wanted_log_ += s.lower_gain * std::max(error, -s.max_lower_error);
  }
  const double lowest = std::log(s.min_factor);
  wanted_log_ = std::clamp(wanted_log_, lowest, std::log(s.max_factor));
  // A lowering waits until it adds up to lower_step, or until it reaches the lowest factor.
  if (wanted_log_ > applied || applied - wanted_log_ >= s.lower_step || (wanted_log_ <= lowest && applied > lowest))
    factor_ = std::exp(wanted_log_);
  update_setpoint();
}

void LatencyBudgetController::update_setpoint() {
  if (ratios_.size() < kMinSpreadFrames) return;
  std::vector<double> sorted = ratios_;
  const size_t k = std::min(sorted.size() - 1, static_cast<size_t>(std::ceil(settings_.quantile * sorted.size())) - 1);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  // Frames spread around the set point by ratio q at this quantile: aim q below the budget.
  const double spread = std::max(sorted[k], 1e-6);
  setpoint_ratio_ = std::clamp(1.0 / spread, settings_.min_setpoint, settings_.max_setpoint);
}

}  // namespace sparseinfer

// Which network runs on a frame: fixed (the paper's every-T-frames schedule)
// or adaptive (beyond the paper: scene change and Phi' confidence move the Phi
// runs, a token bucket keeps the average cost under max_cost).
#include <algorithm>
#include <cmath>
#include <string>

#include "sparseinfer/dual_stream.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {

// Slack for sums of fractions like 0.25 * 4 that round a hair below 1.
constexpr double kCreditEpsilon = 1e-9;

void check_fraction(const char* name, double v) {
  if (!(v >= 0.0 && v <= 1.0))
    throw Error(std::string("saliency schedule: ") + name + " must lie in [0, 1], got " + std::to_string(v));
}

}  // namespace

float saliency_decay(int64_t k, float tau) {
  if (k < 0) throw Error("saliency_decay: the delay k must be >= 0, got " + std::to_string(k));
  if (!(tau > 0.0f)) throw Error("saliency_decay: tau must be > 0, got " + std::to_string(tau));
  return static_cast<float>(std::exp(-static_cast<double>(k) / static_cast<double>(tau)));
}

const char* dual_stream_name(DualStream s) {
  return s == DualStream::Large ? "large" : "small";
}

const char* schedule_kind_name(ScheduleKind k) {
  return k == ScheduleKind::Fixed ? "fixed" : "adaptive";
}

const char* schedule_reason_name(ScheduleReason r) {
  switch (r) {
    case ScheduleReason::FirstFrame:
      return "first-frame";
    case ScheduleReason::Period:
      return "period";
    case ScheduleReason::SceneChange:
      return "scene-change";
    case ScheduleReason::LowMargin:
      return "low-margin";
    case ScheduleReason::MaxPeriod:
      return "max-period";
    case ScheduleReason::NotDue:
      return "not-due";
    case ScheduleReason::Still:
      return "still";
    case ScheduleReason::OverBudget:
      return "over-budget";
    case ScheduleReason::Forced:
      return "forced";
  }
  return "unknown";
}

SaliencySchedule::SaliencySchedule(const ScheduleOptions& options) : options_(options) {
  if (options.period < 1) throw Error("saliency schedule: period must be >= 1, got " + std::to_string(options.period));
  if (options.kind == ScheduleKind::Adaptive) {
    if (!(options.max_cost > 0.0 && options.max_cost <= 1.0))
      throw Error("saliency schedule: max-cost must lie in (0, 1] (a fraction of the large model's MACs), got " +
                  std::to_string(options.max_cost));
    if (options.max_period != 0 && options.max_period < options.period)
      throw Error("saliency schedule: max-period (" + std::to_string(options.max_period) +
                  ") must be 0 or >= the period (" + std::to_string(options.period) + ")");
    if (!(options.burst >= 1.0))
      throw Error("saliency schedule: burst must be >= 1 large run, got " + std::to_string(options.burst));
    check_fraction("change-trigger", options.change_trigger);
    check_fraction("margin-trigger", options.margin_trigger);
    check_fraction("still-change", options.still_change);
    check_fraction("still-margin", options.still_margin);
  }
}

int SaliencySchedule::effective_max_period() const {
  return options_.max_period > 0 ? options_.max_period : 2 * options_.period;
}

ScheduleDecision SaliencySchedule::decide(const ScheduleSignals& signals) const {
  if (!has_large_) return {DualStream::Large, 0, ScheduleReason::FirstFrame};
  const int64_t k = frames_since_large_ + 1;  // the delay Phi' would see on this frame
  const ScheduleDecision small{DualStream::Small, k, ScheduleReason::NotDue};
  if (options_.kind == ScheduleKind::Fixed)
    return k >= options_.period ? ScheduleDecision{DualStream::Large, 0, ScheduleReason::Period} : small;

  ScheduleReason want;
  if (k >= effective_max_period()) {
    want = ScheduleReason::MaxPeriod;
  } else if (signals.change_fraction >= options_.change_trigger) {
    want = ScheduleReason::SceneChange;
  } else if (signals.has_margin && signals.margin < options_.margin_trigger) {
    want = ScheduleReason::LowMargin;
  } else if (k >= options_.period) {
    const bool still = signals.change_fraction <= options_.still_change &&
                       (!signals.has_margin || signals.margin >= options_.still_margin);
    if (still) return {DualStream::Small, k, ScheduleReason::Still};
    want = ScheduleReason::Period;
  } else {
    return small;
  }
  // Phi only when the bucket still holds >= 0 after this frame's credit and a full Phi run.
  if (credit_ + options_.max_cost - 1.0 < -kCreditEpsilon) return {DualStream::Small, k, ScheduleReason::OverBudget};
  return {DualStream::Large, 0, want};
}

void SaliencySchedule::commit(const ScheduleDecision& decision, double cost) {
  ++frames_;
  spent_cost_ += cost;
  if (decision.stream == DualStream::Large) {
    has_large_ = true;
    frames_since_large_ = 0;
  } else {
    ++frames_since_large_;
  }
  credit_ = std::min(credit_ + options_.max_cost - cost, options_.burst);
}

void SaliencySchedule::reset() {
  frames_ = 0;
  has_large_ = false;
  frames_since_large_ = 0;
  credit_ = 0.0;
  spent_cost_ = 0.0;
}

}  // namespace sparseinfer

// CBinfer's change detector as a gate: a pixel counts as changed when some
// channel differs from the stored input state by more than the threshold
// (eq. 3), and only accepted pixels are copied into that state (closed loop,
// §III-C), so small changes add up until they cross the threshold instead of
// drifting away unseen.
#include <chrono>
#include <cstring>

#include "cpu/change_conv.h"
#include "engine/gates/gate.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class ThresholdGate : public Gate {
 public:
  void prime(const Tensor& input, float threshold, GateState& state) const override {
    if (!state.reference.has_data() || state.reference.shape() != input.shape())
      state.reference.allocate(DType::Float32, input.shape());
    std::memcpy(state.reference.f32(), input.f32(), input.bytes());
    state.last_threshold = threshold;
  }

  void select(const Tensor& input, const ChangeSet& candidates, float threshold, GateState& state,
              std::vector<uint8_t>& flags, int threads, StageTimes* times, ChangeSet& accepted) const override {
    // Below last frame's threshold, pixels skipped then may count now: look at all of them.
    const bool rescan = threshold < state.last_threshold;
    if (candidates.kind == ChangeSet::Kind::None && !rescan) {
      accepted.set_none();
      return;
    }
    auto t0 = Clock::now();
    ChangeSet all;
    all.set_all();
    const Shape& shape = input.shape();
    detect_changes(input.f32(), state.reference.f32(), shape[0], shape[1], shape[2], shape[3],
                   rescan ? all : candidates, threshold, flags, threads);
    auto t1 = Clock::now();
    extract_changes(flags, accepted);
    times->detect_ms += ms_between(t0, t1);
    times->extract_ms += ms_between(t1, Clock::now());
    state.last_threshold = threshold;
  }

  const Tensor& source(const Tensor& /*input*/, const GateState& state) const override { return state.reference; }
};

}  // namespace

std::unique_ptr<Gate> make_threshold_gate() {
  return std::make_unique<ThresholdGate>();
}

}  // namespace sparseinfer

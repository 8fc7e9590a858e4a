#include "engine/gates/norm_gate.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>

#include "cpu/residual_norm.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

void NormGate::prime(const Tensor& input, float threshold, GateState& state) const {
  if (!state.reference.has_data() || state.reference.shape() != input.shape())
    state.reference.allocate(DType::Float32, input.shape());
  std::memcpy(state.reference.f32(), input.f32(), input.bytes());
  state.last_threshold = threshold;
}

void NormGate::select(const Tensor& input, const ChangeSet& candidates, float threshold, GateState& state,
                      std::vector<uint8_t>& flags, int threads, StageTimes* times, ChangeSet& accepted) const {
  // Below last frame's threshold, pixels skipped then may count now: look at all of them.
  // Otherwise a pixel outside `candidates` kept its input, so its residual is
  // still below the threshold it was last judged by, and a cell's max is
  // decided by its candidates.
  const bool rescan = threshold < state.last_threshold;
  if (candidates.kind == ChangeSet::Kind::None && !rescan) {
    accepted.set_none();
    return;
  }
  auto t0 = Clock::now();
  ChangeSet all;
  all.set_all();
  const Shape& shape = input.shape();
  residual_norm_flags(input.f32(), state.reference.f32(), shape[0], shape[1], shape[2], shape[3],
                      rescan ? all : candidates, scale_, threshold, flags, threads);
  pool_flags_to_cells(flags, shape[0], shape[2], shape[3], cell_);
  auto t1 = Clock::now();
  extract_changes(flags, accepted);
  times->extract_ms += ms_between(t1, Clock::now());
  // Closed loop: only what is recomputed enters the state, and of a
  // structured cell only its candidates: the input of a layer that only gates
  // read is written at the pixels its change set names (the producer's
  // transient buffer, change_executor.cpp), so elsewhere it may hold another
  // layer's values. The state there is what the layer computed from before,
  // so recomputing those pixels from it is exact.
  auto t2 = Clock::now();
  if (cell_ == 1 || rescan || candidates.kind == ChangeSet::Kind::All) {
    copy_pixels(input.f32(), state.reference.f32(), shape[1], shape[2], shape[3], accepted.pixels, threads);
  } else {
    std::vector<int32_t> valid;
    std::set_intersection(accepted.pixels.begin(), accepted.pixels.end(), candidates.pixels.begin(),
                          candidates.pixels.end(), std::back_inserter(valid));
    copy_pixels(input.f32(), state.reference.f32(), shape[1], shape[2], shape[3], valid, threads);
  }
  times->detect_ms += ms_between(t0, t1) + ms_between(t2, Clock::now());
  state.last_threshold = threshold;
}

float weight_l1_norm(const Tensor& weights) {
  const float* w = weights.f32();
  double sum = 0.0;
  for (int64_t i = 0; i < weights.numel(); ++i) sum += w[i] < 0 ? -double(w[i]) : double(w[i]);
  return float(sum);
}

}  // namespace sparseinfer

// CBinfer's change detector as a gate: a pixel counts as changed when some
// channel differs from the stored input state by more than the threshold
// (eq. 3), and only accepted pixels are copied into that state (closed loop,
// §III-C), so small changes add up until they cross the threshold instead of
// drifting away unseen.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>

#include "cpu/change_conv.h"
#include "engine/gates/gate.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A frame that changed nearly everywhere (a scene cut, a moving camera, noise
// at threshold 0) would pay a full detection pass, a frame-sized index list
// and then the dense kernel anyway, since the convolution goes dense past 90%
// of its inputs: 1.2-1.3x dense per frame at 3840x2160. One row in
// kSampleRowStride tells such a frame apart for 1/16 of a pass; the gate then
// accepts every pixel (the state takes the whole input, exactly what the
// dense kernel computes from) without flagging or listing any. The bar is
// below the convolution's 90%: a window spreads 80% of scattered changed
// inputs over nearly every output (segnet_small's stem at 1280x720, vtest at
// threshold 0: 89% accepted -> 94% of outputs, dense after 0.4 s of detection
// and listing, 1.2x a dense frame).
constexpr int64_t kSampleRowStride = 16;
constexpr double kAllBeyond = 0.8;

// True when more than kAllBeyond of the sampled pixels differ from the state
// by more than the threshold in some channel (eq. 3, on every 16th row).
bool nearly_all_changed(const Tensor& input, const Tensor& state, float threshold, int threads) {
  const Shape& shape = input.shape();
  const int64_t batch = shape[0], channels = shape[1], height = shape[2], width = shape[3], hw = height * width;
  const int64_t rows_per_image = (height + kSampleRowStride - 1) / kSampleRowStride, rows = batch * rows_per_image;
  if (rows * width == 0) return false;
  std::atomic<int64_t> changed{0};
  parallel_for(rows, rows * width * channels > 65536 ? threads : 1, [&](int64_t b, int64_t e) {
    std::vector<float> maxdiff(static_cast<size_t>(width));
    int64_t count = 0;
    for (int64_t r = b; r < e; ++r) {
      const int64_t n = r / rows_per_image, y = (r % rows_per_image) * kSampleRowStride;
      std::fill(maxdiff.begin(), maxdiff.end(), 0.0f);
      for (int64_t c = 0; c < channels; ++c) {
        const float* in = input.f32() + (n * channels + c) * hw + y * width;
        const float* st = state.f32() + (n * channels + c) * hw + y * width;
        for (int64_t i = 0; i < width; ++i)
          maxdiff[static_cast<size_t>(i)] = std::max(maxdiff[static_cast<size_t>(i)], std::fabs(in[i] - st[i]));
      }
      for (float d : maxdiff) count += d > threshold;
    }
    changed.fetch_add(count, std::memory_order_relaxed);
  });
  return static_cast<double>(changed.load()) > kAllBeyond * static_cast<double>(rows * width);
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
    if ((rescan || candidates.kind == ChangeSet::Kind::All) &&
        nearly_all_changed(input, state.reference, threshold, threads)) {
      std::memcpy(state.reference.f32(), input.f32(), input.bytes());
      accepted.set_all();
      times->detect_ms += ms_between(t0, Clock::now());
      state.last_threshold = threshold;
      return;
    }
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

const Gate& exact_gate() {
  static const ThresholdGate gate;
  return gate;
}

}  // namespace sparseinfer

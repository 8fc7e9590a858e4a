// Skip-Conv Gumbel gate at inference (§3.2.2, Eq. 8): the trained gate's
// logit on the input residual, rounded. The residual is taken against the
// gate's state and only accepted pixels enter that state (CBinfer §III-C
// closed loop), so a change the gate skips stays in the residual and is
// judged again, larger, when the pixel next moves.
#include "engine/gates/gumbel_gate.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "sparseinfer/error.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class GumbelGate : public Gate {
 public:
  explicit GumbelGate(const GumbelGateLayer& weights) : w_(weights) {}

  void prime(const Tensor& input, float threshold, GateState& state) const override {
    if (!state.reference.has_data() || state.reference.shape() != input.shape())
      state.reference.allocate(DType::Float32, input.shape());
    std::memcpy(state.reference.f32(), input.f32(), input.bytes());
    state.last_threshold = threshold;
  }

  void select(const Tensor& input, const ChangeSet& candidates, float threshold, GateState& state,
              std::vector<uint8_t>& flags, int threads, StageTimes* times, ChangeSet& accepted) const override {
    // A pixel whose input did not change keeps its residual and so its
    // decision (skip), unless the threshold went down: then look at all.
    const bool rescan = threshold < state.last_threshold;
    if (candidates.kind == ChangeSet::Kind::None && !rescan) {
      accepted.set_none();
      return;
    }
    auto t0 = Clock::now();
    const Shape& shape = input.shape();
    const int64_t batch = shape[0], channels = shape[1], hw = shape[2] * shape[3];
    if (flags.size() < static_cast<size_t>(batch * hw)) flags.resize(static_cast<size_t>(batch * hw), 0);
    const float* in = input.f32();
    float* ref = state.reference.f32();
    uint8_t* flag = flags.data();
    if (rescan || candidates.kind == ChangeSet::Kind::All) {
      // Every pixel, a row at a time so channels stream through the cache.
      const int64_t width = shape[3], rows = batch * shape[2];
      parallel_for(rows, threads, [&](int64_t begin, int64_t end) {
        std::vector<float> logit(static_cast<size_t>(width));
        std::vector<uint8_t> moved(static_cast<size_t>(width));
        for (int64_t row = begin; row < end; ++row) {
          const int64_t n = row / shape[2], offset = (row % shape[2]) * width;
          std::fill(logit.begin(), logit.end(), 0.0f);
          std::fill(moved.begin(), moved.end(), uint8_t(0));
          for (int64_t c = 0; c < channels; ++c) {
            const float* x = in + (n * channels + c) * hw + offset;
            const float* s = ref + (n * channels + c) * hw + offset;
            const float wa = w_.weight_abs[static_cast<size_t>(c)], ws = w_.weight_signed[static_cast<size_t>(c)];
            for (int64_t i = 0; i < width; ++i) {
              const float r = x[i] - s[i];
              logit[static_cast<size_t>(i)] += wa * std::fabs(r) + ws * r;
              moved[static_cast<size_t>(i)] |= r != 0.0f;
            }
          }
          for (int64_t i = 0; i < width; ++i)
            if (fires(logit[static_cast<size_t>(i)], moved[static_cast<size_t>(i)], threshold))
              accept(in, ref, n, offset + i, channels, hw, flag);
        }
      });
    } else {
      const std::vector<int32_t>& pixels = candidates.pixels;
      parallel_for(static_cast<int64_t>(pixels.size()), threads, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          const int64_t n = pixels[static_cast<size_t>(k)] / hw, p = pixels[static_cast<size_t>(k)] % hw;
          float logit = 0.0f;
          bool moved = false;
          for (int64_t c = 0; c < channels; ++c) {
            const int64_t at = (n * channels + c) * hw + p;
            const float r = in[at] - ref[at];
            logit +=
                w_.weight_abs[static_cast<size_t>(c)] * std::fabs(r) + w_.weight_signed[static_cast<size_t>(c)] * r;
            moved |= r != 0.0f;
          }
          if (fires(logit, moved, threshold)) accept(in, ref, n, p, channels, hw, flag);
        }
      });
    }
    auto t1 = Clock::now();
    extract_changes(flags, accepted);
    times->detect_ms += ms_between(t0, t1);
    times->extract_ms += ms_between(t1, Clock::now());
    state.last_threshold = threshold;
  }

  const Tensor& source(const Tensor& /*input*/, const GateState& state) const override { return state.reference; }

 private:
  // Eq. 8 at inference: round the sigmoid, i.e. logit > 0; a user threshold
  // moves the cut to trade accuracy for speed. A pixel with no residual has
  // nothing to recompute.
  bool fires(float logit_without_bias, bool moved, float threshold) const {
    return moved && logit_without_bias + w_.bias > threshold;
  }

  static void accept(const float* in, float* ref, int64_t n, int64_t p, int64_t channels, int64_t hw, uint8_t* flag) {
    for (int64_t c = 0; c < channels; ++c) ref[(n * channels + c) * hw + p] = in[(n * channels + c) * hw + p];
    flag[n * hw + p] = 1;
  }

  GumbelGateLayer w_;
};

}  // namespace

std::unique_ptr<Gate> make_gumbel_gate(const GumbelGateSet* gates, const std::string& layer, int64_t in_channels) {
  if (!gates) throw Error("Gumbel gates need a gates file (EngineOptions::gumbel_gates)");
  auto it = gates->layers.find(layer);
  if (it == gates->layers.end())
    throw Error(gates->path + ": no gate for layer '" + layer + "' (the file was made for " +
                (gates->model.empty() ? std::string("another model") : gates->model) + ")");
  if (it->second.channels() != in_channels)
    throw Error(gates->path + ": layer '" + layer + "': the gate has " + std::to_string(it->second.channels()) +
                " channels, the layer reads " + std::to_string(in_channels));
  return std::make_unique<GumbelGate>(it->second);
}

void check_gumbel_layers(const GumbelGateSet& gates, const std::vector<std::string>& gated) {
  for (const auto& [name, gate] : gates.layers) {
    bool found = false;
    for (const std::string& g : gated) found |= g == name;
    if (!found)
      throw Error(gates.path + ": layer '" + name + "' is not a gated (spatial convolution) layer of this model");
  }
}

}  // namespace sparseinfer

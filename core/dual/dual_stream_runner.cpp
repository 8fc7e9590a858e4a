// Hosts Phi and Phi' (paper 000 §2) on the core engine and runs one stream's
// frames through whichever the schedule picks, carrying Phi's saliency maps
// from its last run to the Phi' frames that follow.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "dual/change_fraction.h"
#include "sparseinfer/dual_stream.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

const char* const kFrame = "frame";
const char* const kLogits = "logits";
const char* const kDecay = "decay";

template <typename Info>
size_t find_named(const std::vector<Info>& list, const std::string& name, const std::string& file, const char* what) {
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].name == name) return i;
  std::string have;
  for (const Info& v : list) have += (have.empty() ? "'" : ", '") + v.name + "'";
  throw ModelError(file, "", "",
                   std::string("not a saliency dual-stream model: no ") + what + " named '" + name + "' (it has " +
                       (have.empty() ? "none" : have) + "); see examples/models/saliency");
}

std::unique_ptr<Model> load_checked(const std::string& path, const char* property) {
  if (path.empty()) throw Error(std::string("no ") + property + " set");
  return std::make_unique<Model>(load_model(path));
}

void expect_shape(const Shape& got, const Shape& want, const std::string& file, const std::string& what) {
  if (got != want)
    throw ModelError(file, "", "",
                     what + " has shape " + shape_str(got) + ", the dual-stream contract needs " + shape_str(want));
}

void softmax3(const float* logits, std::array<float, kSaliencyClasses>& p) {
  float top = *std::max_element(logits, logits + kSaliencyClasses);
  float sum = 0.0f;
  for (int c = 0; c < kSaliencyClasses; ++c) sum += (p[c] = std::exp(logits[c] - top));
  for (float& v : p) v /= sum;
}

}  // namespace

DualStreamState::DualStreamState(const DualStreamRunner& runner)
    : large_(runner.large_engine().new_stream()),
      small_(runner.small_engine().new_stream()),
      schedule_(runner.options().schedule),
      decay_(DType::Float32, {1}) {
  small_->set_all_thresholds(runner.options().small_threshold);
}

DualStreamState::~DualStreamState() = default;

void DualStreamState::reset() {
  large_->reset();
  small_->reset();
  schedule_.reset();
  maps_.clear();
  has_margin_ = false;
  last_margin_ = 0.0;
}

size_t DualStreamState::state_bytes() const {
  size_t bytes = large_->state_bytes() + small_->state_bytes() + reference_.bytes() + large_input_.bytes() +
                 small_input_.bytes() + decay_.bytes();
  for (const Tensor& m : maps_) bytes += m.bytes();
  return bytes;
}

DualStreamRunner::DualStreamRunner(const DualStreamOptions& options) : options_(options) {
  // Validate the options a person sets before the (slow) compilation.
  SaliencySchedule check(options.schedule);
  saliency_decay(0, options.decay_tau);
  if (!(options.change_pixel_threshold >= 0.0f && options.change_pixel_threshold <= 1.0f))
    throw Error("dual stream: change-pixel-threshold must lie in [0, 1], got " +
                std::to_string(options.change_pixel_threshold));
  if (!(options.small_threshold >= 0.0f))
    throw Error("dual stream: the small model's change threshold must be >= 0, got " +
                std::to_string(options.small_threshold));

  std::unique_ptr<Model> large = load_checked(options.large_model, "large model");
  std::unique_ptr<Model> small = load_checked(options.small_model, "small model");
  const std::string& lf = options.large_model;
  const std::string& sf = options.small_model;

  // Phi: one image input with a declared size.
  if (large->inputs.size() != 1)
    throw ModelError(
        lf, "", "",
        "the large model needs exactly one input ('frame'), it has " + std::to_string(large->inputs.size()));
  find_named(large->inputs, kFrame, lf, "input");
  const std::vector<int64_t>& dims = large->inputs[0].dims;
  if (dims.size() != 4 || dims[1] != 3 || dims[2] <= 0 || dims[3] <= 0 || dims[2] % 2 || dims[3] % 2)
    throw ModelError(lf, "", "",
                     "input 'frame' must be 1 x 3 x H x W with a declared, even H and W, it is " + shape_str(dims));
  height_ = static_cast<int>(dims[2]);
  width_ = static_cast<int>(dims[3]);
  small_height_ = height_ / 2;
  small_width_ = width_ / 2;

  EngineOptions lopt;
  lopt.backend = options.backend;
  lopt.threads = options.threads;
  lopt.mode = Mode::Dense;
  lopt.input_shapes = {{1, 3, height_, width_}};
  large_ = std::make_unique<Engine>(*large, lopt);
  labels_ = class_labels(*large);

  large_logits_ = find_named(large_->outputs(), kLogits, lf, "output");
  expect_shape(large_->outputs()[large_logits_].shape, {1, kSaliencyClasses}, lf, "output 'logits'");
  for (int m = 0; m < 2; ++m) {
    large_maps_[m] = find_named(large_->outputs(), kSaliencyMapNames[m], lf, "output");
    const Shape& s = large_->outputs()[large_maps_[m]].shape;
    if (s.size() != 4 || s[0] != 1 || s[1] != 1)
      throw ModelError(lf, "", "",
                       std::string("output '") + kSaliencyMapNames[m] + "' must be a 1 x 1 x h x w map, it is " + shape_str(s));
  }

  // Phi': frame at half resolution, both maps exactly as Phi emits them, the decay.
  if (small->inputs.size() != 4)
    throw ModelError(sf, "", "",
                     "the small model needs four inputs (frame, saliency_a, saliency_b, decay), it has " +
                         std::to_string(small->inputs.size()));
  EngineOptions sopt = lopt;
  sopt.mode = options.small_mode;
  sopt.input_shapes.assign(small->inputs.size(), Shape{});
  small_frame_ = find_named(small->inputs, kFrame, sf, "input");
  small_decay_ = find_named(small->inputs, kDecay, sf, "input");
  sopt.input_shapes[small_frame_] = {1, 3, small_height_, small_width_};
  sopt.input_shapes[small_decay_] = {1};
  for (int m = 0; m < 2; ++m) {
    small_maps_[m] = find_named(small->inputs, kSaliencyMapNames[m], sf, "input");
    const Shape want = large_->outputs()[large_maps_[m]].shape;
    std::vector<int64_t> declared = small->inputs[small_maps_[m]].dims;
    for (size_t d = 0; d < declared.size() && d < want.size(); ++d)
      if (declared[d] < 0) declared[d] = want[d];
    if (declared != want)
      throw ModelError(sf, "", "",
                       std::string("input '") + kSaliencyMapNames[m] + "' is " + shape_str(declared) + " but the large model " +
                           lf + " emits " + shape_str(want) + ": the two models do not belong together");
    sopt.input_shapes[small_maps_[m]] = want;
  }
  for (size_t i = 0; i < small->inputs.size(); ++i) {
    std::vector<int64_t> declared = small->inputs[i].dims;
    const Shape& want = sopt.input_shapes[i];
    bool fits = declared.size() == want.size();
    for (size_t d = 0; fits && d < declared.size(); ++d) fits = declared[d] < 0 || declared[d] == want[d];
    if (!fits)
      throw ModelError(sf, "", "",
                       "input '" + small->inputs[i].name + "' is " + shape_str(declared) + ", the contract needs " +
                           shape_str(want) + " (half of the large model's " + std::to_string(width_) + "x" +
                           std::to_string(height_) + " frame)");
  }
  small_ = std::make_unique<Engine>(*small, sopt);
  small_logits_ = find_named(small_->outputs(), kLogits, sf, "output");
  expect_shape(small_->outputs()[small_logits_].shape, {1, kSaliencyClasses}, sf, "output 'logits'");

  if (options.schedule.kind == ScheduleKind::Adaptive) {
    const double small_cost = static_cast<double>(small_macs_dense()) / static_cast<double>(large_macs());
    if (options.schedule.max_cost < small_cost)
      throw Error("dual stream: max-cost " + std::to_string(options.schedule.max_cost) +
                  " is below the small model's own cost (" + std::to_string(small_cost) +
                  " of the large model's MACs), which every frame without the large model spends");
  }
}

DualStreamRunner::~DualStreamRunner() = default;

int64_t DualStreamRunner::large_macs() const {
  return large_->total_macs();
}
int64_t DualStreamRunner::small_macs_dense() const {
  return small_->total_macs();
}

std::unique_ptr<DualStreamState> DualStreamRunner::new_stream() const {
  return std::unique_ptr<DualStreamState>(new DualStreamState(*this));
}

DualStreamResult DualStreamRunner::run(DualStreamState& state, const uint8_t* pixels, int width, int height, int stride,
                                       PixelFormat format, StreamChoice choice) const {
  const auto t0 = Clock::now();
  PreprocessOptions pre = options_.preprocess;
  pre.width = width_;
  pre.height = height_;
  preprocess_frame(pixels, width, height, stride, format, pre, state.large_input_);
  // Straight from the frame, so a frame of Phi's size gives the contract's 2x2 average.
  pre.width = small_width_;
  pre.height = small_height_;
  preprocess_frame(pixels, width, height, stride, format, pre, state.small_input_);
  return run_inputs(state, choice, ms_since(t0));
}

DualStreamResult DualStreamRunner::run(DualStreamState& state, const Tensor& large_input, const Tensor& small_input,
                                       StreamChoice choice) const {
  const Shape lshape{1, 3, height_, width_}, sshape{1, 3, small_height_, small_width_};
  if (large_input.dtype() != DType::Float32 || large_input.shape() != lshape || !large_input.has_data())
    throw Error("dual stream: the large input must be float32 " + shape_str(lshape) + ", got " +
                shape_str(large_input.shape()));
  if (small_input.dtype() != DType::Float32 || small_input.shape() != sshape || !small_input.has_data())
    throw Error("dual stream: the small input must be float32 " + shape_str(sshape) + ", got " +
                shape_str(small_input.shape()));
  state.large_input_ = large_input;
  state.small_input_ = small_input;
  return run_inputs(state, choice, 0.0);
}

DualStreamResult DualStreamRunner::run_inputs(DualStreamState& state, StreamChoice choice, double preprocess_ms) const {
  const auto t0 = Clock::now();
  DualStreamResult r;
  r.frame_index = state.frame_index();
  const bool has_reference = state.schedule_.has_large();
  r.change_fraction = has_reference ? change_fraction(state.small_input_, state.reference_, options_.preprocess.std,
                                                      options_.change_pixel_threshold)
                                    : 1.0;

  ScheduleDecision d;
  if (choice == StreamChoice::Schedule) {
    d = state.schedule_.decide({r.change_fraction, state.has_margin_, state.last_margin_});
  } else if (choice == StreamChoice::Large) {
    d = {DualStream::Large, 0, ScheduleReason::Forced};
  } else {
    if (!has_reference)
      throw Error(
          "dual stream: the small model cannot run before the large one has run on this stream "
          "(no saliency maps since the last reset)");
    d = {DualStream::Small, state.schedule_.frames_since_large() + 1, ScheduleReason::Forced};
  }

  FrameResult fr;
  const float* logits = nullptr;
  if (d.stream == DualStream::Large) {
    fr = large_->run(*state.large_, {&state.large_input_});
    state.maps_.resize(2);
    for (int m = 0; m < 2; ++m) state.maps_[m] = *fr.outputs[large_maps_[m]];
    state.reference_ = state.small_input_;
    r.decay = 1.0f;
    logits = fr.outputs[large_logits_]->f32();
  } else {
    r.decay = saliency_decay(d.k, options_.decay_tau);
    state.decay_.f32()[0] = r.decay;
    std::vector<const Tensor*> inputs(4);
    inputs[small_frame_] = &state.small_input_;
    inputs[small_maps_[0]] = &state.maps_[0];
    inputs[small_maps_[1]] = &state.maps_[1];
    inputs[small_decay_] = &state.decay_;
    fr = small_->run(*state.small_, inputs);
    logits = fr.outputs[small_logits_]->f32();
  }
  r.macs = fr.macs_executed;
  softmax3(logits, r.probabilities);

  r.stream = d.stream;
  r.reason = d.reason;
  r.k = d.k;
  r.label =
      static_cast<int>(std::max_element(r.probabilities.begin(), r.probabilities.end()) - r.probabilities.begin());
  std::array<float, kSaliencyClasses> sorted = r.probabilities;
  std::sort(sorted.begin(), sorted.end());
  r.margin = static_cast<double>(sorted[kSaliencyClasses - 1] - sorted[kSaliencyClasses - 2]);
  r.cost = static_cast<double>(r.macs) / static_cast<double>(std::max<int64_t>(large_macs(), 1));

  state.schedule_.commit(d, r.cost);
  // Only a Phi' frame's margin says how far its maps can still be trusted.
  state.has_margin_ = d.stream == DualStream::Small;
  state.last_margin_ = r.margin;
  r.ms = preprocess_ms + ms_since(t0);
  return r;
}

}  // namespace sparseinfer

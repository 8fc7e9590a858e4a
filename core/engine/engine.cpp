// Engine and StreamState: compile a plan once, pick the executor for the
// backend and mode, and dispatch frames to it. Nothing here knows a mode.
#include "sparseinfer/engine.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "cpu/conv_cpu.h"
#include "engine/executor.h"
#include "engine/plan.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Auto:
      return "auto";
    case Backend::Cpu:
      return "cpu";
    case Backend::Cuda:
      return "cuda";
  }
  return "?";
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Dense:
      return "dense";
    case Mode::Change:
      return "change";
    case Mode::Block:
      return "block";
  }
  return "?";
}

struct StreamState::Impl {
  const Plan* plan = nullptr;
  std::unique_ptr<ModeState> mode;
  int64_t frame_index = 0;
};

StreamState::StreamState() : impl_(std::make_unique<Impl>()) {}
StreamState::~StreamState() = default;
int64_t StreamState::frame_index() const {
  return impl_->frame_index;
}
size_t StreamState::state_bytes() const {
  return impl_->mode->bytes();
}
void StreamState::reset() {
  impl_->mode->reset();
}
void StreamState::refresh() {
  impl_->mode->refresh();
}
void StreamState::set_threshold(const std::string& layer, float threshold) {
  impl_->mode->gate_settings().set(layer, threshold);
}
void StreamState::set_all_thresholds(float threshold) {
  impl_->mode->gate_settings().set_all(threshold);
}
void StreamState::set_threshold_scale(float scale) {
  impl_->mode->gate_settings().set_scale(scale);
}
float StreamState::threshold(const std::string& layer) const {
  return impl_->mode->gate_settings().get(layer);
}
float StreamState::threshold_scale() const {
  return impl_->mode->gate_settings().scale();
}
void StreamState::set_block_gate(std::shared_ptr<BlockGate> gate) {
  impl_->mode->set_block_gate(std::move(gate));
}

static int resolve_threads(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

Engine::Engine(const Model& source, const EngineOptions& options) : plan_(std::make_unique<Plan>()) {
  compile_plan(source, options, resolve_threads(options.threads), *plan_);
  executor_ = make_executor(*plan_);
}

Engine::~Engine() = default;

const std::vector<TensorInfo>& Engine::inputs() const {
  return plan_->inputs;
}
const std::vector<TensorInfo>& Engine::outputs() const {
  return plan_->outputs;
}
const std::vector<LayerInfo>& Engine::layers() const {
  return plan_->layers;
}
int64_t Engine::total_macs() const {
  return plan_->total_macs;
}
int64_t Engine::total_params() const {
  return plan_->total_params;
}
Backend Engine::backend() const {
  return plan_->options.backend;
}
Mode Engine::mode() const {
  return plan_->options.mode;
}
int Engine::threads() const {
  return plan_->threads;
}
const std::string& Engine::model_path() const {
  return plan_->model.path;
}

std::vector<std::string> Engine::threshold_layers() const {
  return executor_->threshold_layers();
}

size_t Engine::dense_activation_bytes() const {
  size_t bytes = 0;
  for (const Value& v : plan_->values)
    if (v.kind == ValueKind::Activation)
      bytes += static_cast<size_t>(v.tensor.numel()) * (v.tensor.dtype() == DType::Float32 ? 4 : 8);
  // Conv scratch, as documented: the layers take turns with one buffer, so the largest counts.
  int64_t scratch = 0;
  for (const Step& step : plan_->steps) scratch = std::max(scratch, conv_scratch_floats(*step.op, plan_->threads));
  return bytes + static_cast<size_t>(scratch) * sizeof(float);
}

std::unique_ptr<StreamState> Engine::new_stream() const {
  std::unique_ptr<StreamState> state(new StreamState());
  state->impl_->plan = plan_.get();
  state->impl_->mode = executor_->new_state();
  return state;
}

FrameResult Engine::run(StreamState& state, const std::vector<const Tensor*>& inputs) const {
  const Plan& p = *plan_;
  StreamState::Impl& s = *state.impl_;
  if (s.plan != &p) throw Error("stream state belongs to another engine");
  if (inputs.size() != p.inputs.size())
    throw Error(p.model.path + ": expected " + std::to_string(p.inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& want = p.inputs[i];
    if (!inputs[i] || !inputs[i]->has_data() || inputs[i]->dtype() != want.dtype || inputs[i]->shape() != want.shape)
      throw Error(
          p.model.path + ": input '" + want.name + "' must be " + dtype_name(want.dtype) + " " + shape_str(want.shape) +
          (inputs[i] ? std::string(", got ") + dtype_name(inputs[i]->dtype()) + " " + shape_str(inputs[i]->shape())
                     : std::string(", got nothing")));
  }

  FrameResult result;
  if (p.options.profile) result.layer_ms.assign(p.steps.size(), 0.0);
  auto t0 = std::chrono::steady_clock::now();
  executor_->run(*s.mode, inputs, result);
  result.times.total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ++s.frame_index;
  return result;
}

}  // namespace sparseinfer

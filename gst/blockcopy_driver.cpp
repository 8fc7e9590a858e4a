#include "blockcopy_driver.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

#include "element_support.h"
#include "sparseinfer/error.h"

namespace sparseinfer::gst {

void BlockCopyDriver::open(const BlockCopySettings& settings) {
  close();
  if (settings.latency_budget_ms > 0 && settings.gate != BlockGateKind::Change)
    throw Error("'latency-budget' moves the change gate's threshold: it needs gate=change");
  settings_ = settings;
  budget_ = LatencyBudgetController();
  budget_.set_budget(settings.latency_budget_ms);
  model_ = std::make_unique<Model>(load_model(settings.model_path));
  try {
    description_ = load_model_description(*model_);
  } catch (const Error& e) {
    model_.reset();
    throw DescriptionError(e.what());
  }
  preprocess_ = effective_preprocess(description_, settings.mean, settings.std, settings.rgb, settings.set);
  labels_ = description_.labels.empty() ? class_labels(*model_) : description_.labels;
  model_name_ = base_name(settings.model_path);
}

void BlockCopyDriver::close() {
  policy_.reset();
  state_.reset();
  engine_.reset();
  model_.reset();
  description_ = ModelDescription{};
  labels_.clear();
  outputs_.clear();
  detections_.clear();
  class_map_.reset();
  net_width_ = net_height_ = 0;
}

void BlockCopyDriver::save_policy() {
  if (!policy_ || settings_.policy_file.empty()) return;
  try {
    policy_->trainer().save(settings_.policy_file);
  } catch (const Error& e) {
    throw PolicyFileError(e.what());
  }
}

bool BlockCopyDriver::configure(int frame_width, int frame_height) {
  if (!model_) throw Error("blockcopypolicy: no model loaded");
  if (model_->inputs.empty()) throw Error(settings_.model_path + ": the model has no input");
  const ValueInfo& in = model_->inputs[0];
  int w = settings_.input_width, h = settings_.input_height;
  if (w == 0 || h == 0) {
    const bool declared = in.dims.size() == 4 && in.dims[2] > 0 && in.dims[3] > 0;
    w = declared ? static_cast<int>(in.dims[3]) : frame_width;
    h = declared ? static_cast<int>(in.dims[2]) : frame_height;
  }
  if (engine_ && w == net_width_ && h == net_height_) return false;
  EngineOptions opt;
  opt.backend = Backend::Cpu;  // block mode runs on the CPU backend
  opt.mode = Mode::Block;
  opt.threads = settings_.threads;
  opt.block_size = settings_.block_size;
  opt.input_shapes = {{1, in.dims.size() == 4 && in.dims[1] > 0 ? in.dims[1] : 3, h, w}};
  engine_ = std::make_unique<Engine>(*model_, opt);
  state_ = engine_->new_stream();
  state_->set_all_thresholds(settings_.threshold);
  policy_.reset();
  if (settings_.gate == BlockGateKind::Policy) {
    std::vector<std::string> output_names;
    for (const TensorInfo& o : engine_->outputs()) output_names.push_back(o.name);
    policy::PolicyGateOptions options;
    options.settings.cost_target = float(settings_.cost_target);
    options.settings.learning_rate = float(settings_.learning_rate);
    options.settings.update_interval = settings_.update_interval;
    options.settings.train = settings_.train;
    options.threads = settings_.threads > 0 ? settings_.threads : 1;
    // A camera keeps what it learned: start from the file when there is one.
    if (!settings_.policy_file.empty() && std::ifstream(settings_.policy_file).good())
      options.policy_file = settings_.policy_file;
    policy::OutputReader reader = policy::description_output_reader(description_, output_names, w, h);
    try {
      policy_ = std::make_shared<policy::PolicyBlockGate>(std::move(reader), options);
    } catch (const Error& e) {
      engine_.reset();
      state_.reset();
      throw PolicyFileError(e.what());
    }
    state_->set_block_gate(policy_);
  }
  net_width_ = w;
  net_height_ = h;
  return true;
}

void BlockCopyDriver::update(const BlockCopySettings& settings) {
  const bool threshold_changed = settings.threshold != settings_.threshold;
  settings_.threshold = settings.threshold;
  settings_.emit_stats = settings.emit_stats;
  if (threshold_changed && state_) state_->set_all_thresholds(settings_.threshold);
  if (settings.latency_budget_ms != budget_.budget_ms() && settings_.gate == BlockGateKind::Change &&
      std::isfinite(settings.latency_budget_ms) && settings.latency_budget_ms >= 0) {
    budget_.set_budget(settings.latency_budget_ms);
    settings_.latency_budget_ms = settings.latency_budget_ms;
    if (state_) state_->set_threshold_scale(float(budget_.factor()));
  }
  // τ may move while playing: the trainer's cost reward aims at it from the next frame.
  settings_.cost_target = settings.cost_target;
  if (policy_) policy_->trainer().settings().cost_target = float(settings_.cost_target);
}

void BlockCopyDriver::reset() {
  if (state_) state_->reset();
  budget_.reset();
  outputs_.clear();
  detections_.clear();
  class_map_.reset();
}

BlockCopyFrameStats BlockCopyDriver::infer(const FrameView& frame) {
  if (!engine_) throw Error("blockcopypolicy: the engine is not configured");
  auto t0 = std::chrono::steady_clock::now();
  PreprocessOptions pre = preprocess_;
  pre.width = net_width_;
  pre.height = net_height_;
  preprocess_frame(frame.pixels, frame.width, frame.height, frame.stride, frame.format, pre, input_);
  FrameResult r = engine_->run(*state_, {&input_});
  outputs_.clear();
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const Tensor& t = *r.outputs[i];
    auto bytes = std::make_shared<std::vector<uint8_t>>(t.bytes());
    std::memcpy(bytes->data(), t.raw(), t.bytes());
    outputs_.push_back({engine_->outputs()[i].name, t.shape(), std::move(bytes)});
  }
  detections_.clear();
  class_map_.reset();
  if (description_.decoder != DecoderKind::None) {
    std::vector<NamedOutput> named;
    for (size_t i = 0; i < r.outputs.size() && i < engine_->outputs().size(); ++i)
      named.push_back({engine_->outputs()[i].name, r.outputs[i]});
    DecodeResult decoded = decode_outputs(description_, named, frame_geometry(frame.width, frame.height, pre));
    detections_ = std::move(decoded.detections);
    if (!decoded.class_map.empty()) {
      class_map_ = class_map_bytes(decoded);
      class_map_width_ = decoded.map_width;
      class_map_height_ = decoded.map_height;
    }
  }
  frame_width_ = frame.width;
  frame_height_ = frame.height;
  grid_ = r.block_grid;
  BlockCopyFrameStats s;
  s.dense_frame = r.dense_frame;
  s.executed_fraction = r.executed_fraction;
  s.mac_fraction = r.mac_fraction();
  s.macs_executed = r.macs_executed;
  s.macs_dense = r.macs_dense;
  s.gate_ms = r.times.detect_ms;
  s.process_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  s.state_bytes = state_->state_bytes();
  if (!policy_) {
    s.threshold = double(settings_.threshold) * state_->threshold_scale();
    // The next frame's threshold follows this one's time (the change gate's threshold times the factor).
    if (budget_.enabled()) {
      budget_.observe(s.process_ms, r.dense_frame);
      state_->set_threshold_scale(float(budget_.factor()));
    }
  }
  s.grid = grid_.data();
  s.grid_cols = static_cast<int>(r.grid_cols);
  s.grid_rows = static_cast<int>(r.grid_rows);
  s.block_size = static_cast<int>(r.block_size);
  if (policy_) {
    const policy::PolicyGateTimes& t = policy_->last_times();
    const policy::ReinforceTrainer& trainer = policy_->trainer();
    const std::vector<float>& ig = policy_->last_information_gain();
    s.policy = true;
    s.policy_ms = t.forward_ms + t.information_gain_ms + t.backward_ms + t.update_ms;
    s.information_gain = ig.empty() ? 0.0 : std::accumulate(ig.begin(), ig.end(), 0.0) / double(ig.size());
    s.reward = trainer.last_stats().mean_reward;
    s.cost = trainer.last_stats().cost;
    s.running_cost = trainer.running_cost();
  }
  return s;
}

}  // namespace sparseinfer::gst

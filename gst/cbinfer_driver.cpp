#include "cbinfer_driver.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "element_support.h"
#include "engine_cache.h"
#include "sparseinfer/error.h"

namespace sparseinfer::gst {

namespace {

// Input size a probe engine uses to check the backend before caps are known.
constexpr int kProbeSize = 64;

int declared_dim(const Model& model, size_t axis) {
  const std::vector<int64_t>& dims = model.inputs[0].dims;
  return dims.size() == 4 && dims[axis] > 0 ? static_cast<int>(dims[axis]) : 0;
}

std::string outputs_str(const Model& model) {
  std::string text;
  for (const ValueInfo& o : model.outputs) text += (text.empty() ? "'" : ", '") + o.name + "' " + shape_str(o.dims);
  return text;
}

std::string values_str(const std::array<double, 3>& values, unsigned count) {
  if (count != 3) return std::to_string(count) + " value" + (count == 1 ? "" : "s");
  char buf[96];
  std::snprintf(buf, sizeof buf, "<%g, %g, %g>", values[0], values[1], values[2]);
  return buf;
}

}  // namespace

PreprocessOptions effective_preprocess(const ModelDescription& description, const CbinferSettings& settings) {
  return effective_preprocess(description, settings.mean, settings.std, settings.rgb, settings.set);
}

DetectionParams effective_detection(const ModelDescription& description, const CbinferSettings& settings) {
  if (!description.present) return settings.detection;
  DetectionParams params = description.detection;
  if (settings.set.score_threshold) params.score_threshold = settings.detection.score_threshold;
  if (settings.set.nms_threshold) params.iou_threshold = settings.detection.iou_threshold;
  if (settings.set.max_detections) params.max_detections = settings.detection.max_detections;
  return params;
}

GstSparseinferTask decoder_task(DecoderKind kind) {
  switch (kind) {
    case DecoderKind::Ssd:
    case DecoderKind::Centernet:
      return GST_SPARSEINFER_TASK_DETECTION;
    case DecoderKind::Segmentation:
      return GST_SPARSEINFER_TASK_SEGMENTATION;
    case DecoderKind::Classification:
      return GST_SPARSEINFER_TASK_CLASSIFICATION;
    case DecoderKind::None:
      break;
  }
  return GST_SPARSEINFER_TASK_UNKNOWN;
}

const char* const kBudgetOrTargetProblem =
    "'latency-budget' and 'target-sparsity' both move the change thresholds (the budget a scale over them, the "
    "target each layer's) and would work against each other: set one or the other";

void validate_settings(const CbinferSettings& settings) {
  if (settings.mean_count != 3)
    throw SettingError("mean", "'mean' needs 3 values, one per network input channel, got " +
                                   values_str(settings.mean, settings.mean_count));
  if (settings.std_count != 3)
    throw SettingError("std", "'std' needs 3 values, one per network input channel, got " +
                                  values_str(settings.std, settings.std_count));
  for (double m : settings.mean)
    if (!std::isfinite(m))
      throw SettingError("mean", "'mean' " + values_str(settings.mean, 3) + " has a value that is not a number");
  for (double s : settings.std)
    if (!std::isfinite(s) || s == 0.0)
      throw SettingError("std", "'std' " + values_str(settings.std, 3) +
                                    " divides a channel by zero (or by a non-number): every value must be nonzero, "
                                    "e.g. std=\"<0.229, 0.224, 0.225>\"");
  if (settings.latency_budget_ms > 0 && settings.mode != Mode::Change)
    throw SettingError("latency-budget", "'latency-budget' moves the change thresholds: it needs mode=change");
  if (settings.latency_budget_ms > 0 && settings.batch_timeout_us > 0)
    throw SettingError("latency-budget",
                       "'latency-budget' is per stream, but the streams of a batch (batch-timeout) share one "
                       "threshold scale: set one or the other");
  if (settings.latency_budget_ms > 0 && settings.target_sparsity > 0)
    throw SettingError("latency-budget", kBudgetOrTargetProblem);
}

std::string detection_outputs_problem(const Model& model) {
  const std::vector<ValueInfo>& outs = model.outputs;
  const std::string need = "task 'detection' needs two outputs, heatmap [1,K,h,w] and boxes [1,4,h,w]";
  if (outs.size() < 2) return need + ", the model has " + std::to_string(outs.size()) + " (" + outputs_str(model) + ")";
  // The same pick as infer(): the outputs so named, else the first two.
  const ValueInfo *heatmap = &outs[0], *boxes = &outs[1];
  for (const ValueInfo& o : outs) {
    if (o.name == "heatmap") heatmap = &o;
    if (o.name == "boxes") boxes = &o;
  }
  const std::vector<int64_t>&hd = heatmap->dims, &bd = boxes->dims;
  auto differ = [](int64_t a, int64_t b) { return a > 0 && b > 0 && a != b; };
  if (heatmap == boxes || heatmap->dtype != DType::Float32 || boxes->dtype != DType::Float32 || hd.size() != 4 ||
      bd.size() != 4 || differ(bd[1], 4) || differ(hd[2], bd[2]) || differ(hd[3], bd[3]))
    return need + " of float values on the same grid; the model's outputs are " + outputs_str(model);
  return "";
}

std::vector<std::pair<std::string, std::string>> engine_spec(const CbinferSettings& settings) {
  // The same file under two spellings is the same model.
  std::error_code error;
  const std::filesystem::path path = std::filesystem::weakly_canonical(settings.model_path, error);
  return {
      {"model", error ? settings.model_path : path.string()},
      {"mode", mode_name(settings.mode)},
      {"gate", settings.gate},
      {"backend", backend_name(settings.backend)},
      {"threads", std::to_string(settings.threads)},
      {"input-width", std::to_string(settings.input_width)},
      {"input-height", std::to_string(settings.input_height)},
  };
}

void CbinferTotals::add(const CbinferFrameStats& frame) {
  ++frames;
  if (frame.inferred) {
    ++inferred;
    dense += frame.dense_frame ? 1 : 0;
    refresh += frame.refresh_frame ? 1 : 0;
    changed_fraction += frame.changed_fraction;
    mac_fraction += frame.mac_fraction;
    ms += frame.process_ms;
  }
  if (frame.qos_skipped) ++qos_skipped;
}

void CbinferDriver::open(const CbinferSettings& settings) {
  close();
  validate_settings(settings);
  settings_ = settings;
  budget_ = LatencyBudgetController();
  budget_.set_budget(settings.latency_budget_ms);
  if (settings.model_path.empty()) throw Error("no model set (property 'model')");
  std::shared_ptr<const Model> model;
  std::shared_ptr<SharedEngine> shared;
  if (settings.model_instance_id.empty()) {
    model = std::make_shared<const Model>(load_model(settings.model_path));
  } else {
    EngineOptions options;
    options.backend = settings.backend;
    options.mode = settings.mode;
    options.gate = settings.gate;
    options.threads = settings.threads;
    try {
      shared = EngineCache::process().acquire<SharedEngine>(
          settings.model_instance_id, "cbinferconv", engine_spec(settings), [&]() {
            return std::make_shared<SharedEngine>(std::make_shared<const Model>(load_model(settings.model_path)),
                                                  options);
          });
    } catch (const InstanceMismatch& e) {
      throw SettingError(e.property(), e.what());
    }
    model = shared->model();
  }
  if (model->inputs.size() != 1)
    throw ModelError(
        settings.model_path, "", "",
        "cbinferconv needs a model with exactly one input, this one has " + std::to_string(model->inputs.size()));
  const std::vector<int64_t>& dims = model->inputs[0].dims;
  if (dims.size() != 4 || (dims[1] > 0 && dims[1] != 3))
    throw ModelError(
        settings.model_path, "", "",
        "cbinferconv needs an N x 3 x H x W image input, input '" + model->inputs[0].name + "' is " + shape_str(dims));
  if (!settings.thresholds_file.empty())
    thresholds_ = std::make_shared<const ThresholdSet>(read_thresholds(settings.thresholds_file));
  if (!settings.gates_file.empty()) {
    if (settings.mode != Mode::Change || settings.backend == Backend::Cuda || !settings.model_instance_id.empty())
      throw SettingError("gates-file", "'gates-file' needs mode=change on the CPU backend, without model-instance-id");
    gumbel_gates_ = std::make_shared<const GumbelGateSet>(read_gumbel_gates(settings.gates_file));
  }
  if (settings.backend == Backend::Cuda) {
    // Compile a small probe so an unavailable backend fails now, at the state change.
    EngineOptions probe;
    probe.backend = settings.backend;
    probe.mode = settings.mode;
    probe.gate = settings.gate;
    probe.threads = 1;
    probe.input_shapes = {{1, 3, declared_dim(*model, 2) ? declared_dim(*model, 2) : kProbeSize,
                           declared_dim(*model, 3) ? declared_dim(*model, 3) : kProbeSize}};
    Engine check(*model, probe);
  }
  try {
    description_ = load_model_description(*model);
  } catch (const Error& e) {
    throw DescriptionError(e.what());
  }
  model_ = std::move(model);
  shared_ = std::move(shared);
  // An explicit task wins; the description's decoder runs only for its own task.
  const GstSparseinferTask described = decoder_task(description_.decoder);
  task_ = settings.task ? *settings.task : description_.decoder != DecoderKind::None ? described : guess_task();
  decoder_ = description_.decoder != DecoderKind::None && task_ == described ? description_.decoder : DecoderKind::None;
  if (task_ == GST_SPARSEINFER_TASK_DETECTION && decoder_ == DecoderKind::None) {
    const std::string problem = detection_outputs_problem(*model_);
    if (!problem.empty()) {
      model_.reset();
      shared_.reset();
      throw SettingError("task", problem + "; set 'task' to segmentation, classification or unknown");
    }
  }
  preprocess_ = effective_preprocess(description_, settings);
  decode_with_ = description_;
  decode_with_.detection = effective_detection(description_, settings);
  model_name_ = base_name(settings.model_path);
  labels_ = description_.labels.empty() ? class_labels(*model_) : description_.labels;
}

void CbinferDriver::close() {
  sparsity_.reset();
  if (batcher_) batcher_->leave(slot_);
  batcher_.reset();
  slot_ = -1;
  state_.reset();
  engine_.reset();
  shared_.reset();
  thresholds_.reset();
  gumbel_gates_.reset();
  model_.reset();
  net_width_ = net_height_ = 0;
  held_.clear();
  held_detections_.clear();
  held_class_map_.reset();
  model_name_.clear();
  labels_.clear();
  description_ = ModelDescription{};
  decode_with_ = ModelDescription{};
  decoder_ = DecoderKind::None;
}

bool CbinferDriver::input_follows_frame() const {
  return settings_.input_width <= 0 && settings_.input_height <= 0 && model_ && !declared_dim(*model_, 2) &&
         !declared_dim(*model_, 3);
}

bool CbinferDriver::configure(int frame_width, int frame_height) {
  if (!model_) throw Error("no model loaded");
  frame_width_ = frame_width;
  frame_height_ = frame_height;
  auto pick = [](int property, int declared, int frame) {
    return property > 0 ? property : declared ? declared : frame;
  };
  const int w = pick(settings_.input_width, declared_dim(*model_, 3), frame_width);
  const int h = pick(settings_.input_height, declared_dim(*model_, 2), frame_height);
  if (configured() && w == net_width_ && h == net_height_) return false;

  if (batcher_) batcher_->leave(slot_);
  batcher_.reset();
  slot_ = -1;
  sparsity_.reset();
  state_.reset();
  engine_.reset();
  if (shared_ && settings_.batch_timeout_us > 0) {
    try {
      batcher_ = shared_->batcher(settings_.model_instance_id, w, h);
    } catch (const InstanceMismatch& e) {
      throw SettingError(e.property(), e.what());
    }
    slot_ = batcher_->join();
  } else if (shared_) {
    try {
      engine_ = shared_->engine(settings_.model_instance_id, w, h);
    } catch (const InstanceMismatch& e) {
      throw SettingError(e.property(), e.what());
    }
    // Dense mode borrows a state per frame from the instance (see SharedEngine).
    if (settings_.mode != Mode::Dense) state_ = engine_->new_stream();
  } else {
    EngineOptions options;
    options.backend = settings_.backend;
    options.mode = settings_.mode;
    options.gate = settings_.gate;
    options.threads = settings_.threads;
    options.input_shapes = {{1, 3, h, w}};
    options.gumbel_gates = gumbel_gates_;
    engine_ = std::make_shared<const Engine>(*model_, options);
    state_ = engine_->new_stream();
  }
  net_width_ = w;
  net_height_ = h;
  apply_thresholds_to_state();
  follow_target_sparsity();
  return true;
}

std::optional<std::pair<int, int>> CbinferDriver::suggest_input_size(int frame_width, int frame_height) const {
  if (!model_) return std::nullopt;
  for (int multiple = 2; multiple <= 32; multiple *= 2) {
    const int w = std::max(multiple, frame_width / multiple * multiple);
    const int h = std::max(multiple, frame_height / multiple * multiple);
    EngineOptions options;
    options.backend = Backend::Cpu;  // only the shapes matter here
    options.mode = Mode::Dense;
    options.threads = 1;
    options.input_shapes = {{1, 3, h, w}};
    try {
      Engine probe(*model_, options);
      return std::make_pair(w, h);
    } catch (const std::exception&) {
      // Not this one either: try a coarser multiple.
    }
  }
  return std::nullopt;
}

void CbinferDriver::apply_thresholds_to_state() {
  if (settings_.mode != Mode::Change) return;
  if (batcher_) {
    // One batched state: the streams of a batch share its thresholds (the last element to set them wins).
    batcher_->set_state_setup([threshold = settings_.threshold, scale = settings_.threshold_scale,
                               thresholds = thresholds_](StreamState& state) {
      state.set_all_thresholds(threshold);
      if (thresholds) apply_thresholds(state, *thresholds);
      state.set_threshold_scale(scale);
    });
    return;
  }
  if (!state_) return;
  state_->set_all_thresholds(settings_.threshold);
  if (thresholds_) apply_thresholds(*state_, *thresholds_);
  state_->set_threshold_scale(float(settings_.threshold_scale * budget_.factor()));
}

// Starts, retargets or stops the online threshold controller (SparseTem
// IBST) of this stream. Off, the thresholds go back to the properties'.
// A batched state is shared by the streams of the batch, so it has none.
void CbinferDriver::follow_target_sparsity() {
  if (settings_.target_sparsity <= 0.0 || !state_ || settings_.mode != Mode::Change) {
    if (sparsity_) {
      sparsity_.reset();
      apply_thresholds_to_state();
    }
    return;
  }
  SparsityControllerOptions options;
  options.target = settings_.target_sparsity;
  if (!sparsity_)
    sparsity_ = std::make_unique<SparsityController>(*engine_, *state_, options);
  else if (sparsity_->options().target != options.target)
    sparsity_->set_options(options);
}

GstSparseinferTask CbinferDriver::guess_task() const {
  if (!model_) return GST_SPARSEINFER_TASK_UNKNOWN;
  const std::vector<ValueInfo>& outs = model_->outputs;
  bool heatmap = false, boxes = false;
  for (const ValueInfo& o : outs) {
    heatmap |= o.name == "heatmap";
    boxes |= o.name == "boxes";
  }
  if (heatmap && boxes) return GST_SPARSEINFER_TASK_DETECTION;
  if (outs.size() != 1) return GST_SPARSEINFER_TASK_UNKNOWN;
  if (outs[0].dims.size() == 2) return GST_SPARSEINFER_TASK_CLASSIFICATION;
  if (outs[0].dims.size() == 4) return GST_SPARSEINFER_TASK_SEGMENTATION;
  return GST_SPARSEINFER_TASK_UNKNOWN;
}

void CbinferDriver::update(const CbinferSettings& settings) {
  const bool threshold_changed = settings.threshold != settings_.threshold;
  const bool scale_changed = settings.threshold_scale != settings_.threshold_scale;
  const bool target_changed = settings.target_sparsity != settings_.target_sparsity;
  settings_.target_sparsity = settings.target_sparsity;
  settings_.threshold = settings.threshold;
  settings_.threshold_scale = settings.threshold_scale;
  settings_.refresh_interval = settings.refresh_interval;
  settings_.inference_interval = settings.inference_interval;
  settings_.detection = settings.detection;
  settings_.set = settings.set;
  decode_with_.detection = effective_detection(description_, settings_);
  if (threshold_changed || (scale_changed && batcher_)) apply_thresholds_to_state();
  if (scale_changed || settings.latency_budget_ms != budget_.budget_ms())
    apply_budget_scale(settings.latency_budget_ms);
  // A threshold set while the controller runs is its new starting point.
  if (threshold_changed && sparsity_) sparsity_.reset();
  if (target_changed || threshold_changed) follow_target_sparsity();
}

void CbinferDriver::apply_budget_scale(double budget_ms) {
  // A budget set while batched is ignored: validate_settings refuses the pair at start.
  if (!batcher_ && settings_.mode == Mode::Change && std::isfinite(budget_ms) && budget_ms >= 0) {
    budget_.set_budget(budget_ms);
    settings_.latency_budget_ms = budget_ms;
  }
  if (state_ && settings_.mode == Mode::Change)
    state_->set_threshold_scale(float(settings_.threshold_scale * budget_.factor()));
}

void CbinferDriver::reset() {
  if (state_) state_->reset();
  if (batcher_) batcher_->reset(slot_);
  budget_.reset();
  held_.clear();
  held_detections_.clear();
  held_class_map_.reset();
}

bool CbinferDriver::due(uint64_t frame_index) const {
  return !has_results() || frame_index % std::max(1u, settings_.inference_interval) == 0;
}

bool CbinferDriver::next_is_dense(uint64_t frame_index) const {
  if (settings_.mode != Mode::Change || !has_results()) return true;
  const unsigned refresh = settings_.refresh_interval;
  return refresh > 0 && frame_index >= last_dense_index_ + refresh;
}

bool CbinferDriver::should_infer(uint64_t frame_index, bool would_be_late, bool* qos_skip) const {
  *qos_skip = false;
  if (!has_results()) return true;
  if (!due(frame_index)) return false;
  // Due, but it would reach the sink late after inference: the last results are kept instead.
  *qos_skip = would_be_late;
  return !would_be_late;
}

CbinferFrameStats CbinferDriver::infer(uint64_t frame_index, const FrameView& frame) {
  if (!configured()) throw Error("engine not configured for a frame size");
  if (has_results() && next_is_dense(frame_index)) {  // refresh
    // Change mode refreshes without forgetting: a frame at threshold 0 over
    // every layer's whole input equals a dense one and costs what moved since
    // the layers last computed, so a static camera's refresh fits in a frame
    // period (issue 14); other modes reset (StreamState::refresh). A batched
    // stream has no state of its own: the batcher's is reset, dense.
    if (state_) state_->refresh();
    if (batcher_ && settings_.mode == Mode::Change) batcher_->reset(slot_);
  }

  const auto t0 = std::chrono::steady_clock::now();
  PreprocessOptions pre = preprocess_;
  pre.width = net_width_;
  pre.height = net_height_;
  preprocess_frame(frame.pixels, frame.width, frame.height, frame.stride, frame.format, pre, input_);
  FrameResult result;
  BatchedFrame batched;                   // owns the outputs result points to (batched)
  std::unique_ptr<StreamState> borrowed;  // owns them (shared dense engine)
  size_t borrowed_bytes = 0;
  // Back to the instance when the outputs are copied, or on an exception.
  struct ReturnBorrowed {
    SharedEngine* shared;
    std::unique_ptr<StreamState>& state;
    ~ReturnBorrowed() {
      if (state) shared->return_dense_state(std::move(state));
    }
  } return_borrowed{shared_.get(), borrowed};
  if (batcher_) {
    batched = batcher_->run(slot_, {&input_}, std::chrono::microseconds(settings_.batch_timeout_us));
    for (const Tensor& t : batched.outputs) result.outputs.push_back(&t);
    result.macs_executed = batched.macs_executed;
    result.macs_dense = batched.macs_dense;
    result.layer_stats = std::move(batched.layer_stats);
    result.dense_frame = batched.dense_frame;
    result.first_layer_mask = std::move(batched.first_layer_mask);
    result.mask_width = batched.mask_width;
    result.mask_height = batched.mask_height;
  } else if (state_) {
    result = engine_->run(*state_, {&input_});
    // A refresh ran at threshold 0: its sparsity says nothing of the thresholds.
    if (sparsity_ && !result.refresh_frame) sparsity_->observe(result, *state_);
  } else {
    borrowed = shared_->borrow_dense_state(engine_);
    result = engine_->run(*borrowed, {&input_});
    borrowed_bytes = borrowed->state_bytes();
  }
  std::vector<Detection> detections;  // frame pixels
  // Output names in graph order (the batched engine has the model's outputs, batch first).
  std::vector<std::string> outs;
  if (engine_)
    for (const TensorInfo& o : engine_->outputs()) outs.push_back(o.name);
  else
    for (const ValueInfo& o : model_->outputs) outs.push_back(o.name);
  held_class_map_.reset();
  if (decoder_ != DecoderKind::None) {
    std::vector<NamedOutput> named;
    for (size_t i = 0; i < result.outputs.size() && i < outs.size(); ++i) named.push_back({outs[i], result.outputs[i]});
    DecodeResult decoded = decode_outputs(decode_with_, named, frame_geometry(frame.width, frame.height, pre));
    detections = std::move(decoded.detections);
    if (!decoded.class_map.empty()) hold_class_map(decoded);
  } else if (task_ == GST_SPARSEINFER_TASK_DETECTION && result.outputs.size() >= 2) {
    const Tensor *heatmap = result.outputs[0], *boxes = result.outputs[1];
    for (size_t i = 0; i < outs.size(); ++i) {
      if (outs[i] == "heatmap") heatmap = result.outputs[i];
      if (outs[i] == "boxes") boxes = result.outputs[i];
    }
    // Boxes from network input pixels to frame pixels.
    const double sx = double(frame.width) / net_width_, sy = double(frame.height) / net_height_;
    for (Detection d : decode_centernet(*heatmap, *boxes, net_width_, net_height_, settings_.detection)) {
      d.x1 = float(d.x1 * sx);
      d.x2 = float(d.x2 * sx);
      d.y1 = float(d.y1 * sy);
      d.y2 = float(d.y2 * sy);
      detections.push_back(d);
    }
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // Keep the outputs for the frames that will not infer.
  held_.clear();
  for (size_t i = 0; i < result.outputs.size(); ++i) {
    const Tensor& t = *result.outputs[i];
    HeldTensor h;
    h.name = i < outs.size() ? outs[i] : "output" + std::to_string(i);
    h.dtype = t.dtype();
    h.dims.assign(t.shape().begin(), t.shape().end());
    const auto* bytes = static_cast<const uint8_t*>(t.raw());
    h.data = std::make_shared<const std::vector<uint8_t>>(bytes, bytes + t.bytes());
    held_.push_back(std::move(h));
  }
  held_detections_ = std::move(detections);

  CbinferFrameStats stats;
  stats.inferred = true;
  // The mask of the first detecting layer; a dense engine computes every pixel.
  if (!result.first_layer_mask.empty()) {
    mask_.swap(result.first_layer_mask);
    stats.mask_width = int(result.mask_width);
    stats.mask_height = int(result.mask_height);
  } else {
    mask_.assign(size_t(net_width_) * size_t(net_height_), 1);
    stats.mask_width = net_width_;
    stats.mask_height = net_height_;
  }
  stats.mask = mask_.data();
  size_t set = 0;
  for (uint8_t m : mask_) set += m;
  stats.dense_frame = result.dense_frame;
  stats.refresh_frame = result.refresh_frame;
  if (result.dense_frame || result.refresh_frame) last_dense_index_ = frame_index;
  stats.changed_fraction = mask_.empty() ? 1.0 : double(set) / double(mask_.size());
  stats.mac_fraction = result.mac_fraction();
  stats.macs_executed = result.macs_executed;
  stats.macs_dense = result.macs_dense;
  stats.process_ms = ms;
  if (state_ && settings_.mode == Mode::Change) {
    stats.threshold_scale = state_->threshold_scale();
    // The next frame's thresholds follow this one's time (preprocessing, network, decoding).
    if (budget_.enabled()) {
      budget_.observe(ms, result.dense_frame || result.refresh_frame);
      apply_budget_scale(settings_.latency_budget_ms);
    }
  }
  stats.state_bytes = state_ ? state_->state_bytes() : borrowed ? borrowed_bytes : batched.state_bytes;
  stats.layer_changed_fractions.assign(result.layer_stats.size(), 0.0);
  for (size_t i = 0; i < stats.layer_changed_fractions.size() && i < result.layer_stats.size(); ++i)
    stats.layer_changed_fractions[i] = result.layer_stats[i].changed_fraction;
  if (sparsity_ && !result.dense_frame && !result.refresh_frame) {
    stats.gated_sparsity = sparsity_->mean_sparsity();
    stats.sparsity_in_band = sparsity_->share_in_band();
  }
  return stats;
}

void CbinferDriver::hold_class_map(const DecodeResult& decoded) {
  held_class_map_ = class_map_bytes(decoded);
  class_map_width_ = decoded.map_width;
  class_map_height_ = decoded.map_height;
}

CbinferFrameStats CbinferDriver::hold(bool qos_skipped) const {
  CbinferFrameStats stats;
  stats.qos_skipped = qos_skipped;
  return stats;
}

}  // namespace sparseinfer::gst

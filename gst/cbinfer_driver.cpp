#include "cbinfer_driver.h"

#include "sparseinfer/error.h"

namespace sparseinfer::gst {

namespace {

// Input size a probe engine uses to check the backend before caps are known.
constexpr int kProbeSize = 64;

int declared_dim(const Model& model, size_t axis) {
  const std::vector<int64_t>& dims = model.inputs[0].dims;
  return dims.size() == 4 && dims[axis] > 0 ? static_cast<int>(dims[axis]) : 0;
}

}  // namespace

void CbinferDriver::open(const DriverSettings& settings) {
  close();
  settings_ = settings;
  if (settings.model_path.empty()) throw Error("no model set (property 'model')");
  auto model = std::make_unique<Model>(load_model(settings.model_path));
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
    thresholds_ = std::make_unique<ThresholdSet>(read_thresholds(settings.thresholds_file));
  if (settings.backend == Backend::Cuda) {
    // Compile a small probe so an unavailable backend fails now, at the state change.
    EngineOptions probe;
    probe.backend = settings.backend;
    probe.mode = settings.mode;
    probe.threads = 1;
    probe.input_shapes = {{1, 3, declared_dim(*model, 2) ? declared_dim(*model, 2) : kProbeSize,
                           declared_dim(*model, 3) ? declared_dim(*model, 3) : kProbeSize}};
    Engine check(*model, probe);
  }
  model_ = std::move(model);
}

void CbinferDriver::close() {
  state_.reset();
  engine_.reset();
  thresholds_.reset();
  model_.reset();
  net_width_ = net_height_ = 0;
}

bool CbinferDriver::input_follows_frame() const {
  return settings_.input_width <= 0 && settings_.input_height <= 0 && model_ && !declared_dim(*model_, 2) &&
         !declared_dim(*model_, 3);
}

bool CbinferDriver::configure(int frame_width, int frame_height) {
  if (!model_) throw Error("no model loaded");
  auto pick = [](int property, int declared, int frame) {
    return property > 0 ? property : declared ? declared : frame;
  };
  const int w = pick(settings_.input_width, declared_dim(*model_, 3), frame_width);
  const int h = pick(settings_.input_height, declared_dim(*model_, 2), frame_height);
  if (engine_ && w == net_width_ && h == net_height_) return false;

  state_.reset();
  engine_.reset();
  EngineOptions options;
  options.backend = settings_.backend;
  options.mode = settings_.mode;
  options.threads = settings_.threads;
  options.input_shapes = {{1, 3, h, w}};
  engine_ = std::make_unique<Engine>(*model_, options);
  state_ = engine_->new_stream();
  net_width_ = w;
  net_height_ = h;
  apply_thresholds_to_state();
  return true;
}

void CbinferDriver::apply_thresholds_to_state() {
  if (!state_ || settings_.mode != Mode::Change) return;
  state_->set_all_thresholds(settings_.threshold);
  if (thresholds_) apply_thresholds(*state_, *thresholds_);
  state_->set_threshold_scale(threshold_scale_);
}

Task CbinferDriver::guess_task() const {
  if (!model_) return Task::Unknown;
  const std::vector<ValueInfo>& outs = model_->outputs;
  bool heatmap = false, boxes = false;
  for (const ValueInfo& o : outs) {
    heatmap |= o.name == "heatmap";
    boxes |= o.name == "boxes";
  }
  if (heatmap && boxes) return Task::Detection;
  if (outs.size() != 1) return Task::Unknown;
  if (outs[0].dims.size() == 2) return Task::Classification;
  if (outs[0].dims.size() == 4) return Task::Segmentation;
  return Task::Unknown;
}

void CbinferDriver::reset() {
  if (state_) state_->reset();
}

void CbinferDriver::set_threshold(float threshold) {
  settings_.threshold = threshold;
  apply_thresholds_to_state();
}

void CbinferDriver::set_threshold_scale(float scale) {
  threshold_scale_ = scale;
  if (state_ && settings_.mode == Mode::Change) state_->set_threshold_scale(scale);
}

FrameResult CbinferDriver::infer(const uint8_t* pixels, int width, int height, int stride, PixelFormat format) {
  if (!engine_) throw Error("engine not configured for a frame size");
  PreprocessOptions pre = settings_.preprocess;
  pre.width = net_width_;
  pre.height = net_height_;
  preprocess_frame(pixels, width, height, stride, format, pre, input_);
  return engine_->run(*state_, {&input_});
}

}  // namespace sparseinfer::gst

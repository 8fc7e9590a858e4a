#include "blockcopy_driver.h"

#include <chrono>
#include <cstring>

#include "element_support.h"
#include "sparseinfer/error.h"

namespace sparseinfer::gst {

void BlockCopyDriver::open(const BlockCopySettings& settings) {
  close();
  settings_ = settings;
  model_ = std::make_unique<Model>(load_model(settings.model_path));
  model_name_ = base_name(settings.model_path);
}

void BlockCopyDriver::close() {
  state_.reset();
  engine_.reset();
  model_.reset();
  outputs_.clear();
  net_width_ = net_height_ = 0;
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
  net_width_ = w;
  net_height_ = h;
  return true;
}

void BlockCopyDriver::update(const BlockCopySettings& settings) {
  const bool threshold_changed = settings.threshold != settings_.threshold;
  settings_.threshold = settings.threshold;
  settings_.emit_stats = settings.emit_stats;
  if (threshold_changed && state_) state_->set_all_thresholds(settings_.threshold);
}

void BlockCopyDriver::reset() {
  if (state_) state_->reset();
  outputs_.clear();
}

BlockCopyFrameStats BlockCopyDriver::infer(const FrameView& frame) {
  if (!engine_) throw Error("blockcopypolicy: the engine is not configured");
  auto t0 = std::chrono::steady_clock::now();
  PreprocessOptions pre;
  pre.width = net_width_;
  pre.height = net_height_;
  pre.rgb = settings_.rgb;
  for (int c = 0; c < 3; ++c) {
    pre.mean[c] = static_cast<float>(settings_.mean[c]);
    pre.std[c] = static_cast<float>(settings_.std[c]);
  }
  preprocess_frame(frame.pixels, frame.width, frame.height, frame.stride, frame.format, pre, input_);
  FrameResult r = engine_->run(*state_, {&input_});
  outputs_.clear();
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const Tensor& t = *r.outputs[i];
    auto bytes = std::make_shared<std::vector<uint8_t>>(t.bytes());
    std::memcpy(bytes->data(), t.raw(), t.bytes());
    outputs_.push_back({engine_->outputs()[i].name, t.shape(), std::move(bytes)});
  }
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
  s.grid = grid_.data();
  s.grid_cols = static_cast<int>(r.grid_cols);
  s.grid_rows = static_cast<int>(r.grid_rows);
  s.block_size = static_cast<int>(r.block_size);
  return s;
}

}  // namespace sparseinfer::gst

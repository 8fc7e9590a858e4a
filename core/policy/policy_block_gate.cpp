#include "policy/policy_block_gate.h"

#include <chrono>
#include <string>

#include "sparseinfer/error.h"

namespace sparseinfer::policy {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

PolicyNetConfig net_config(const PolicyGateOptions& options, int output_channels) {
  PolicyNetConfig c;
  c.input_channels = 2 * PolicyInput::kImageChannels + output_channels + 1;
  c.widths = options.widths;
  return c;
}

}  // namespace

PolicyBlockGate::PolicyBlockGate(OutputReader reader, const PolicyGateOptions& options)
    : reader_(std::move(reader)), trainer_(net_config(options, kOutputChannels), options.settings, options.seed) {
  trainer_.net().set_threads(options.threads);
  if (!options.policy_file.empty()) trainer_.load(options.policy_file);
}

GridGeometry PolicyBlockGate::geometry(const BlockGateInput& in, const BlockGrid& grid) const {
  if (in.frame == nullptr || in.frame->shape().size() != 4)
    throw Error("policy gate: the frame must be a [1, C, H, W] tensor");
  GridGeometry g;
  g.rows = int(grid.rows);
  g.cols = int(grid.cols);
  g.block_size = int(grid.block_size);
  g.height = int(in.frame->dim(2));
  g.width = int(in.frame->dim(3));
  return g;
}

std::vector<float> PolicyBlockGate::policy_map(const OutputReading& reading, const GridGeometry& g) const {
  if (!reading.is_map()) return PolicyInput::render_detections(reading.detections, g);
  // The first channel: one-channel models give the foreground probability.
  return PolicyInput::downsample_map(reading.probabilities.data(), 1, reading.map_height, reading.map_width, g);
}

void PolicyBlockGate::decide(const BlockGateInput& in, BlockGrid& grid) {
  const auto start = std::chrono::steady_clock::now();
  const GridGeometry g = geometry(in, grid);
  if (!input_ || input_->grid().rows != g.rows || input_->grid().cols != g.cols || input_->grid().width != g.width ||
      input_->grid().height != g.height)
    input_.emplace(g, kOutputChannels);
  const int channels = int(in.frame->dim(1));
  input_->set_frame(in.frame->f32(), channels);
  input_->set_frame_state(in.executed_frame ? in.executed_frame->f32() : in.frame->f32(), channels);
  if (previous_map_.size() != size_t(input_->height()) * input_->width())
    previous_map_.assign(size_t(input_->height()) * input_->width(), 0.f);
  input_->set_previous_output(previous_map_);
  if (in.previous_grid && in.previous_grid->execute.size() == size_t(g.count()))
    input_->set_previous_grid(in.previous_grid->execute);
  else
    input_->set_previous_grid(std::vector<uint8_t>(size_t(g.count()), 1));
  const std::vector<uint8_t>& actions = trainer_.decide(input_->tensor().data(), input_->height(), input_->width());
  grid.execute = actions;
  decided_ = true;
  times_ = PolicyGateTimes{};
  times_.forward_ms = ms_since(start);
}

void PolicyBlockGate::observe(const BlockGateInput& in, const BlockGrid& grid, const FrameResult& result) {
  const GridGeometry g = geometry(in, grid);
  if (!decided_) {
    // The engine ran this frame in full without asking (first frame of a stream).
    times_ = PolicyGateTimes{};
    trainer_.record_full_execution(size_t(g.count()));
  }
  decided_ = false;
  auto start = std::chrono::steady_clock::now();
  OutputReading reading = reader_(result.outputs);
  if (previous_ && previous_->is_map() == reading.is_map()) {
    if (reading.is_map()) {
      if (reading.map_channels != previous_->map_channels || reading.map_height != previous_->map_height ||
          reading.map_width != previous_->map_width)
        throw Error("policy gate: the output map changed shape between frames");
      information_gain_ = segmentation_information_gain(reading.probabilities.data(), previous_->probabilities.data(),
                                                        reading.map_channels, reading.map_height, reading.map_width, g);
    } else {
      information_gain_ = detection_information_gain(reading.detections, previous_->detections, g);
    }
  } else {
    information_gain_.assign(size_t(g.count()), 0.f);
  }
  times_.information_gain_ms = ms_since(start);
  trainer_.reward(information_gain_);
  times_.backward_ms = trainer_.last_stats().backward_ms;
  times_.update_ms = trainer_.last_stats().update_ms;
  previous_map_ = policy_map(reading, g);
  previous_ = std::move(reading);
}

void PolicyBlockGate::reset() {
  trainer_.reset_stream();
  previous_.reset();
  previous_map_.clear();
  information_gain_.clear();
  decided_ = false;
}

}  // namespace sparseinfer::policy

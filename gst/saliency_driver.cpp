#include "saliency_driver.h"

#include <filesystem>

#include "element_support.h"
#include "engine_cache.h"

namespace sparseinfer::gst {

namespace {

std::string canonical(const std::string& path) {
  std::error_code error;
  const std::filesystem::path p = std::filesystem::weakly_canonical(path, error);
  return error ? path : p.string();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> runner_spec(const SaliencySettings& settings) {
  const DualStreamOptions& o = settings.options;
  const ScheduleOptions& s = o.schedule;
  return {
      {"large-model", canonical(o.large_model)},
      {"small-model", canonical(o.small_model)},
      {"backend", backend_name(o.backend)},
      {"threads", std::to_string(o.threads)},
      {"small-mode", mode_name(o.small_mode)},
      {"small-threshold", std::to_string(o.small_threshold)},
      {"schedule", s.kind == ScheduleKind::Adaptive ? "adaptive" : "fixed"},
      {"period", std::to_string(s.period)},
      {"max-cost", std::to_string(s.max_cost)},
      {"change-trigger", std::to_string(s.change_trigger)},
      {"margin-trigger", std::to_string(s.margin_trigger)},
      {"decay-tau", std::to_string(o.decay_tau)},
      {"change-pixel-threshold", std::to_string(o.change_pixel_threshold)},
  };
}

void SaliencyDriver::open(const SaliencySettings& settings) {
  close();
  std::shared_ptr<const DualStreamRunner> runner;
  if (settings.model_instance_id.empty())
    runner = std::make_shared<const DualStreamRunner>(settings.options);
  else
    runner = EngineCache::process().acquire<DualStreamRunner>(
        settings.model_instance_id, "saliencyscheduler", runner_spec(settings),
        [&] { return std::make_shared<DualStreamRunner>(settings.options); });
  state_ = runner->new_stream();
  runner_ = std::move(runner);
  large_name_ = base_name(settings.options.large_model);
  small_name_ = base_name(settings.options.small_model);
}

void SaliencyDriver::close() {
  state_.reset();
  runner_.reset();
  large_name_.clear();
  small_name_.clear();
}

void SaliencyDriver::reset() {
  if (state_) state_->reset();
}

DualStreamResult SaliencyDriver::run(const FrameView& frame) {
  return runner_->run(*state_, frame.pixels, frame.width, frame.height, frame.stride, frame.format);
}

}  // namespace sparseinfer::gst

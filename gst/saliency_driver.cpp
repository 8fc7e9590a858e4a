#include "saliency_driver.h"

#include <filesystem>

#include "element_support.h"
#include "engine_cache.h"

namespace sparseinfer::gst {

namespace {

ModelDescription read_description(const std::string& path) {
  try {
    return load_model_description(path);
  } catch (const Error& e) {
    throw DescriptionError(e.what());
  }
}

// The network input a description asks for; sizes come from the models.
PreprocessOptions described_input(const ModelDescription& d) {
  PreprocessOptions pre = preprocess_options(d, 0, 0);
  to_unit_scale(pre);  // the change fraction undoes the normalization on [0, 1] pixels
  return pre;
}

bool same_input(const PreprocessOptions& a, const PreprocessOptions& b) {
  return a.rgb == b.rgb && a.resize == b.resize && a.letterbox_fill == b.letterbox_fill && a.scale == b.scale &&
         a.mean == b.mean && a.std == b.std;
}

std::string canonical(const std::string& path) {
  std::error_code error;
  const std::filesystem::path p = std::filesystem::weakly_canonical(path, error);
  return error ? path : p.string();
}

}  // namespace

// The preprocessing comes from the large model's description (a file of
// that model), so equal model paths mean equal preprocessing.
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
  DualStreamOptions options = settings.options;
  const ModelDescription large = read_description(options.large_model);
  const ModelDescription small = read_description(options.small_model);
  if (large.present) options.preprocess = described_input(large);
  if (small.present && !same_input(described_input(small), options.preprocess))
    throw DescriptionError(
        small.source + ": its preprocessing (color_order, resize, scale, mean, std) differs from " +
        (large.present ? large.source : "the defaults of the large model, which has no description") +
        "; both networks see the same frame and need the same");
  std::shared_ptr<const DualStreamRunner> runner;
  if (settings.model_instance_id.empty())
    runner = std::make_shared<const DualStreamRunner>(options);
  else
    runner = EngineCache::process().acquire<DualStreamRunner>(
        settings.model_instance_id, "saliencyscheduler", runner_spec(settings),
        [&] { return std::make_shared<DualStreamRunner>(options); });
  state_ = runner->new_stream();
  runner_ = std::move(runner);
  large_name_ = base_name(settings.options.large_model);
  small_name_ = base_name(settings.options.small_model);
  description_ = large;
  labels_ = large.labels.empty() ? runner_->labels() : large.labels;
}

void SaliencyDriver::close() {
  state_.reset();
  runner_.reset();
  large_name_.clear();
  small_name_.clear();
  labels_.clear();
  description_ = ModelDescription{};
}

void SaliencyDriver::reset() {
  if (state_) state_->reset();
}

DualStreamResult SaliencyDriver::run(const FrameView& frame) {
  return runner_->run(*state_, frame.pixels, frame.width, frame.height, frame.stride, frame.format);
}

}  // namespace sparseinfer::gst

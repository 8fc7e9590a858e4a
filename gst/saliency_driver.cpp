#include "saliency_driver.h"

#include "element_support.h"

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

}  // namespace

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
  auto runner = std::make_unique<DualStreamRunner>(options);
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

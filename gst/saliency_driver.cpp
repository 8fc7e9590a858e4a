#include "saliency_driver.h"

#include "element_support.h"

namespace sparseinfer::gst {

void SaliencyDriver::open(const SaliencySettings& settings) {
  close();
  auto runner = std::make_unique<DualStreamRunner>(settings.options);
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

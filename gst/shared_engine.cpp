#include "shared_engine.h"

#include <thread>

#include "engine_cache.h"

namespace sparseinfer::gst {

namespace {

void check_size(const std::string& id, bool in_use, int have_w, int have_h, int w, int h) {
  if (in_use && (have_w != w || have_h != h))
    throw InstanceMismatch("input-width", "the network input would be " + std::to_string(w) + "x" + std::to_string(h) +
                                              " here but the elements sharing model-instance-id '" + id +
                                              "' run it at " + std::to_string(have_w) + "x" + std::to_string(have_h) +
                                              "; give them the same frame size, or the same input-width and "
                                              "input-height");
}

}  // namespace

SharedEngine::SharedEngine(std::shared_ptr<const Model> model, EngineOptions options)
    : model_(std::move(model)), options_(std::move(options)) {}

std::shared_ptr<const Engine> SharedEngine::engine(const std::string& id, int width, int height) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<const Engine> engine = engine_.lock();
  check_size(id, engine != nullptr, engine_width_, engine_height_, width, height);
  if (engine) return engine;
  EngineOptions options = options_;
  options.input_shapes = {{1, 3, height, width}};
  engine = std::make_shared<const Engine>(*model_, options);
  engine_ = engine;
  engine_width_ = width;
  engine_height_ = height;
  return engine;
}

std::shared_ptr<StreamBatcher> SharedEngine::batcher(const std::string& id, int width, int height) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<StreamBatcher> batcher = batcher_.lock();
  check_size(id, batcher != nullptr, batcher_width_, batcher_height_, width, height);
  if (batcher) return batcher;
  EngineOptions options = options_;
  options.input_shapes = {{1, 3, height, width}};
  batcher = std::make_shared<StreamBatcher>(model_, options);
  batcher_ = batcher;
  batcher_width_ = width;
  batcher_height_ = height;
  return batcher;
}

std::unique_ptr<StreamState> SharedEngine::borrow_dense_state(const std::shared_ptr<const Engine>& engine) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (states_engine_ != engine.get()) {
    // A new engine: the states of the old one cannot run it.
    free_states_.clear();
    states_made_ = 0;
    states_engine_ = engine.get();
  }
  const int limit = std::max(1, int(std::thread::hardware_concurrency()));
  const uint64_t ticket = next_ticket_++;
  waiting_.push_back(ticket);
  state_returned_.wait(lock,
                       [&] { return waiting_.front() == ticket && (!free_states_.empty() || states_made_ < limit); });
  waiting_.pop_front();
  state_returned_.notify_all();  // the next in line may be served too
  if (!free_states_.empty()) {
    std::unique_ptr<StreamState> state = std::move(free_states_.back());
    free_states_.pop_back();
    return state;
  }
  ++states_made_;
  lock.unlock();
  return engine->new_stream();
}

void SharedEngine::return_dense_state(std::unique_ptr<StreamState> state) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_states_.push_back(std::move(state));
  state_returned_.notify_all();
}

}  // namespace sparseinfer::gst

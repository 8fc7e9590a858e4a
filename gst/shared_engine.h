// What the cbinferconv elements that share a model-instance-id hold together:
// the loaded model, its compiled engine (one input size at a time) for the
// streams that run alone, and the StreamBatcher for the streams that batch.
// Each stream keeps its own StreamState (or its own slot of the batcher's).
// Free of GObject.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"
#include "sparseinfer/stream_batcher.h"

namespace sparseinfer::gst {

class SharedEngine {
 public:
  // `options`: backend, mode and threads; the input shape comes with engine().
  SharedEngine(std::shared_ptr<const Model> model, EngineOptions options);

  const std::shared_ptr<const Model>& model() const { return model_; }

  // The engine for width x height network input, compiled on first use and
  // released when no member holds it. Throws InstanceMismatch naming
  // input-width when a member holds it at another size.
  std::shared_ptr<const Engine> engine(const std::string& id, int width, int height);

  // The batcher for width x height network input, made on first use; the
  // same conditions as engine().
  std::shared_ptr<StreamBatcher> batcher(const std::string& id, int width, int height);

  // Dense mode keeps nothing from one frame to the next (its state is only
  // the activation arena), so the streams of a shared dense engine borrow a
  // state for the length of a frame instead of holding one each: at most one
  // per core exists, and a stream waits while all are computing, served in
  // the order they asked (so that no stream starves). `engine` is
  // the one engine() returned.
  std::unique_ptr<StreamState> borrow_dense_state(const std::shared_ptr<const Engine>& engine);
  void return_dense_state(std::unique_ptr<StreamState> state);

 private:
  std::shared_ptr<const Model> model_;
  EngineOptions options_;
  std::mutex mutex_;
  std::weak_ptr<const Engine> engine_;
  std::weak_ptr<StreamBatcher> batcher_;
  int engine_width_ = 0, engine_height_ = 0;
  int batcher_width_ = 0, batcher_height_ = 0;
  // Dense states of the current engine: free ones, and how many exist.
  std::condition_variable state_returned_;
  std::deque<uint64_t> waiting_;  // tickets of the streams waiting for a state, served in order
  uint64_t next_ticket_ = 0;
  std::vector<std::unique_ptr<StreamState>> free_states_;
  const Engine* states_engine_ = nullptr;
  int states_made_ = 0;
};

}  // namespace sparseinfer::gst

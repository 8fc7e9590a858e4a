// StreamBatcher: the frames of several streams that share one model run as
// one batch. Each stream owns a slot, item `slot` of a batch-N engine and of
// its one StreamState, so a stream's change-mode state (its inputs and
// activations of the last frame) stays its own while the work is shared: in
// change mode every layer gathers the changed columns of all slots into one
// GEMM (the change set of a batched tensor spans every item), in dense mode
// the whole batch is one pass. SparseTem (§IV) batches streams without extra
// caches in the same way.
//
// A caller blocks in run() until its frame has been computed. The batch
// starts when every member has a frame waiting, or when the oldest waiting
// frame has waited its timeout; the thread that starts it computes it, so no
// thread of the batcher's own exists. A slot that has no frame in a batch
// keeps its last input: in change mode nothing of it changes, so it costs
// next to nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "sparseinfer/engine.h"

namespace sparseinfer {

// One stream's share of a batch.
struct BatchedFrame {
  std::vector<Tensor> outputs;  // graph output order, batch dimension 1, owned
  bool dense_frame = true;      // the batch was computed in full
  // The whole batch's work (every slot of the compiled engine).
  int64_t macs_executed = 0, macs_dense = 0;
  int batch_size = 0;      // frames in the batch that ran this one
  int batch_capacity = 0;  // batch dimension of the engine that ran it
  double wait_ms = 0;      // from run() until its batch started
  double run_ms = 0;       // the batch's engine time
  // Change mode: this stream's first-layer mask (see FrameResult).
  std::vector<uint8_t> first_layer_mask;
  int64_t mask_width = 0, mask_height = 0;
  std::vector<LayerStats> layer_stats;  // the batch's
  size_t state_bytes = 0;               // the batched state, all slots
};

class StreamBatcher {
 public:
  // `options.input_shapes` gives each input with batch dimension 1; the
  // batcher compiles the batched engine itself, with one item per member,
  // when the first batch runs (and again, resetting the state, when more
  // streams have joined than it has items).
  StreamBatcher(std::shared_ptr<const Model> model, EngineOptions options);
  ~StreamBatcher();
  StreamBatcher(const StreamBatcher&) = delete;
  StreamBatcher& operator=(const StreamBatcher&) = delete;

  // A new member: its slot (the lowest free one).
  int join();
  void leave(int slot);
  int members() const;

  // The stream in `slot` starts afresh (new stream, flush, refresh): the
  // next batch is computed in full, for every slot, because the state's
  // dense flag is the batch's. Exact, but a dense frame for all.
  void reset(int slot);

  // Applied to the batched state now and after every recompilation
  // (thresholds); the last call wins.
  void set_state_setup(std::function<void(StreamState&)> setup);

  // Runs `inputs` (one frame, batch 1, graph order) as item `slot` of the
  // next batch; waits at most `timeout` for other members' frames before
  // the batch starts. Throws Error (the batch's failure is every member's).
  BatchedFrame run(int slot, const std::vector<const Tensor*>& inputs, std::chrono::microseconds timeout);

 private:
  struct Request;
  void run_batch(std::unique_lock<std::mutex>& lock);
  void compile(int capacity);

  std::shared_ptr<const Model> model_;
  EngineOptions options_;  // batch-1 input shapes

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<bool> slots_;        // taken
  std::vector<Request*> pending_;  // waiting for the next batch
  bool running_ = false;           // a batch is being computed
  bool reset_pending_ = false;     // the next batch starts dense
  std::function<void(StreamState&)> setup_;

  // Used only by the thread computing a batch (running_).
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<StreamState> state_;
  std::vector<Tensor> batch_inputs_;  // per graph input: capacity items
  int capacity_ = 0;
};

}  // namespace sparseinfer

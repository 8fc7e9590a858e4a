// Cross-stream batching on one shared model (see stream_batcher.h).
#include "sparseinfer/stream_batcher.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

struct StreamBatcher::Request {
  int slot = 0;
  const std::vector<const Tensor*>* inputs = nullptr;
  Clock::time_point submitted;
  Clock::time_point deadline;
  bool done = false;
  std::exception_ptr error;
  BatchedFrame frame;
};

StreamBatcher::StreamBatcher(std::shared_ptr<const Model> model, EngineOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
  if (!model_) throw Error("StreamBatcher: no model");
  for (const Shape& shape : options_.input_shapes)
    if (shape.empty() || shape[0] != 1)
      throw Error(model_->path + ": a batched engine needs input shapes with batch 1, got " + shape_str(shape));
}

StreamBatcher::~StreamBatcher() = default;

int StreamBatcher::join() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto free_slot = std::find(slots_.begin(), slots_.end(), false);
  if (free_slot != slots_.end()) {
    *free_slot = true;
    return static_cast<int>(free_slot - slots_.begin());
  }
  slots_.push_back(true);
  return static_cast<int>(slots_.size() - 1);
}

void StreamBatcher::leave(int slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (slot >= 0 && size_t(slot) < slots_.size()) slots_[size_t(slot)] = false;
  // Waiting members may now be complete.
  wake_.notify_all();
}

int StreamBatcher::members() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(std::count(slots_.begin(), slots_.end(), true));
}

void StreamBatcher::reset(int) {
  std::lock_guard<std::mutex> lock(mutex_);
  reset_pending_ = true;
}

void StreamBatcher::set_state_setup(std::function<void(StreamState&)> setup) {
  std::unique_lock<std::mutex> lock(mutex_);
  // The state belongs to the batch being computed until it is done.
  wake_.wait(lock, [&] { return !running_; });
  setup_ = std::move(setup);
  if (state_ && setup_) setup_(*state_);
}

void StreamBatcher::compile(int capacity) {
  EngineOptions options = options_;
  for (Shape& shape : options.input_shapes) shape[0] = capacity;
  options.free_batch = true;
  auto engine = std::make_unique<Engine>(*model_, options);
  for (const TensorInfo& out : engine->outputs())
    if (out.shape.empty() || out.shape[0] != capacity)
      throw Error(model_->path + ": output '" + out.name + "' " + shape_str(out.shape) +
                  " has no batch dimension first; its frames cannot be batched");
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < engine->inputs().size(); ++i) {
    const TensorInfo& info = engine->inputs()[i];
    Tensor t(info.dtype, info.shape);
    std::memset(t.raw(), 0, t.bytes());
    // Keep the slots' last inputs across a recompilation.
    if (i < batch_inputs_.size())
      std::memcpy(t.raw(), batch_inputs_[i].raw(), std::min(t.bytes(), batch_inputs_[i].bytes()));
    inputs.push_back(std::move(t));
  }
  state_.reset();
  engine_ = std::move(engine);
  state_ = engine_->new_stream();
  if (setup_) setup_(*state_);
  batch_inputs_ = std::move(inputs);
  capacity_ = capacity;
}

// Called with the lock held and running_ false; computes every pending
// request, releasing the lock meanwhile so that new frames can queue.
void StreamBatcher::run_batch(std::unique_lock<std::mutex>& lock) {
  std::vector<Request*> batch;
  batch.swap(pending_);
  running_ = true;
  const bool reset = reset_pending_;
  reset_pending_ = false;
  const int needed = static_cast<int>(slots_.size());
  lock.unlock();

  const Clock::time_point start = Clock::now();
  std::exception_ptr error;
  FrameResult result;
  try {
    if (!engine_ || needed > capacity_) compile(std::max(needed, 1));
    if (reset) state_->reset();
    // Each frame into its slot; a slot without a frame keeps its last input.
    for (Request* r : batch) {
      if (r->inputs->size() != batch_inputs_.size())
        throw Error(model_->path + ": expected " + std::to_string(batch_inputs_.size()) + " inputs, got " +
                    std::to_string(r->inputs->size()));
      for (size_t i = 0; i < batch_inputs_.size(); ++i) {
        const Tensor* in = (*r->inputs)[i];
        Tensor& all = batch_inputs_[i];
        const size_t item = all.bytes() / size_t(capacity_);
        Shape want = all.shape();
        want[0] = 1;
        if (!in || !in->has_data() || in->dtype() != all.dtype() || in->shape() != want)
          throw Error(model_->path + ": input " + std::to_string(i) + " must be " + shape_str(want) +
                      (in ? ", got " + shape_str(in->shape()) : std::string(", got nothing")));
        std::memcpy(static_cast<uint8_t*>(all.raw()) + item * size_t(r->slot), in->raw(), item);
      }
    }
    std::vector<const Tensor*> inputs;
    for (const Tensor& t : batch_inputs_) inputs.push_back(&t);
    result = engine_->run(*state_, inputs);
  } catch (...) {
    error = std::current_exception();
  }
  const Clock::time_point end = Clock::now();

  // Each stream's results out of its slot, before the next batch overwrites them.
  for (Request* r : batch) {
    r->error = error;
    if (error) continue;
    BatchedFrame& f = r->frame;
    f.dense_frame = result.dense_frame;
    f.macs_executed = result.macs_executed;
    f.macs_dense = result.macs_dense;
    f.batch_size = static_cast<int>(batch.size());
    f.batch_capacity = capacity_;
    f.wait_ms = ms_between(r->submitted, start);
    f.run_ms = ms_between(start, end);
    f.layer_stats = result.layer_stats;
    f.state_bytes = state_->state_bytes();
    for (const Tensor* out : result.outputs) {
      Shape shape = out->shape();
      shape[0] = 1;
      Tensor mine(out->dtype(), shape);
      std::memcpy(mine.raw(), static_cast<const uint8_t*>(out->raw()) + mine.bytes() * size_t(r->slot), mine.bytes());
      f.outputs.push_back(std::move(mine));
    }
    const size_t grid = size_t(result.mask_width * result.mask_height);
    f.mask_width = result.mask_width;
    f.mask_height = result.mask_height;
    if (grid > 0 && result.first_layer_mask.size() >= grid * size_t(r->slot + 1)) {
      const auto begin = result.first_layer_mask.begin() + std::ptrdiff_t(grid * size_t(r->slot));
      f.first_layer_mask.assign(begin, begin + std::ptrdiff_t(grid));
    }
  }

  lock.lock();
  for (Request* r : batch) r->done = true;
  running_ = false;
  wake_.notify_all();
}

BatchedFrame StreamBatcher::run(int slot, const std::vector<const Tensor*>& inputs, std::chrono::microseconds timeout) {
  Request request;
  request.slot = slot;
  request.inputs = &inputs;
  request.submitted = Clock::now();
  request.deadline = request.submitted + timeout;

  std::unique_lock<std::mutex> lock(mutex_);
  if (slot < 0 || size_t(slot) >= slots_.size() || !slots_[size_t(slot)])
    throw Error("StreamBatcher: slot " + std::to_string(slot) + " is not a member");
  pending_.push_back(&request);
  wake_.notify_all();
  while (!request.done) {
    if (running_) {
      // The batch being computed does not hold this frame: the next one will.
      wake_.wait(lock);
      continue;
    }
    const int members = static_cast<int>(std::count(slots_.begin(), slots_.end(), true));
    if (!pending_.empty() && (static_cast<int>(pending_.size()) >= members || Clock::now() >= request.deadline)) {
      run_batch(lock);
      continue;
    }
    wake_.wait_until(lock, request.deadline);
  }
  lock.unlock();
  if (request.error) std::rethrow_exception(request.error);
  return std::move(request.frame);
}

}  // namespace sparseinfer

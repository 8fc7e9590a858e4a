// Internals shared by the engine's compiler and its executors: the compiled
// plan (immutable, shared by streams) and the per-stream state.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/buffer_plan.h"
#include "engine/change_kernel.h"
#include "ops/change_set.h"
#include "ops/op.h"
#include "sparseinfer/engine.h"

namespace sparseinfer {

// Where a value's data lives at run time.
enum class ValueKind { Constant, Input, Activation };

struct Value {
  std::string name;
  ValueKind kind = ValueKind::Activation;
  Tensor tensor;         // constant data, or the descriptor of a run-time value
  int input_index = -1;  // ValueKind::Input
  int buffer = -1;       // ValueKind::Activation: index into the buffer plan (dense mode)
};

struct Step {
  const Node* node = nullptr;  // in Plan::model
  std::unique_ptr<Op> op;
  std::vector<int> inputs;   // value ids, -1 for an omitted optional input
  std::vector<int> outputs;  // value ids, -1 for an omitted optional output
  std::unique_ptr<ChangeKernel> change;  // change mode only
};

struct Plan {
  Model model;  // optimized; ops keep pointers to its nodes
  EngineOptions options;
  int threads = 1;
  std::vector<Value> values;
  std::map<std::string, int> value_ids;
  std::vector<Step> steps;
  std::vector<LayerInfo> layers;
  std::vector<TensorInfo> inputs, outputs;
  std::vector<int> input_ids, output_ids;
  std::vector<BufferRequest> buffer_requests;
  BufferPlan buffer_plan;
  int64_t total_macs = 0;
  int64_t total_params = 0;
  std::vector<int> threshold_steps;  // change mode: steps whose kernel detects changes
};

struct StreamState::Impl {
  const Plan* plan = nullptr;
  std::vector<float, AlignedAllocator<float>> arena;  // dense mode: shared activation buffers
  std::vector<Tensor> activations;                    // per value id: views (dense) or owned (change)
  Scratch scratch;
  int64_t frame_index = 0;
  // Change mode.
  bool needs_dense = true;
  std::vector<ChangeSet> sets;           // per value id
  std::vector<uint8_t> flags;            // pixel flags scratch, all zero between uses
  std::vector<LayerState> layer_states;  // per step
  std::map<std::string, int> threshold_index;  // layer name -> step
  float threshold_scale = 1.0f;
};

// Where value `id` lives this frame: a constant, one of run()'s inputs, or
// the stream's activation buffer.
const Tensor* value_tensor(const Plan& plan, const StreamState::Impl& state, const std::vector<const Tensor*>& inputs,
                           int id);

// Change-mode executor (engine/change_executor.cpp).
void build_change_kernels(Plan& plan);
void init_change_state(const Plan& plan, StreamState::Impl& state);
void run_change(const Plan& plan, StreamState::Impl& state, const std::vector<const Tensor*>& inputs,
                FrameResult& result);

}  // namespace sparseinfer

// The compiled plan: a model bound to input shapes, with its operators created,
// constants folded and buffers planned. Built once per engine, immutable and
// shared by streams; the executors (engine/dense, engine/change, ...) run it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/buffer_plan.h"
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
};

// Optimizes the model, infers shapes, folds constants, creates the operators
// and plans the activation buffers. Throws ModelError / Error.
void compile_plan(const Model& model, const EngineOptions& options, int threads, Plan& plan);

}  // namespace sparseinfer

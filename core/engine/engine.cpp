// The dense executor: compiles a model into a list of operator steps over
// planned buffers, and runs it frame after frame without allocating.
#include "sparseinfer/engine.h"

#include <chrono>
#include <climits>
#include <map>
#include <thread>

#include "engine/buffer_plan.h"
#include "engine/plan.h"
#include "ops/op.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Auto: return "auto";
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
  }
  return "?";
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Dense: return "dense";
    case Mode::Change: return "change";
  }
  return "?";
}

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

StreamState::StreamState() : impl_(std::make_unique<Impl>()) {}
StreamState::~StreamState() = default;
int64_t StreamState::frame_index() const { return impl_->frame_index; }

size_t StreamState::state_bytes() const {
  // Dense mode: activations are views into the arena; change mode owns them.
  size_t bytes = impl_->arena.size() * sizeof(float);
  if (impl_->arena.empty())
    for (const Tensor& t : impl_->activations) bytes += t.bytes();
  for (const LayerState& l : impl_->layer_states) {
    bytes += l.input_state.bytes();
    for (const Tensor& t : l.fresh) bytes += t.bytes();
  }
  return bytes + impl_->scratch.bytes();
}

void StreamState::reset() {
  impl_->needs_dense = true;
  for (LayerState& l : impl_->layer_states) l.last_threshold = -1.0f;
}

static int threshold_step(const StreamState::Impl& s, const std::string& layer) {
  auto it = s.threshold_index.find(layer);
  if (it == s.threshold_index.end())
    throw Error("no change-detecting layer named '" + layer + "' (see Engine::threshold_layers())");
  return it->second;
}

void StreamState::set_threshold(const std::string& layer, float threshold) {
  if (!(threshold >= 0.0f)) throw Error("threshold must be >= 0");
  impl_->layer_states[static_cast<size_t>(threshold_step(*impl_, layer))].threshold = threshold;
}

void StreamState::set_all_thresholds(float threshold) {
  if (!(threshold >= 0.0f)) throw Error("threshold must be >= 0");
  for (auto& [name, step] : impl_->threshold_index) impl_->layer_states[static_cast<size_t>(step)].threshold = threshold;
}

void StreamState::set_threshold_scale(float scale) {
  if (!(scale >= 0.0f)) throw Error("threshold scale must be >= 0");
  impl_->threshold_scale = scale;
}

float StreamState::threshold(const std::string& layer) const {
  return impl_->layer_states[static_cast<size_t>(threshold_step(*impl_, layer))].threshold;
}

float StreamState::threshold_scale() const { return impl_->threshold_scale; }

static int resolve_threads(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

Engine::Engine(const Model& source, const EngineOptions& options) : plan_(std::make_unique<Plan>()) {
  Plan& p = *plan_;
  if (options.backend == Backend::Cuda)
    throw Error("backend 'cuda' is not available in this build (the CUDA backend is not implemented yet)");
  p.options = options;
  p.options.backend = Backend::Cpu;
  p.threads = resolve_threads(options.threads);
  p.model = optimize_model(source);
  const Model& m = p.model;
  const std::string& file = m.path;

  auto add_value = [&](const std::string& name, ValueKind kind, Tensor t) {
    int id = static_cast<int>(p.values.size());
    p.values.push_back({name, kind, std::move(t), -1, -1});
    p.value_ids[name] = id;
    return id;
  };

  for (const auto& [name, tensor] : m.initializers) add_value(name, ValueKind::Constant, tensor);

  // Graph inputs with their compiled shapes.
  if (!options.input_shapes.empty() && options.input_shapes.size() != m.inputs.size())
    throw ModelError(file, "", "",
                     "the model has " + std::to_string(m.inputs.size()) + " inputs but " +
                         std::to_string(options.input_shapes.size()) + " input shapes were given");
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    const ValueInfo& vi = m.inputs[i];
    auto bound_shape = options.constant_inputs.find(vi.name);
    Shape shape = !options.input_shapes.empty()                  ? options.input_shapes[i]
                  : bound_shape != options.constant_inputs.end() ? bound_shape->second.shape()
                                                                 : vi.dims;
    for (int64_t d : shape)
      if (d < 0)
        throw ModelError(file, "", "",
                         "input '" + vi.name + "' has symbolic dimensions " + shape_str(vi.dims) +
                             "; give an input size");
    if (!vi.dims.empty() && vi.dims.size() != shape.size())
      throw ModelError(file, "", "",
                       "input '" + vi.name + "' has rank " + std::to_string(vi.dims.size()) + " but shape " +
                           shape_str(shape) + " was given");
    for (size_t d = 0; d < vi.dims.size(); ++d)
      if (vi.dims[d] >= 0 && vi.dims[d] != shape[d])
        throw ModelError(file, "", "",
                         "input '" + vi.name + "' has fixed shape " + shape_str(vi.dims) + " but " + shape_str(shape) +
                             " was given");
    auto bound = options.constant_inputs.find(vi.name);
    if (bound != options.constant_inputs.end()) {
      if (bound->second.dtype() != vi.dtype || bound->second.shape() != shape)
        throw ModelError(file, "", "",
                         "constant for input '" + vi.name + "' is " + dtype_name(bound->second.dtype()) + " " +
                             shape_str(bound->second.shape()) + " but the input is " + dtype_name(vi.dtype) + " " +
                             shape_str(shape));
      add_value(vi.name, ValueKind::Constant, bound->second);
      continue;
    }
    int id = add_value(vi.name, ValueKind::Input, Tensor::descriptor(vi.dtype, shape));
    p.values[id].input_index = static_cast<int>(p.inputs.size());  // position among run()'s inputs
    p.input_ids.push_back(id);
    p.inputs.push_back({vi.name, vi.dtype, shape});
  }

  // Shape inference, constant folding, operator creation, in graph order.
  Scratch fold_scratch;
  ExecContext fold_ctx{p.threads, &fold_scratch};
  for (const Node& node : m.nodes) {
    OpInfo info{&node, m.opset, file};
    std::unique_ptr<Op> op = create_op(info);
    std::vector<int> in_ids;
    std::vector<const Tensor*> ins;
    bool all_constant = true;
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        in_ids.push_back(-1);
        ins.push_back(nullptr);
        continue;
      }
      auto it = p.value_ids.find(name);
      if (it == p.value_ids.end()) op_fail(info, "input '" + name + "' is not produced by any earlier node");
      in_ids.push_back(it->second);
      const Value& v = p.values[it->second];
      ins.push_back(&v.tensor);
      if (v.kind != ValueKind::Constant) all_constant = false;
    }
    std::vector<Tensor> descs;
    try {
      descs = op->infer(ins);
    } catch (const ModelError&) {
      throw;
    } catch (const Error& e) {
      op_fail(info, e.what());
    }
    if (descs.size() < node.outputs.size())
      op_fail(info, "produces " + std::to_string(descs.size()) + " outputs but the node names " +
                        std::to_string(node.outputs.size()));

    if (all_constant || op->shape_only()) {
      // Fold: compute now, once, and keep the results as constants.
      std::vector<Tensor> results(node.outputs.size());
      std::vector<Tensor*> outs;
      for (size_t i = 0; i < node.outputs.size(); ++i) {
        if (node.outputs[i].empty()) {
          outs.push_back(nullptr);
          continue;
        }
        results[i].allocate(descs[i].dtype(), descs[i].shape());
        outs.push_back(&results[i]);
      }
      try {
        op->forward(ins, outs, fold_ctx);
      } catch (const ModelError&) {
        throw;
      } catch (const Error& e) {
        op_fail(info, e.what());
      }
      for (size_t i = 0; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty()) add_value(node.outputs[i], ValueKind::Constant, std::move(results[i]));
      continue;
    }

    Step step;
    step.node = &node;
    step.inputs = in_ids;
    LayerInfo layer;
    layer.name = node.name;
    layer.op_type = node.op_type;
    layer.inputs = node.inputs;
    layer.outputs = node.outputs;
    // Before add_value below: it may move p.values, which `ins` points into.
    std::vector<const Tensor*> out_descs;
    for (size_t i = 0; i < node.outputs.size(); ++i)
      if (!node.outputs[i].empty()) out_descs.push_back(&descs[i]);
    layer.macs = op->macs(ins, out_descs);
    for (size_t i = 0; i < ins.size(); ++i)
      if (ins[i] && p.values[in_ids[i]].kind == ValueKind::Constant && ins[i]->dtype() == DType::Float32)
        layer.params += ins[i]->numel();
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) {
        step.outputs.push_back(-1);
        continue;
      }
      step.outputs.push_back(add_value(node.outputs[i], ValueKind::Activation, descs[i]));
      layer.output_shapes.push_back(descs[i].shape());
    }
    p.total_macs += layer.macs;
    p.total_params += layer.params;
    step.op = std::move(op);
    p.steps.push_back(std::move(step));
    p.layers.push_back(std::move(layer));
  }

  for (const ValueInfo& vi : m.outputs) {
    auto it = p.value_ids.find(vi.name);
    if (it == p.value_ids.end()) throw ModelError(file, "", "", "graph output '" + vi.name + "' is never produced");
    p.output_ids.push_back(it->second);
    const Tensor& t = p.values[it->second].tensor;
    p.outputs.push_back({vi.name, t.dtype(), t.shape()});
  }

  // Live ranges of activations; graph outputs stay live to the end so the
  // caller can read them after run().
  std::vector<int> first(p.values.size(), -1), last(p.values.size(), -1);
  for (size_t s = 0; s < p.steps.size(); ++s) {
    for (int id : p.steps[s].outputs)
      if (id >= 0 && first[id] < 0) first[id] = static_cast<int>(s);
    for (int id : p.steps[s].inputs)
      if (id >= 0) last[id] = static_cast<int>(s);
  }
  for (int id : p.output_ids) last[id] = INT_MAX;
  for (size_t id = 0; id < p.values.size(); ++id) {
    Value& v = p.values[id];
    if (v.kind != ValueKind::Activation) continue;
    v.buffer = static_cast<int>(p.buffer_requests.size());
    size_t elem = v.tensor.dtype() == DType::Float32 ? 4 : 8;
    // A value nobody reads still needs its own buffer while it is written.
    int end = last[id] < first[id] ? first[id] : last[id];
    p.buffer_requests.push_back({static_cast<size_t>(v.tensor.numel()) * elem, first[id], end});
  }
  p.buffer_plan = plan_buffers(p.buffer_requests);
  if (p.options.mode == Mode::Change) build_change_kernels(p);
}

Engine::~Engine() = default;

const std::vector<TensorInfo>& Engine::inputs() const { return plan_->inputs; }
const std::vector<TensorInfo>& Engine::outputs() const { return plan_->outputs; }
const std::vector<LayerInfo>& Engine::layers() const { return plan_->layers; }
int64_t Engine::total_macs() const { return plan_->total_macs; }
int64_t Engine::total_params() const { return plan_->total_params; }
Backend Engine::backend() const { return plan_->options.backend; }
Mode Engine::mode() const { return plan_->options.mode; }
int Engine::threads() const { return plan_->threads; }
const std::string& Engine::model_path() const { return plan_->model.path; }

std::vector<std::string> Engine::threshold_layers() const {
  std::vector<std::string> names;
  for (int step : plan_->threshold_steps) names.push_back(plan_->layers[static_cast<size_t>(step)].name);
  return names;
}

size_t Engine::dense_activation_bytes() const {
  size_t bytes = 0;
  for (const Value& v : plan_->values)
    if (v.kind == ValueKind::Activation) bytes += static_cast<size_t>(v.tensor.numel()) * (v.tensor.dtype() == DType::Float32 ? 4 : 8);
  return bytes;
}

std::unique_ptr<StreamState> Engine::new_stream() const {
  const Plan& p = *plan_;
  std::unique_ptr<StreamState> state(new StreamState());
  StreamState::Impl& s = *state->impl_;
  s.plan = &p;
  s.activations.resize(p.values.size());
  if (p.options.mode == Mode::Change) {
    init_change_state(p, s);
    return state;
  }
  s.arena.assign(p.buffer_plan.arena_bytes / sizeof(float) + 16, 0.0f);
  auto* base = reinterpret_cast<unsigned char*>(s.arena.data());
  for (size_t id = 0; id < p.values.size(); ++id) {
    const Value& v = p.values[id];
    if (v.kind != ValueKind::Activation) continue;
    s.activations[id] = Tensor::view(v.tensor.dtype(), v.tensor.shape(), base + p.buffer_plan.offsets[v.buffer]);
  }
  return state;
}

const Tensor* value_tensor(const Plan& p, const StreamState::Impl& s, const std::vector<const Tensor*>& inputs,
                           int id) {
  const Value& v = p.values[static_cast<size_t>(id)];
  switch (v.kind) {
    case ValueKind::Constant: return &v.tensor;
    case ValueKind::Input: return inputs[static_cast<size_t>(v.input_index)];
    case ValueKind::Activation: return &s.activations[static_cast<size_t>(id)];
  }
  return nullptr;
}

static void run_dense(const Plan& p, StreamState::Impl& s, const std::vector<const Tensor*>& inputs,
                      FrameResult& result) {
  ExecContext ctx{p.threads, &s.scratch};
  std::vector<const Tensor*> ins;
  std::vector<Tensor*> outs;
  result.layer_stats.assign(p.steps.size(), LayerStats{});
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& step = p.steps[i];
    ins.clear();
    outs.clear();
    for (int id : step.inputs) ins.push_back(id >= 0 ? value_tensor(p, s, inputs, id) : nullptr);
    for (int id : step.outputs) outs.push_back(id >= 0 ? &s.activations[static_cast<size_t>(id)] : nullptr);
    auto ts = std::chrono::steady_clock::now();
    step.op->forward(ins, outs, ctx);
    if (!result.layer_ms.empty()) result.layer_ms[i] = ms_since(ts);
    result.layer_stats[i].macs = p.layers[i].macs;
  }
  result.macs_executed = p.total_macs;
  result.macs_dense = p.total_macs;
  result.dense_frame = true;
}

FrameResult Engine::run(StreamState& state, const std::vector<const Tensor*>& inputs) const {
  const Plan& p = *plan_;
  StreamState::Impl& s = *state.impl_;
  if (s.plan != &p) throw Error("stream state belongs to another engine");
  if (inputs.size() != p.inputs.size())
    throw Error(p.model.path + ": expected " + std::to_string(p.inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& want = p.inputs[i];
    if (!inputs[i] || !inputs[i]->has_data() || inputs[i]->dtype() != want.dtype || inputs[i]->shape() != want.shape)
      throw Error(p.model.path + ": input '" + want.name + "' must be " + dtype_name(want.dtype) + " " +
                  shape_str(want.shape) +
                  (inputs[i] ? std::string(", got ") + dtype_name(inputs[i]->dtype()) + " " +
                                   shape_str(inputs[i]->shape())
                             : std::string(", got nothing")));
  }

  auto tensor_of = [&](int id) { return value_tensor(p, s, inputs, id); };

  FrameResult result;
  if (p.options.profile) result.layer_ms.assign(p.steps.size(), 0.0);
  auto t0 = std::chrono::steady_clock::now();
  if (p.options.mode == Mode::Change) {
    run_change(p, s, inputs, result);
  } else {
    run_dense(p, s, inputs, result);
  }
  result.times.total_ms = ms_since(t0);
  for (int id : p.output_ids) result.outputs.push_back(tensor_of(id));
  ++s.frame_index;
  return result;
}

}  // namespace sparseinfer

// The compiler half of the engine: from an imported model to the plan every
// executor runs (engine/plan.h).
#include "engine/plan.h"

#include <climits>

#include "engine/buffer_plan.h"
#include "ops/op.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

void compile_plan(const Model& source, const EngineOptions& options, int threads, Plan& p) {
  p.options = options;
  p.threads = threads;
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
        throw ModelError(
            file, "", "",
            "input '" + vi.name + "' has symbolic dimensions " + shape_str(vi.dims) + "; give an input size");
    if (!vi.dims.empty() && vi.dims.size() != shape.size())
      throw ModelError(file, "", "",
                       "input '" + vi.name + "' has rank " + std::to_string(vi.dims.size()) + " but shape " +
                           shape_str(shape) + " was given");
    for (size_t d = options.free_batch ? 1 : 0; d < vi.dims.size(); ++d)
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
}

}  // namespace sparseinfer

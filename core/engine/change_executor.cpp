// Change-mode execution: every activation keeps last frame's values, every
// layer recomputes only what its inputs' change sets reach.
#include <chrono>
#include <cstring>

#include "engine/plan.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

void build_change_kernels(Plan& p) {
  for (size_t i = 0; i < p.steps.size(); ++i) {
    Step& step = p.steps[i];
    std::vector<const Tensor*> ins, outs;
    for (int id : step.inputs) ins.push_back(id >= 0 ? &p.values[static_cast<size_t>(id)].tensor : nullptr);
    for (int id : step.outputs) outs.push_back(id >= 0 ? &p.values[static_cast<size_t>(id)].tensor : nullptr);
    step.change = make_change_kernel(*step.node, *step.op, ins, outs);
    if (step.change->detects()) p.threshold_steps.push_back(static_cast<int>(i));
  }
}

void init_change_state(const Plan& p, StreamState::Impl& s) {
  // Change mode keeps every activation: last frame's values are the basis of the update.
  for (size_t id = 0; id < p.values.size(); ++id) {
    const Value& v = p.values[id];
    if (v.kind == ValueKind::Activation) s.activations[id].allocate(v.tensor.dtype(), v.tensor.shape());
  }
  s.sets.resize(p.values.size());
  s.layer_states.resize(p.steps.size());
  for (int step : p.threshold_steps) s.threshold_index[p.layers[static_cast<size_t>(step)].name] = step;
  s.needs_dense = true;
}

// The accepted set of the first detecting layer as a per-pixel map of its input grid (first batch item).
static void first_layer_mask(const Plan& p, const Step& step, const ChangeSet& accepted, FrameResult& result) {
  const Shape& shape = p.values[static_cast<size_t>(step.inputs[0])].tensor.shape();
  result.mask_height = shape[2];
  result.mask_width = shape[3];
  const int64_t grid = shape[2] * shape[3];
  result.first_layer_mask.assign(static_cast<size_t>(grid), accepted.kind == ChangeSet::Kind::All ? 1 : 0);
  if (accepted.kind != ChangeSet::Kind::Pixels) return;
  for (int32_t pixel : accepted.pixels) {
    if (pixel >= grid) break;  // sorted: the rest belong to later batch items
    result.first_layer_mask[static_cast<size_t>(pixel)] = 1;
  }
}

void run_change(const Plan& p, StreamState::Impl& s, const std::vector<const Tensor*>& inputs, FrameResult& result) {
  const bool dense = s.needs_dense;
  // A graph input may differ anywhere; the first detecting layer narrows it down.
  for (int id : p.input_ids) {
    ChangeSet& set = s.sets[static_cast<size_t>(id)];
    set.set_all();
    const Shape& shape = p.values[static_cast<size_t>(id)].tensor.shape();
    if (shape.size() == 4) {
      set.batch = shape[0];
      set.height = shape[2];
      set.width = shape[3];
    }
  }

  ExecContext exec{p.threads, &s.scratch};
  std::vector<uint8_t>& flags = s.flags;
  ChangeStep step;
  step.exec = &exec;
  step.flags = &flags;
  step.times = &result.times;
  step.dense = dense;
  result.layer_stats.assign(p.steps.size(), LayerStats{});
  result.macs_executed = 0;
  result.macs_dense = p.total_macs;
  result.dense_frame = dense;
  ChangeSet first_accepted;
  const int first_detecting = p.threshold_steps.empty() ? -1 : p.threshold_steps.front();

  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& st = p.steps[i];
    step.inputs.clear();
    step.in_sets.clear();
    step.outputs.clear();
    step.out_sets.clear();
    for (int id : st.inputs) {
      step.inputs.push_back(id >= 0 ? value_tensor(p, s, inputs, id) : nullptr);
      // Constants never change, so they carry no change set.
      const bool varies = id >= 0 && p.values[static_cast<size_t>(id)].kind != ValueKind::Constant;
      step.in_sets.push_back(varies ? &s.sets[static_cast<size_t>(id)] : nullptr);
    }
    for (int id : st.outputs) {
      step.outputs.push_back(id >= 0 ? &s.activations[static_cast<size_t>(id)] : nullptr);
      step.out_sets.push_back(id >= 0 ? &s.sets[static_cast<size_t>(id)] : nullptr);
    }
    LayerState& layer = s.layer_states[i];
    step.layer = &layer;
    step.threshold = layer.threshold * s.threshold_scale;
    LayerStats& stats = result.layer_stats[i];
    stats.macs = p.layers[i].macs;  // kernels that skip work lower this
    step.stats = &stats;
    step.accepted = static_cast<int>(i) == first_detecting ? &first_accepted : nullptr;
    auto t0 = std::chrono::steady_clock::now();
    st.change->run(step);
    if (!result.layer_ms.empty())
      result.layer_ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    result.macs_executed += stats.macs;
  }
  s.needs_dense = false;
  if (first_detecting >= 0) first_layer_mask(p, p.steps[static_cast<size_t>(first_detecting)], first_accepted, result);
}

}  // namespace sparseinfer

// Change-mode execution: every activation keeps last frame's values, every
// layer recomputes only what its inputs' change sets reach.
#include "engine/change/change_executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/change/change_kernel.h"
#include "engine/gates/gumbel_gate.h"
#include "engine/plan.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {

class ChangeState : public ModeState {
 public:
  ChangeState(const Plan& p, const std::vector<std::string>& gated, const std::vector<int>& gated_steps,
              const std::vector<BufferRequest>& transient)
      : gates(gated) {
    // Change mode keeps the activations whose last frame's values are the
    // basis of the update; the transient ones share one arena like dense mode's.
    const BufferPlan arena_plan = plan_buffers(transient);
    arena.assign(arena_plan.arena_bytes / sizeof(float) + 16, 0.0f);
    activations.resize(p.values.size());
    in_arena.assign(p.values.size(), false);
    for (size_t id = 0; id < p.values.size(); ++id) {
      const Value& v = p.values[id];
      if (v.kind != ValueKind::Activation) continue;
      if (transient[id].bytes > 0) {
        in_arena[id] = true;
        auto* base = reinterpret_cast<unsigned char*>(arena.data());
        activations[id] = Tensor::view(v.tensor.dtype(), v.tensor.shape(), base + arena_plan.offsets[id]);
      } else {
        activations[id].allocate(v.tensor.dtype(), v.tensor.shape());
      }
    }
    sets.resize(p.values.size());
    layer_states.resize(p.steps.size());
    // The gates' input states take their memory now, as the activations do
    // (and dense mode's arena): touching a fresh gigabyte costs ~1 s of page
    // faults at 3840x2160, which the first frame would otherwise pay on top
    // of its dense pass.
    for (int step : gated_steps) {
      const int in = p.steps[static_cast<size_t>(step)].inputs[0];
      layer_states[static_cast<size_t>(step)].gate.reference.allocate(DType::Float32,
                                                                      p.values[static_cast<size_t>(in)].tensor.shape());
    }
  }

  // Everything the stream holds between frames, change sets and index lists included.
  size_t bytes() const override {
    size_t total = scratch.bytes() + flags.capacity() + runs.capacity() * sizeof(int32_t) +
                   selected.pixels.capacity() * sizeof(int32_t) + arena.size() * sizeof(float);
    for (size_t id = 0; id < activations.size(); ++id)
      if (!in_arena[id]) total += activations[id].bytes();
    for (const ChangeSet& set : sets) total += set.pixels.capacity() * sizeof(int32_t);
    for (const LayerState& l : layer_states) {
      total += l.gate.reference.bytes();
      for (const Tensor& t : l.fresh) total += t.bytes();
    }
    return total;
  }

  void reset() override {
    needs_dense = true;
    exact = false;
    for (LayerState& l : layer_states) l.gate.last_threshold = -1.0f;
  }

  void refresh() override { exact = !needs_dense; }

  GateSettings& gate_settings() override { return gates; }

  std::vector<float, AlignedAllocator<float>> arena;  // transient activations, shared where lifetimes allow
  std::vector<Tensor> activations;                    // per value id: owned, or a view into the arena
  std::vector<bool> in_arena;                         // per value id
  Scratch scratch;
  bool needs_dense = true;
  bool exact = false;           // refresh(): the next frame runs every gate at threshold 0 over its whole input
  std::vector<ChangeSet> sets;  // per value id
  std::vector<uint8_t> flags;   // pixel flags scratch, all zero between uses
  std::vector<int32_t> runs;    // run list scratch of the sparse convolutions
  ChangeSet selected;           // gate output scratch of the detecting convolutions
  std::vector<LayerState> layer_states;  // per step
  GateSettings gates;
};

class ChangeExecutor : public Executor {
 public:
  ChangeExecutor(const Plan& p, const GateChoice& gates) : p_(p) {
    for (size_t i = 0; i < p.steps.size(); ++i) {
      const Step& step = p.steps[i];
      std::vector<const Tensor*> ins, outs;
      for (int id : step.inputs) ins.push_back(id >= 0 ? &p.values[static_cast<size_t>(id)].tensor : nullptr);
      for (int id : step.outputs) outs.push_back(id >= 0 ? &p.values[static_cast<size_t>(id)].tensor : nullptr);
      kernels_.push_back(make_change_kernel(*step.node, *step.op, ins, outs, gates));
      bool consumed = false;
      for (const Step& later : p.steps)
        for (int id : later.inputs)
          for (int out : step.outputs) consumed |= id >= 0 && id == out;
      consumed_.push_back(consumed);
      if (kernels_.back()->detects()) {
        gate_index_.push_back(static_cast<int>(gated_.size()));
        gated_.push_back(static_cast<int>(i));
      } else {
        gate_index_.push_back(-1);
      }
    }
    if (gates.gumbel) check_gumbel_layers(*gates.gumbel, threshold_layers());
    plan_transients();
  }

  std::unique_ptr<ModeState> new_state() const override {
    return std::make_unique<ChangeState>(p_, threshold_layers(), gated_, transient_);
  }

  std::vector<std::string> threshold_layers() const override {
    std::vector<std::string> names;
    for (int step : gated_) names.push_back(p_.layers[static_cast<size_t>(step)].name);
    return names;
  }

  void run(ModeState& mode_state, const std::vector<const Tensor*>& inputs, FrameResult& result) const override;

 private:
  // A value read only as the gated input of spatial convolutions need not
  // outlive the frame: the gate compares it with its input state only at the
  // pixels its change set names, all written this frame, and the layer
  // computes from that state (CBinfer §III-C), so last frame's values are
  // never read. Exception: a gate whose threshold was lowered rescans every
  // pixel; that frame the producer writes its whole output (ChangeStep::full).
  void plan_transients() {
    const Plan& p = p_;
    transient_.assign(p.values.size(), BufferRequest{});
    transient_readers_.assign(p.steps.size(), {});
    std::vector<int> producer(p.values.size(), -1);
    for (size_t i = 0; i < p.steps.size(); ++i)
      for (int id : p.steps[i].outputs)
        if (id >= 0) producer[static_cast<size_t>(id)] = static_cast<int>(i);
    for (size_t id = 0; id < p.values.size(); ++id) {
      const Value& v = p.values[id];
      if (v.kind != ValueKind::Activation || v.tensor.dtype() != DType::Float32 || producer[id] < 0) continue;
      bool only_gates = true, read = false;
      int last = producer[id];
      for (int out : p.output_ids) only_gates &= out != static_cast<int>(id);
      for (size_t i = 0; i < p.steps.size() && only_gates; ++i) {
        const std::vector<int>& ins = p.steps[i].inputs;
        for (size_t k = 0; k < ins.size(); ++k) {
          if (ins[k] != static_cast<int>(id)) continue;
          only_gates &= k == 0 && gate_index_[i] >= 0;
          read = true;
          last = std::max(last, static_cast<int>(i));
        }
      }
      if (!only_gates || !read) continue;
      transient_[id] = BufferRequest{static_cast<size_t>(v.tensor.numel()) * sizeof(float), producer[id], last};
      for (size_t i = 0; i < p.steps.size(); ++i)
        if (!p.steps[i].inputs.empty() && p.steps[i].inputs[0] == static_cast<int>(id))
          transient_readers_[static_cast<size_t>(producer[id])].push_back(static_cast<int>(i));
    }
  }

  const Plan& p_;
  std::vector<std::unique_ptr<ChangeKernel>> kernels_;  // per step
  std::vector<int> gated_;                              // steps whose kernel has a gate
  std::vector<int> gate_index_;                         // per step: index into gated_, or -1
  std::vector<bool> consumed_;                          // per step: a later step reads one of its outputs
  // Per value id: a live interval when the value is transient (bytes 0 otherwise).
  std::vector<BufferRequest> transient_;
  std::vector<std::vector<int>> transient_readers_;  // per step: gated steps that read its transient outputs
};

// The accepted set of the first detecting layer as a per-pixel map of its
// input grid, batch item after batch item (a StreamBatcher hands each stream
// its own item's map).
void first_layer_mask(const Plan& p, const Step& step, const ChangeSet& accepted, FrameResult& result) {
  const Shape& shape = p.values[static_cast<size_t>(step.inputs[0])].tensor.shape();
  result.mask_height = shape[2];
  result.mask_width = shape[3];
  const int64_t grid = shape[0] * shape[2] * shape[3];
  result.first_layer_mask.assign(static_cast<size_t>(grid), accepted.kind == ChangeSet::Kind::All ? 1 : 0);
  if (accepted.kind != ChangeSet::Kind::Pixels) return;
  for (int32_t pixel : accepted.pixels)
    if (pixel < grid) result.first_layer_mask[static_cast<size_t>(pixel)] = 1;
}

void ChangeExecutor::run(ModeState& mode_state, const std::vector<const Tensor*>& inputs, FrameResult& result) const {
  const Plan& p = p_;
  ChangeState& s = static_cast<ChangeState&>(mode_state);
  const bool dense = s.needs_dense;
  const bool exact = s.exact && !dense;
  auto tensor_of = [&](int id) -> const Tensor* {
    const Value& v = p.values[static_cast<size_t>(id)];
    if (v.kind == ValueKind::Activation) return &s.activations[static_cast<size_t>(id)];
    return v.kind == ValueKind::Constant ? &v.tensor : inputs[static_cast<size_t>(v.input_index)];
  };
  // A graph input may differ anywhere; the first detecting layer narrows it down.
  for (int id : p.input_ids) {
    ChangeSet& set = s.sets[static_cast<size_t>(id)];
    set.set_all();
    const Shape& shape = p.values[static_cast<size_t>(id)].tensor.shape();
    if (shape.size() == 4) set.set_grid(shape[0], shape[2], shape[3]);
  }

  ExecContext exec{p.threads, &s.scratch};
  ChangeStep step;
  step.exec = &exec;
  step.flags = &s.flags;
  step.runs = &s.runs;
  step.selected = &s.selected;
  step.times = &result.times;
  step.dense = dense;
  step.exact = exact;
  result.layer_stats.assign(p.steps.size(), LayerStats{});
  result.macs_executed = 0;
  result.macs_dense = p.total_macs;
  result.dense_frame = dense;
  result.refresh_frame = exact;
  ChangeSet first_accepted;
  const int first_detecting = gated_.empty() ? -1 : gated_.front();

  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& st = p.steps[i];
    step.inputs.clear();
    step.in_sets.clear();
    step.outputs.clear();
    step.out_sets.clear();
    for (int id : st.inputs) {
      step.inputs.push_back(id >= 0 ? tensor_of(id) : nullptr);
      // Constants never change, so they carry no change set.
      const bool varies = id >= 0 && p.values[static_cast<size_t>(id)].kind != ValueKind::Constant;
      step.in_sets.push_back(varies ? &s.sets[static_cast<size_t>(id)] : nullptr);
    }
    for (int id : st.outputs) {
      step.outputs.push_back(id >= 0 ? &s.activations[static_cast<size_t>(id)] : nullptr);
      step.out_sets.push_back(id >= 0 ? &s.sets[static_cast<size_t>(id)] : nullptr);
    }
    step.layer = &s.layer_states[i];
    step.consumed = consumed_[i];
    // A reader that rescans its whole input (exact frame, lowered threshold)
    // needs every pixel of a transient output written.
    step.full = exact && !transient_readers_[i].empty();
    for (int reader : transient_readers_[i])
      step.full |= s.gates.effective(static_cast<size_t>(gate_index_[static_cast<size_t>(reader)])) <
                   s.layer_states[static_cast<size_t>(reader)].gate.last_threshold;
    step.threshold = gate_index_[i] >= 0 ? s.gates.effective(static_cast<size_t>(gate_index_[i])) : 0.0f;
    LayerStats& stats = result.layer_stats[i];
    stats.macs = p.layers[i].macs;  // kernels that skip work lower this
    step.stats = &stats;
    step.accepted = static_cast<int>(i) == first_detecting ? &first_accepted : nullptr;
    auto t0 = std::chrono::steady_clock::now();
    kernels_[i]->run(step);
    if (!result.layer_ms.empty())
      result.layer_ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    result.macs_executed += stats.macs;
  }
  s.needs_dense = false;
  s.exact = false;
  if (first_detecting >= 0) first_layer_mask(p, p.steps[static_cast<size_t>(first_detecting)], first_accepted, result);
  for (int id : p.output_ids) result.outputs.push_back(tensor_of(id));
}

}  // namespace

std::unique_ptr<Executor> make_change_executor(Plan& plan, const GateChoice& gates) {
  return std::make_unique<ChangeExecutor>(plan, gates);
}

}  // namespace sparseinfer

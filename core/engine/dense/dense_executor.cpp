#include "engine/dense/dense_executor.h"

#include <chrono>

#include "engine/plan.h"

namespace sparseinfer {

namespace {

class DenseState : public ModeState {
 public:
  explicit DenseState(const Plan& p) : gates({}) {
    arena.assign(p.buffer_plan.arena_bytes / sizeof(float) + 16, 0.0f);
    auto* base = reinterpret_cast<unsigned char*>(arena.data());
    activations.resize(p.values.size());
    for (size_t id = 0; id < p.values.size(); ++id) {
      const Value& v = p.values[id];
      if (v.kind != ValueKind::Activation) continue;
      activations[id] = Tensor::view(v.tensor.dtype(), v.tensor.shape(), base + p.buffer_plan.offsets[v.buffer]);
    }
  }

  // Activations are views into the arena.
  size_t bytes() const override { return arena.size() * sizeof(float) + scratch.bytes(); }
  void reset() override {}  // nothing is carried from frame to frame
  GateSettings& gate_settings() override { return gates; }

  std::vector<float, AlignedAllocator<float>> arena;  // activation buffers, shared where lifetimes allow
  std::vector<Tensor> activations;                    // per value id: views into the arena
  Scratch scratch;
  GateSettings gates;  // dense mode gates nothing
};

class DenseExecutor : public Executor {
 public:
  explicit DenseExecutor(const Plan& p) : p_(p) {}

  std::unique_ptr<ModeState> new_state() const override { return std::make_unique<DenseState>(p_); }

  void run(ModeState& mode_state, const std::vector<const Tensor*>& inputs, FrameResult& result) const override {
    DenseState& s = static_cast<DenseState&>(mode_state);
    auto tensor_of = [&](int id) -> const Tensor* {
      const Value& v = p_.values[static_cast<size_t>(id)];
      if (v.kind == ValueKind::Activation) return &s.activations[static_cast<size_t>(id)];
      return v.kind == ValueKind::Constant ? &v.tensor : inputs[static_cast<size_t>(v.input_index)];
    };
    ExecContext ctx{p_.threads, &s.scratch};
    std::vector<const Tensor*> ins;
    std::vector<Tensor*> outs;
    result.layer_stats.assign(p_.steps.size(), LayerStats{});
    for (size_t i = 0; i < p_.steps.size(); ++i) {
      const Step& step = p_.steps[i];
      ins.clear();
      outs.clear();
      for (int id : step.inputs) ins.push_back(id >= 0 ? tensor_of(id) : nullptr);
      for (int id : step.outputs) outs.push_back(id >= 0 ? &s.activations[static_cast<size_t>(id)] : nullptr);
      auto ts = std::chrono::steady_clock::now();
      step.op->forward(ins, outs, ctx);
      if (!result.layer_ms.empty())
        result.layer_ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ts).count();
      result.layer_stats[i].macs = p_.layers[i].macs;
    }
    result.macs_executed = p_.total_macs;
    result.macs_dense = p_.total_macs;
    result.dense_frame = true;
    for (int id : p_.output_ids) result.outputs.push_back(tensor_of(id));
  }

 private:
  const Plan& p_;
};

}  // namespace

std::unique_ptr<Executor> make_dense_executor(Plan& plan) {
  return std::make_unique<DenseExecutor>(plan);
}

}  // namespace sparseinfer

// One layer of change-based execution. A kernel is created per graph node at
// compile time (stateless, shared by streams); what it must remember between
// frames lives in that stream's LayerState.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "engine/gates/gate.h"
#include "ops/change_set.h"
#include "ops/op.h"
#include "sparseinfer/engine.h"

namespace sparseinfer {

struct LayerState {
  GateState gate;             // gated convolutions: what the gate remembers (CBinfer §III-C input state)
  std::vector<Tensor> fresh;  // dense fallback: this frame's non-float outputs before diffing (small)
};

struct ChangeStep {
  std::vector<const Tensor*> inputs;      // nullptr for omitted inputs
  std::vector<const ChangeSet*> in_sets;  // nullptr for constants and omitted inputs
  std::vector<Tensor*> outputs;           // persistent: hold last frame's values on entry
  std::vector<ChangeSet*> out_sets;
  LayerState* layer = nullptr;
  float threshold = 0.0f;  // effective threshold for this frame
  bool dense = false;      // recompute everything (first frame after a reset)
  bool exact = false;      // gates accept every pixel that differs from their state (StreamState::refresh)
  bool consumed = true;    // a later layer reads an output's change set
  bool full = false;       // write every output pixel: a transient output's reader rescans it this frame
  ExecContext* exec = nullptr;
  std::vector<uint8_t>* flags = nullptr;  // per-stream scratch, all zero on entry and exit
  // Per-stream scratch shared by all layers (each is used within one layer's
  // run), so index lists cost the largest layer's, not the sum over layers.
  std::vector<int32_t>* runs = nullptr;  // sparse conv: (image, first, end) of each run of changed pixels
  ChangeSet* selected = nullptr;         // detecting conv: input pixels its gate accepted this frame
  StageTimes* times = nullptr;
  LayerStats* stats = nullptr;
  ChangeSet* accepted = nullptr;  // when set, a detecting kernel copies the input pixels it accepted here
};

class ChangeKernel {
 public:
  virtual ~ChangeKernel() = default;
  virtual void run(ChangeStep& step) const = 0;
  // Has a gate that detects changes against a threshold (and so has one to calibrate).
  virtual bool detects() const { return false; }
};

// The kernel for a node: change-based conv, pooling or element-wise when the
// node qualifies, otherwise dense recomputation with output diffing. `op` is
// the node's dense operator (already through infer()); `inputs` hold
// constants (has_data) or descriptors; `outputs` are descriptors.
// Gated kernels take their gate from `gates`.
std::unique_ptr<ChangeKernel> make_change_kernel(const Node& node, Op& op, const std::vector<const Tensor*>& inputs,
                                                 const std::vector<const Tensor*>& outputs, const GateChoice& gates);

// True when nothing an operator reads changed this frame.
bool inputs_unchanged(const ChangeStep& step);

// Runs the node's dense operator over the whole output (a dense frame, or an
// input changed everywhere) and marks every output as changed; the time
// counts as "other".
void run_op_densely(Op& op, ChangeStep& step);

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Nothing the layer reads changed: its (first) output keeps last frame's values.
void keep_outputs(ChangeStep& step);

// Layers whose output keeps their inputs' grid (Concat, element-wise ops)
// changed where any input changed (CBinfer §III-E): `out_set` becomes the
// union of the inputs' Pixels sets, on the first output's grid.
void union_input_changes(ChangeStep& step, ChangeSet& out_set);

// A layer that recomputes only the outputs its single input's change set
// reaches (pooling, nearest upsampling; CBinfer §III-E): the dense operator
// when the input changed everywhere, nothing when it did not change;
// otherwise `mark(in_set, flags)` flags the affected outputs and
// `evaluate(pixels, n)` computes the listed ones.
template <typename Mark, typename Evaluate>
void run_at_affected_outputs(Op& op, ChangeStep& s, Mark mark, Evaluate evaluate) {
  const ChangeSet& in_set = *s.in_sets[0];
  if (s.dense || s.full || in_set.kind == ChangeSet::Kind::All) return run_op_densely(op, s);
  if (in_set.kind == ChangeSet::Kind::None) return keep_outputs(s);
  auto t0 = std::chrono::steady_clock::now();
  ChangeSet& out_set = *s.out_sets[0];
  const Tensor& out = *s.outputs[0];
  mark(in_set, *s.flags);
  out_set.set_grid(out.dim(0), out.dim(2), out.dim(3));
  extract_changes(*s.flags, out_set);
  evaluate(out_set.pixels.data(), static_cast<int64_t>(out_set.pixels.size()));
  s.stats->changed_fraction = out_set.fraction();
  s.times->other_ms += ms_since(t0);
}

}  // namespace sparseinfer

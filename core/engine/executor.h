// The seam between the compiled plan and the execution modes: the plan is
// built once per engine; an Executor per mode (dense/, change/, and later
// block/) runs it, and owns the per-stream state its mode needs. Engine and
// StreamState only dispatch to these.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/gates/gate_settings.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

struct Plan;

// What one stream keeps between frames for one mode.
class ModeState {
 public:
  virtual ~ModeState() = default;
  // Bytes held: activations, input states, scratch.
  virtual size_t bytes() const = 0;
  // Forget previous frames: the next frame is computed in full.
  virtual void reset() = 0;
  // The next frame's result must equal a dense frame's. Modes that can get
  // there for less than a dense frame override this (change mode).
  virtual void refresh() { reset(); }
  // The thresholds of the mode's gated layers (none in dense mode).
  virtual GateSettings& gate_settings() = 0;
  // Block mode's gate; other modes refuse one.
  virtual void set_block_gate(std::shared_ptr<BlockGate> /*gate*/) {
    throw Error("a block gate needs an engine in block mode");
  }
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::unique_ptr<ModeState> new_state() const = 0;
  // Runs one frame: fills result (outputs in graph order, statistics, stage
  // times except total_ms). Inputs are already checked against the plan.
  virtual void run(ModeState& state, const std::vector<const Tensor*>& inputs, FrameResult& result) const = 0;
  // Layers whose gate has a threshold to set, in execution order.
  virtual std::vector<std::string> threshold_layers() const { return {}; }
};

// The executor for plan.options (backend and mode, both resolved); the plan
// outlives it. Throws Error for a combination this build cannot run.
std::unique_ptr<Executor> make_executor(Plan& plan);

}  // namespace sparseinfer

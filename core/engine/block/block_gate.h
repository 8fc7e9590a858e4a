// The seam between whoever picks the blocks (a deterministic gate, or the
// BlockCopy policy net of core/policy/) and the block executor that runs them
// (BlockCopy §3.1). Each frame the executor hands the gate what §3.3 calls the
// state S_t = {I_t, H_{t-1}, A_{t-1}, O_{t-1}} and takes back a grid A_t; after
// the frame ran, the gate sees the outputs (the reward of §3.4-3.5).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

// Execution decisions for one frame, one per block of the network input.
struct BlockGrid {
  int64_t rows = 0, cols = 0;    // blocks down and across (the last ones may be cut by the frame edge)
  int64_t block_size = 0;        // block side in network-input pixels
  std::vector<uint8_t> execute;  // rows * cols, row-major: 1 = execute, 0 = transfer features

  void assign(int64_t r, int64_t c, int64_t size, uint8_t value) {
    rows = r;
    cols = c;
    block_size = size;
    execute.assign(static_cast<size_t>(r * c), value);
  }
  int64_t executed() const {
    int64_t n = 0;
    for (uint8_t e : execute) n += e ? 1 : 0;
    return n;
  }
  double executed_fraction() const { return execute.empty() ? 0.0 : double(executed()) / double(execute.size()); }
};

// What a gate may look at when it decides (BlockCopy §3.3, eq. 2).
struct BlockGateInput {
  const Tensor* frame = nullptr;  // I_t: the network input [1, C, H, W] as run() got it
  // H_{t-1}: per block, the network input of that block's last execution
  // (closed loop: only executed blocks update it).
  const Tensor* executed_frame = nullptr;
  const BlockGrid* previous_grid = nullptr;  // A_{t-1}
  // O_{t-1}: the outputs of the previous frame, in graph output order.
  const std::vector<const Tensor*>* previous_outputs = nullptr;
  int64_t frame_index = 0;  // frames run on this stream since the last reset
};

// One per stream (it may learn): install with StreamState::set_block_gate().
class BlockGate {
 public:
  virtual ~BlockGate() = default;
  // Fills grid.execute (grid is already sized to the engine's block grid).
  // Not called for the first frame after a reset, which executes every block.
  virtual void decide(const BlockGateInput& in, BlockGrid& grid) = 0;
  // After the frame ran with `grid`: `in` now holds the new executed frame
  // and `result` the new outputs (O_t); in.previous_outputs still O_{t-1}.
  virtual void observe(const BlockGateInput& /*in*/, const BlockGrid& /*grid*/, const FrameResult& /*result*/) {}
  // The stream was reset (flush, seek, new stream).
  virtual void reset() {}
};

// The deterministic change gate is engine/block/change_block_gate.h; the
// executor runs it when no gate is installed.

}  // namespace sparseinfer

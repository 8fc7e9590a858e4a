// A layer run on the executed blocks only (BlockCopy §3.1): gather the
// blocks' patches (with the halo read from the stored input map, fresh where
// executed this frame and transferred elsewhere), run the dense kernel once on
// the stacked patches, scatter the cells back into the stored output map.
// Non-executed cells keep their features (feature transfer).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "engine/block/block_layout.h"
#include "ops/op.h"

namespace sparseinfer {

using FloatBuffer = std::vector<float, AlignedAllocator<float>>;

// A value's executed cells laid side by side, [C, cell_h, N * cell_w], as
// its producer left them this frame. Layers without a halo (1x1 convs,
// element-wise) take their input from here instead of gathering it, and a
// value only they read is never scattered into its full map: in a MobileNet
// block only the depthwise input needs the map (for its halo).
struct StackedValue {
  FloatBuffer data;
  bool valid = false;  // written this frame
};

// Per stream, per frame: which blocks run and the memory to run them in.
struct BlockRun {
  const std::vector<BlockRef>* blocks = nullptr;
  int threads = 1;
  Scratch* scratch = nullptr;                   // kernel scratch (im2col tiles, ...)
  std::vector<FloatBuffer>* patches = nullptr;  // one stacked image per layer input
  FloatBuffer* results = nullptr;               // the stacked output
  // Operator instances shaped for a given number of blocks (per stream and
  // layer, since operators fix their shapes in infer()).
  std::map<int64_t, std::unique_ptr<Op>>* shaped_ops = nullptr;
  std::vector<StackedValue>* stacked = nullptr;  // per value id
  StageTimes* times = nullptr;
};

float* buffer_floats(FloatBuffer& buffer, int64_t count);

class BlockKernel {
 public:
  virtual ~BlockKernel() = default;
  // inputs/outputs: the full maps (outputs hold the last features).
  virtual void run(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
                   BlockRun& run) const = 0;
  // Whether the layer can read input `i` from its stacked form.
  virtual bool reads_stacked(size_t i) const = 0;
};

// What a factory sees of a layer: its node, its inputs and outputs as the
// plan knows them (constants with data) and their places in the grid.
struct BlockLayer {
  OpInfo info;
  Op* op = nullptr;  // the plan's operator (shared, shaped for the full maps)
  std::vector<const Tensor*> inputs;
  std::vector<const Tensor*> outputs;
  std::vector<CellLayout> input_layouts;
  std::vector<CellLayout> output_layouts;
  std::vector<int> input_ids, output_ids;  // value ids (-1: omitted)
  // Per output: whether its full map must be written (something reads its
  // halo, the whole map, or it is a graph output).
  std::vector<bool> output_needs_map;
};

// Conv over the blocks with the dense im2col+GEMM or depthwise kernel
// (block_conv.cpp); nullptr when the layer is not a 2-D Conv on blocked maps.
std::unique_ptr<BlockKernel> make_block_conv(const BlockLayer& layer);
// Element-wise layers, activations and channel Concat: the operator itself
// runs on the stacked cells (block_pointwise.cpp); nullptr otherwise.
std::unique_ptr<BlockKernel> make_block_pointwise(const BlockLayer& layer);
// Linear half-pixel Resize by integer factors (block_resize.cpp); nullptr otherwise.
std::unique_ptr<BlockKernel> make_block_resize(const BlockLayer& layer);

}  // namespace sparseinfer

// Engine: a model compiled for one backend, one input size and one execution
// mode. Engines are immutable after construction and shared between streams;
// everything that changes from frame to frame lives in a StreamState.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sparseinfer/model.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

struct GumbelGateSet;

enum class Backend { Auto, Cpu, Cuda };
enum class Mode {
  Dense,   // every layer computed in full, every frame
  Change,  // CBinfer: only the pixels affected by changes are recomputed
  Block,   // BlockCopy: only the executed blocks are computed, the others keep their features
};

const char* backend_name(Backend b);
const char* mode_name(Mode m);

struct EngineOptions {
  Backend backend = Backend::Auto;
  Mode mode = Mode::Dense;
  int threads = 0;  // 0: all cores
  // One shape per graph input, in graph order. Empty: take the shapes the
  // model declares (an error if any dimension is symbolic).
  std::vector<Shape> input_shapes;
  // Graph inputs bound to fixed values at compile time (a Resize's scales or a
  // Reshape's target shape fed as inputs): they become constants, shapes
  // that depend on them are inferred, and they are no longer inputs of run().
  // input_shapes, when given, still lists every graph input.
  std::map<std::string, Tensor> constant_inputs;
  // Time every layer (FrameResult::layer_ms); costs a clock read per layer.
  bool profile = false;
  // The first dimension of every input_shapes entry may differ from the batch
  // the model declares (most exports fix it to 1): StreamBatcher runs one
  // item per stream. Layers that bake the batch in (a Reshape to a constant
  // shape) then fail to compile, with the node named.
  bool free_batch = false;
  // Block mode: block side in network-input pixels (BlockCopy §3.1 grid).
  int block_size = 32;
  // Change mode: the gate that picks the input pixels each layer recomputes,
  // one of gate_names() (docs/gates.md). Block mode: a structured norm gate
  // ("input-norm-4x4", ...) replaces the change gate as the default block gate.
  std::string gate = "threshold";
  // Change mode: Skip-Conv's trained Gumbel gates (read_gumbel_gates(), one
  // per gated layer) instead of `gate`; CPU backend only.
  std::shared_ptr<const GumbelGateSet> gumbel_gates;
};

// The gate kinds EngineOptions::gate takes: "threshold" (CBinfer) and
// Skip-Conv's norm gates.
std::vector<std::string> gate_names();

// One executed node of the compiled plan (constant-folded nodes are gone).
struct LayerInfo {
  std::string name;
  std::string op_type;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<Shape> output_shapes;
  int64_t macs = 0;
  int64_t params = 0;  // weight elements held by the node's constant inputs
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
};

// Where a frame's time went (CBinfer Fig. 10 stages); change mode fills the
// stages, dense mode only the total.
struct StageTimes {
  double detect_ms = 0;   // change detection against the input state
  double extract_ms = 0;  // dilation to affected outputs and index extraction
  double gather_ms = 0;   // matrix generation for the affected pixels
  double gemm_ms = 0;     // SGEMM (and direct depthwise evaluation)
  double update_ms = 0;   // output update with bias and activation
  double other_ms = 0;    // pooling, element-wise and dense-fallback layers
  double total_ms = 0;
};

// Per executed layer, per frame.
struct LayerStats {
  double changed_fraction = 1.0;        // output pixels recomputed / all output pixels
  double input_changed_fraction = 1.0;  // input pixels accepted as changed (detecting layers)
  int64_t macs = 0;                     // multiply-accumulates actually executed
};

// Output of one frame. The tensors point into the StreamState and stay valid
// until the next run() on that state.
struct FrameResult {
  std::vector<const Tensor*> outputs;  // in graph output order
  int64_t macs_executed = 0;
  int64_t macs_dense = 0;
  double mac_fraction() const { return macs_dense ? double(macs_executed) / double(macs_dense) : 1.0; }
  StageTimes times;
  std::vector<LayerStats> layer_stats;  // per LayerInfo
  std::vector<double> layer_ms;         // per LayerInfo, when EngineOptions::profile
  bool dense_frame = true;              // computed in full (first frame after a reset)
  bool refresh_frame = false;           // a change frame after StreamState::refresh(): equals dense
  // Change mode: input pixels the first detecting layer accepted as changed
  // (1) on its input grid, row-major; all ones on a dense frame. Empty in
  // dense mode (every pixel is computed). The CPU backend gives every batch
  // item, one grid after another; the CUDA backend the first item only.
  std::vector<uint8_t> first_layer_mask;
  int64_t mask_width = 0, mask_height = 0;
  // Block mode: the executed grid A_t (1 = executed), row-major over
  // grid_rows x grid_cols blocks of block_size input pixels; empty otherwise.
  std::vector<uint8_t> block_grid;
  int64_t grid_rows = 0, grid_cols = 0, block_size = 0;
  double executed_fraction = 1.0;  // executed blocks / all blocks (1 in dense and change mode)
};

class StreamState;
class Executor;
class BlockGate;
struct Plan;

class Engine {
 public:
  // Compiles the model: optimizes the graph, infers shapes, folds constants,
  // creates operators, plans buffers. Throws ModelError / Error.
  Engine(const Model& model, const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  const std::vector<LayerInfo>& layers() const;
  int64_t total_macs() const;
  int64_t total_params() const;
  Backend backend() const;
  Mode mode() const;
  int threads() const;
  const std::string& model_path() const;

  // A fresh per-stream state with every buffer allocated.
  std::unique_ptr<StreamState> new_stream() const;

  // Change mode: names of the layers that detect changes against a
  // threshold (spatial convolutions), in execution order. Empty in dense mode.
  std::vector<std::string> threshold_layers() const;

  // Bytes a dense engine holds for activations: every intermediate tensor
  // plus conv scratch (the CBinfer §III-B baseline), for memory comparisons.
  size_t dense_activation_bytes() const;

  // Runs one frame. Inputs are in graph order with the compiled shapes and
  // dtypes; throws Error on a mismatch.
  FrameResult run(StreamState& state, const std::vector<const Tensor*>& inputs) const;

 private:
  std::unique_ptr<Plan> plan_;
  std::unique_ptr<Executor> executor_;  // one per mode and backend (core/engine/<mode>/)
};

// Everything one stream keeps between frames: activation buffers, scratch
// memory, frame counter. Opaque to users.
class StreamState {
 public:
  ~StreamState();
  int64_t frame_index() const;
  // Bytes held for this stream: activation buffers, input states, scratch.
  size_t state_bytes() const;

  // Forget everything about previous frames: the next frame is computed
  // densely (after a flush, seek, discontinuity or a new stream).
  void reset();

  // The next frame's result equals a dense frame's, without forgetting: in
  // change mode every gated layer looks at its whole input and recomputes
  // wherever it differs at all from what the layer last computed from
  // (threshold 0), which clears the error thresholds let build up (CBinfer
  // §III-C) at the cost of what moved since, not of a dense frame. Layers
  // whose output lives only within a frame (read by gates alone, e.g. a pool
  // before a convolution) have nothing to compare against and are computed
  // in full on that frame. Other modes reset().
  void refresh();

  // Change-mode thresholds (CBinfer eq. 3), per layer name from
  // Engine::threshold_layers(); unknown names throw Error. The effective
  // threshold is threshold * scale, so a user can trade accuracy for speed at
  // run time without recalibrating.
  void set_threshold(const std::string& layer, float threshold);
  void set_all_thresholds(float threshold);
  void set_threshold_scale(float scale);
  float threshold(const std::string& layer) const;
  float threshold_scale() const;

  // Block mode: who picks the blocks each frame (engine/block/block_gate.h).
  // Without one, the change gate runs with the threshold of the layer
  // "block_change_gate" (set_all_thresholds). nullptr restores that default.
  // Throws Error in other modes.
  void set_block_gate(std::shared_ptr<BlockGate> gate);

  struct Impl;  // opaque: defined with the engine's internals

 private:
  friend class Engine;
  StreamState();
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparseinfer

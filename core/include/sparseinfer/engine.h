// Engine: a model compiled for one backend, one input size and one execution
// mode. Engines are immutable after construction and shared between streams;
// everything that changes from frame to frame lives in a StreamState.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sparseinfer/model.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

enum class Backend { Auto, Cpu, Cuda };
enum class Mode { Dense };

const char* backend_name(Backend b);
const char* mode_name(Mode m);

struct EngineOptions {
  Backend backend = Backend::Auto;
  Mode mode = Mode::Dense;
  int threads = 0;  // 0: all cores
  // One shape per graph input, in graph order. Empty: take the shapes the
  // model declares (an error if any dimension is symbolic).
  std::vector<Shape> input_shapes;
  // Time every layer (FrameResult::layer_ms); costs a clock read per layer.
  bool profile = false;
};

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

struct StageTimes {
  double total_ms = 0;
};

// Output of one frame. The tensors point into the StreamState and stay valid
// until the next run() on that state.
struct FrameResult {
  std::vector<const Tensor*> outputs;  // in graph output order
  int64_t macs_executed = 0;
  int64_t macs_dense = 0;
  double mac_fraction() const { return macs_dense ? double(macs_executed) / double(macs_dense) : 1.0; }
  StageTimes times;
  std::vector<double> layer_ms;  // per LayerInfo, when EngineOptions::profile
};

class StreamState;
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

  // Runs one frame. Inputs are in graph order with the compiled shapes and
  // dtypes; throws Error on a mismatch.
  FrameResult run(StreamState& state, const std::vector<const Tensor*>& inputs) const;

 private:
  std::unique_ptr<Plan> plan_;
};

// Everything one stream keeps between frames: activation buffers, scratch
// memory, frame counter. Opaque to users.
class StreamState {
 public:
  ~StreamState();
  int64_t frame_index() const;
  size_t state_bytes() const;

 private:
  friend class Engine;
  StreamState();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparseinfer

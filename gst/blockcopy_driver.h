// The machinery behind blockcopypolicy, free of GObject: loads a model,
// compiles a block-mode engine (BlockCopy §3.1) for the frame size, keeps one
// stream's state and gate, and runs frames through preprocessing and the
// engine. The element glue owns one and calls it from its streaming thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frame_view.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"

namespace sparseinfer::gst {

// Who picks the blocks. The learned policy (BlockCopy §3.2-3.5) is not built yet.
enum class BlockGateKind { Change };

struct BlockCopySettings {
  std::string model_path;
  Backend backend = Backend::Cpu;
  int threads = 0;
  int input_width = 0;  // 0: the model's declared size, else the frame's
  int input_height = 0;
  bool rgb = true;
  std::array<double, 3> mean{0.0, 0.0, 0.0};  // on values in [0, 1]
  std::array<double, 3> std{1.0, 1.0, 1.0};
  int block_size = 32;
  BlockGateKind gate = BlockGateKind::Change;
  float threshold = 0.1f;  // change gate: max |frame - executed frame| over a block
  bool emit_stats = false;
};

struct BlockCopyFrameStats {
  bool dense_frame = false;
  double executed_fraction = 0;
  double mac_fraction = 0;
  int64_t macs_executed = 0, macs_dense = 0;
  double gate_ms = 0;     // the gate's decision
  double process_ms = 0;  // preprocessing + engine
  size_t state_bytes = 0;
  // The executed grid A_t, row-major; valid until the next frame.
  const uint8_t* grid = nullptr;
  int grid_cols = 0, grid_rows = 0, block_size = 0;
};

// One output tensor of the last frame.
struct BlockCopyTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::shared_ptr<const std::vector<uint8_t>> data;  // float32
};

class BlockCopyDriver {
 public:
  // Loads the model; throws ModelError / Error.
  void open(const BlockCopySettings& settings);
  void close();
  // Compiles the engine for frames of this size unless the current one fits;
  // returns true when it was (re)built. Throws Error.
  bool configure(int frame_width, int frame_height);
  // Settings that may change while playing (the threshold).
  void update(const BlockCopySettings& settings);
  // New stream, flush, caps change: the next frame executes every block.
  void reset();
  // Runs one frame; throws Error.
  BlockCopyFrameStats infer(const FrameView& frame);

  const std::vector<BlockCopyTensor>& outputs() const { return outputs_; }
  const std::string& model_name() const { return model_name_; }
  int network_width() const { return net_width_; }
  int network_height() const { return net_height_; }

 private:
  BlockCopySettings settings_;
  std::string model_name_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<StreamState> state_;
  Tensor input_;
  int net_width_ = 0, net_height_ = 0;
  std::vector<BlockCopyTensor> outputs_;
  std::vector<uint8_t> grid_;
};

}  // namespace sparseinfer::gst

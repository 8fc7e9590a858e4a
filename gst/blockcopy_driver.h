// The machinery behind blockcopypolicy, free of GObject: loads a model and its
// description (MODEL.onnx.json or metadata_props), compiles a block-mode
// engine (BlockCopy §3.1) for the frame size, keeps one stream's state and
// gate (the change gate, or the learned policy of §3.2-3.5), and runs frames
// through preprocessing, the engine and the description's decoder. The
// element glue owns one and calls it from its streaming thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "control/latency_budget.h"
#include "element_support.h"
#include "frame_view.h"
#include "policy/policy_block_gate.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/preprocess.h"

namespace sparseinfer::gst {

// Who picks the blocks: the change gate, or the learned policy (BlockCopy
// §3.2-3.5, trained online on the information gain of the decoded output).
enum class BlockGateKind { Change, Policy };

struct BlockCopySettings {
  std::string model_path;
  Backend backend = Backend::Cpu;
  int threads = 0;
  int input_width = 0;  // 0: the model's declared size, else the frame's
  int input_height = 0;
  bool rgb = true;
  std::array<double, 3> mean{0.0, 0.0, 0.0};  // on values in [0, 1]
  std::array<double, 3> std{1.0, 1.0, 1.0};
  ExplicitProperties set;  // mean and std override the model description when set
  int block_size = 32;
  BlockGateKind gate = BlockGateKind::Change;
  float threshold = 0.1f;  // change gate: max |frame - executed frame| over a block
  // Policy gate (ReinforceSettings): τ, RMSprop rate, frames per update,
  // whether to train, and the file it starts from and is saved to.
  double cost_target = 0.3;
  double learning_rate = 1e-4;
  int update_interval = 4;
  bool train = true;
  std::string policy_file;
  bool emit_stats = false;
  // Change gate: frame time (ms) the block threshold follows, through a factor
  // on it (core/control/latency_budget.h); 0: off.
  double latency_budget_ms = 0;
};

struct BlockCopyFrameStats {
  bool dense_frame = false;
  double executed_fraction = 0;
  double mac_fraction = 0;
  int64_t macs_executed = 0, macs_dense = 0;
  double gate_ms = 0;     // the gate's decision
  double process_ms = 0;  // preprocessing + engine
  double threshold = 0;   // change gate: the threshold the frame ran with (latency budget included)
  size_t state_bytes = 0;
  // The executed grid A_t, row-major; valid until the next frame.
  const uint8_t* grid = nullptr;
  int grid_cols = 0, grid_rows = 0, block_size = 0;
  // Policy gate only: its last frame's figures.
  bool policy = false;
  double policy_ms = 0;         // forward + information gain + backward + update
  double information_gain = 0;  // mean IG over the blocks (0 before the second frame)
  double reward = 0;            // mean reward of the last update
  double cost = 0;              // C_t: the executed fraction the trainer saw
  double running_cost = 0;      // M_t
};

// One output tensor of the last frame.
struct BlockCopyTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::shared_ptr<const std::vector<uint8_t>> data;  // float32
};

class BlockCopyDriver {
 public:
  // Loads the model and its description; throws ModelError / Error
  // (DescriptionError for a description that cannot be read).
  void open(const BlockCopySettings& settings);
  void close();
  // Compiles the engine for frames of this size unless the current one fits;
  // returns true when it was (re)built. With the policy gate, a new engine
  // gets a new gate, started from the policy file when it exists. Throws
  // Error; a policy file that cannot be loaded throws PolicyFileError.
  bool configure(int frame_width, int frame_height);
  // Writes the policy gate to the policy file (when both exist); throws
  // PolicyFileError. close() does not save: the element calls this first.
  void save_policy();
  // Settings that may change while playing (the threshold, the cost target, the latency budget).
  void update(const BlockCopySettings& settings);
  // New stream, flush, caps change: the next frame executes every block.
  void reset();
  // Runs one frame and decodes it; throws Error.
  BlockCopyFrameStats infer(const FrameView& frame);

  const std::vector<BlockCopyTensor>& outputs() const { return outputs_; }
  const ModelDescription& description() const { return description_; }
  // The description's decoder's results on the last frame: detections in
  // frame pixels, and a segmentation's 8-bit class map over the frame.
  const std::vector<Detection>& detections() const { return detections_; }
  const std::shared_ptr<const std::vector<uint8_t>>& class_map() const { return class_map_; }
  int class_map_width() const { return class_map_width_; }
  int class_map_height() const { return class_map_height_; }
  // The description's class names, else the model's (sparseinfer::class_labels).
  const std::vector<std::string>& labels() const { return labels_; }
  int frame_width() const { return frame_width_; }
  int frame_height() const { return frame_height_; }
  const std::string& model_name() const { return model_name_; }
  int network_width() const { return net_width_; }
  int network_height() const { return net_height_; }

 private:
  BlockCopySettings settings_;
  ModelDescription description_;
  PreprocessOptions preprocess_;  // sizes set per frame
  std::vector<std::string> labels_;
  std::shared_ptr<policy::PolicyBlockGate> policy_;
  std::string model_name_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<StreamState> state_;
  Tensor input_;
  int net_width_ = 0, net_height_ = 0;
  std::vector<BlockCopyTensor> outputs_;
  std::vector<uint8_t> grid_;
  std::vector<Detection> detections_;
  std::shared_ptr<const std::vector<uint8_t>> class_map_;
  int class_map_width_ = 0, class_map_height_ = 0;
  int frame_width_ = 0, frame_height_ = 0;
  LatencyBudgetController budget_;  // change gate
};

// The policy file could not be read or written; the message names the file.
class PolicyFileError : public Error {
 public:
  using Error::Error;
};

}  // namespace sparseinfer::gst

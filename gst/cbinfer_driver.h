// The machinery behind cbinferconv, free of GObject: loads a model and its
// description (MODEL.onnx.json or metadata_props), compiles an engine for the
// frame size, keeps one stream's state, decides which frames run the network
// (inference interval, QoS) and runs them through preprocessing, the engine
// and the decoder. The results of the last inference are held for the frames
// that skip it. The element glue owns one of these and calls it from its
// streaming thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/latency_budget.h"
#include "element_support.h"
#include "frame_view.h"
#include "gstsparseinfertensormeta.h"
#include "shared_engine.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/gumbel_gates.h"
#include "sparseinfer/model.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/sparsity_controller.h"
#include "sparseinfer/stream_batcher.h"
#include "sparseinfer/thresholds.h"

namespace sparseinfer::gst {

// The detection decoder lives in the core (sparseinfer/decode.h).
using sparseinfer::Detection;
using sparseinfer::DetectionParams;

// Everything cbinferconv's properties set; the element keeps one under its
// object lock and hands the driver a copy.
struct CbinferSettings {
  std::string model_path;
  Mode mode = Mode::Change;
  std::string gate = "threshold";  // change mode: the gate kind (EngineOptions::gate, docs/gates.md)
  Backend backend = Backend::Auto;
  int threads = 0;
  // Network input size; 0 takes the model's declared size, or the frame's
  // own when the model declares none (fully convolutional models).
  int input_width = 0;
  int input_height = 0;
  bool rgb = true;                                  // channel order the network expects (false: BGR)
  std::array<double, 3> mean{0.485, 0.456, 0.406};  // ImageNet, on values in [0, 1]
  std::array<double, 3> std{0.229, 0.224, 0.225};
  // How many values the mean and std properties were given; anything but 3 is
  // refused at start (validate_settings), the arrays then keep their last values.
  unsigned mean_count = 3, std_count = 3;
  std::optional<GstSparseinferTask> task;  // none: the description's decoder, else guessed from the outputs
  float threshold = 0.1f;                  // every detecting layer
  std::string thresholds_file;             // per-layer thresholds overriding `threshold`
  float threshold_scale = 1.0f;            // factor on every threshold
  // Change mode: frame time (ms) the thresholds follow, through a factor on
  // threshold_scale (core/control/latency_budget.h); 0: off.
  double latency_budget_ms = 0;
  std::string gates_file;           // Skip-Conv Gumbel gates (docs/gumbel-gates.md); empty: the threshold gate
  unsigned refresh_interval = 0;    // a dense frame every Nth (0: never)
  unsigned inference_interval = 1;  // the network on every Nth frame only
  DetectionParams detection;
  ExplicitProperties set;  // which of the above override the model description
  bool emit_stats = false;
  // Elements of one process with the same id share the model and its
  // compiled engine (empty: a private one); see engine_cache.h.
  std::string model_instance_id;
  // With an instance id: the frames of its streams run as one batch, each
  // waiting at most this long for the others (0: each stream runs alone).
  int64_t batch_timeout_us = 0;
  // SparseTem online thresholds: the share of output pixels each gated layer
  // leaves alone (0: off, the thresholds stay as set).
  double target_sparsity = 0.0;
};

// The preprocessing a frame gets: the description's (its scale folded into
// mean and std on [0, 1] pixel values) with the mean, std and channel-order
// properties that were set on top, or the properties alone without a description.
PreprocessOptions effective_preprocess(const ModelDescription& description, const CbinferSettings& settings);

// The detection parameters: the description's, with the score-threshold,
// nms-threshold and max-detections properties that were set on top.
DetectionParams effective_detection(const ModelDescription& description, const CbinferSettings& settings);

// The task a description's decoder produces (unknown for none).
GstSparseinferTask decoder_task(DecoderKind kind);
// The settings that decide the compiled engine, which the elements sharing
// a model-instance-id must agree on, in the order they are compared.
std::vector<std::pair<std::string, std::string>> engine_spec(const CbinferSettings& settings);

// A property value the driver cannot run with; names the property.
class SettingError : public Error {
 public:
  SettingError(std::string property, const std::string& message) : Error(message), property_(std::move(property)) {}
  const std::string& property() const { return property_; }

 private:
  std::string property_;
};

// Refuses settings that would turn every frame into NaN (a zero std, a mean or
// std without one value per channel); throws SettingError. open() calls it.
void validate_settings(const CbinferSettings& settings);
// Why latency-budget and target-sparsity are not both on (refused at start,
// ignored with a warning when set while the other runs).
extern const char* const kBudgetOrTargetProblem;

// Why the model's outputs cannot be decoded as detections (heatmap
// [1,K,h,w] + boxes [1,4,h,w]), or "" when they can.
std::string detection_outputs_problem(const Model& model);

// One output tensor of the last inference; the data is shared by every frame that carries it.
struct HeldTensor {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<int64_t> dims;
  std::shared_ptr<const std::vector<uint8_t>> data;
};

// What happened on one frame.
struct CbinferFrameStats {
  bool inferred = false;
  bool qos_skipped = false;  // it was due, but would have been late
  bool dense_frame = false;
  bool refresh_frame = false;   // change mode's refresh (refresh-interval): threshold 0, equals dense
  double changed_fraction = 0;  // of the first layer's mask
  double mac_fraction = 0;
  int64_t macs_executed = 0, macs_dense = 0;
  double process_ms = 0;
  double threshold_scale = 0;  // inferred change-mode frames: the scale they ran with (budget factor included)
  size_t state_bytes = 0;
  std::vector<double> layer_changed_fractions;  // inferred frames: per engine layer
  // target-sparsity on, change frames: the gated layers' mean sparsity and
  // the share of them in the band (< 0 otherwise).
  double gated_sparsity = -1, sparsity_in_band = -1;
  // Inferred frames: the first detecting layer's mask on the network input grid
  // (all ones in dense mode); valid until the next frame.
  const uint8_t* mask = nullptr;
  int mask_width = 0, mask_height = 0;
};

// Totals since start (the element's "stats" property).
struct CbinferTotals {
  uint64_t frames = 0;
  uint64_t inferred = 0;
  uint64_t dense = 0;
  uint64_t refresh = 0;
  uint64_t qos_skipped = 0;
  double changed_fraction = 0;  // sums over inferred frames
  double mac_fraction = 0;
  double ms = 0;

  void add(const CbinferFrameStats& frame);
};

class CbinferDriver {
 public:
  // Loads the model and the thresholds file and settles the task; throws
  // ModelError / Error. A backend that cannot run is reported here too.
  void open(const CbinferSettings& settings);
  void close();
  bool is_open() const { return model_ != nullptr; }

  // Compiles the engine for frames of this size unless the current one
  // already fits; returns true when it was (re)built. Throws Error.
  bool configure(int frame_width, int frame_height);
  bool configured() const { return engine_ != nullptr || batcher_ != nullptr; }
  // After configure() failed on a frame size the network cannot take: the
  // closest smaller size (multiples of 2..32) it compiles for, when one exists.
  std::optional<std::pair<int, int>> suggest_input_size(int frame_width, int frame_height) const;
  // The network input size follows the frame size.
  bool input_follows_frame() const;

  // Guess from the graph outputs: "heatmap"+"boxes" -> detection, one
  // [N, C] output -> classification, one [N, C, H, W] -> segmentation.
  GstSparseinferTask guess_task() const;
  // The task property's, else the description's decoder's, else the guess.
  GstSparseinferTask task() const { return task_; }
  // The model's description (present false when it has none).
  const ModelDescription& description() const { return description_; }
  // The decoder that runs: the description's, unless the task property
  // asked for another task (then today's decoding of that task).
  DecoderKind decoder() const { return decoder_; }
  // The class id a segmentation's class map calls background (-1: none).
  int background_class() const { return decoder_ == DecoderKind::Segmentation ? 0 : -1; }

  // Takes the settings that may change while playing: thresholds (applied to
  // the stream state when they changed), intervals and detection parameters.
  void update(const CbinferSettings& settings);

  // New stream, flush, caps change, a gap beyond reset-gap: the next frame
  // is computed densely, and the held results are dropped.
  void reset();

  // Whether frame `frame_index` is due for inference: every
  // inference-interval-th frame, and any frame while nothing is held.
  bool due(uint64_t frame_index) const;
  // Whether inferring frame `frame_index` now computes it densely, or (change
  // mode) gives a dense frame's result: dense mode, the first frame after a
  // reset, or a refresh (refresh-interval frames or more since the last one;
  // a refresh skipped by QoS comes on the next inferred frame).
  bool next_is_dense(uint64_t frame_index) const;

  // Whether frame `frame_index` (since the reset) runs the network: every
  // inference-interval-th frame, unless it `would_be_late` (QoS) and there are
  // results to hold. The first frame after a reset always does.
  bool should_infer(uint64_t frame_index, bool would_be_late, bool* qos_skip) const;

  // Runs frame `frame_index` through the network (a dense refresh every
  // refresh-interval frames), decodes detections in frame pixels and holds the
  // results. Throws Error.
  CbinferFrameStats infer(uint64_t frame_index, const FrameView& frame);
  // Stats of a frame that keeps the held results.
  CbinferFrameStats hold(bool qos_skipped) const;

  // The results of the last inference.
  const std::vector<HeldTensor>& held_tensors() const { return held_; }
  const std::vector<Detection>& held_detections() const { return held_detections_; }  // frame pixels
  // Segmentation with a description: a class id per frame pixel of a
  // width x height grid covering the frame (letterbox bars cropped); empty otherwise.
  const std::shared_ptr<const std::vector<uint8_t>>& held_class_map() const { return held_class_map_; }
  int class_map_width() const { return class_map_width_; }
  int class_map_height() const { return class_map_height_; }
  bool has_results() const { return !held_.empty(); }

  // The model's file name (the model name on metas) and its class names
  // (the description's, else sparseinfer::class_labels; empty when it has none).
  const std::string& model_name() const { return model_name_; }
  const std::vector<std::string>& labels() const { return labels_; }

  const Model& model() const { return *model_; }
  // Unbatched only: the engine and this stream's state.
  const Engine& engine() const { return *engine_; }
  const StreamState& state() const { return *state_; }
  // Frames go through the shared instance's batcher.
  bool batched() const { return batcher_ != nullptr; }
  int network_width() const { return net_width_; }
  // The frame size of the last configure().
  int frame_width() const { return frame_width_; }
  int frame_height() const { return frame_height_; }
  int network_height() const { return net_height_; }

 private:
  void apply_thresholds_to_state();
  // Takes a new latency budget (unbatched change mode) and sets threshold-scale
  // times the budget's factor on the stream state.
  void apply_budget_scale(double budget_ms);
  void follow_target_sparsity();
  void hold_class_map(const DecodeResult& decoded);

  CbinferSettings settings_;
  GstSparseinferTask task_ = GST_SPARSEINFER_TASK_UNKNOWN;
  ModelDescription description_;
  DecoderKind decoder_ = DecoderKind::None;
  PreprocessOptions preprocess_;  // sizes set per frame
  ModelDescription decode_with_;  // description_ with the effective detection parameters
  std::string model_name_;
  std::vector<std::string> labels_;
  std::shared_ptr<const Model> model_;
  std::shared_ptr<const ThresholdSet> thresholds_;
  // Read from settings.gates_file; null: the threshold gate.
  std::shared_ptr<const GumbelGateSet> gumbel_gates_;
  std::shared_ptr<SharedEngine> shared_;    // with a model-instance-id
  std::shared_ptr<const Engine> engine_;    // the instance's, or a private one
  std::unique_ptr<StreamState> state_;      // unbatched: this stream's
  std::shared_ptr<StreamBatcher> batcher_;  // batched: the instance's
  int slot_ = -1;                           // batched: this stream's item
  Tensor input_;
  int net_width_ = 0, net_height_ = 0;
  int frame_width_ = 0, frame_height_ = 0;
  uint64_t last_dense_index_ = 0;  // frame index of the last dense or refresh frame since the reset
  std::vector<HeldTensor> held_;
  std::vector<Detection> held_detections_;
  std::shared_ptr<const std::vector<uint8_t>> held_class_map_;
  int class_map_width_ = 0, class_map_height_ = 0;
  std::vector<uint8_t> mask_;
  LatencyBudgetController budget_;  // unbatched change mode
  // target-sparsity on, unbatched change mode: this stream's online thresholds.
  std::unique_ptr<SparsityController> sparsity_;
};

}  // namespace sparseinfer::gst

// Saliency dual-stream inference (paper 000, §2-§3): a large network Phi runs
// on some frames and emits saliency maps from its gates; a small network Phi'
// runs on the other frames at half resolution and fuses those maps, decayed by
// exp(-k/tau) where k is the number of frames since the last Phi run.
//
// SaliencySchedule decides which network runs on a frame (pure, no engines);
// DualStreamRunner hosts both engines; DualStreamState is one video stream's
// memory between frames. Model contract: examples/models/saliency (CONTRACT6).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

// exp(-k / tau): how much of Phi's saliency Phi' trusts k frames later (§2.2).
// k < 0 or tau <= 0 throw Error.
float saliency_decay(int64_t k, float tau);

// Classes of the contract's models, in output order.
inline constexpr int kSaliencyClasses = 3;
// Phi's saliency map outputs (and Phi''s matching inputs), in output order.
inline constexpr const char* kSaliencyMapNames[2] = {"saliency_a", "saliency_b"};

enum class DualStream : int {
  Large = 0,  // Phi: full resolution, emits the saliency maps
  Small = 1,  // Phi': half resolution, fuses the last Phi maps
};

const char* dual_stream_name(DualStream s);  // "large" / "small"

enum class ScheduleKind { Fixed, Adaptive };

const char* schedule_kind_name(ScheduleKind k);  // "fixed" / "adaptive"

// Why the schedule picked the stream it picked (for statistics and tests).
enum class ScheduleReason {
  FirstFrame,   // Large: first frame after a reset (there are no maps yet)
  Period,       // Large: k reached the period T
  SceneChange,  // Large (adaptive): change fraction >= change_trigger
  LowMargin,    // Large (adaptive): the last Phi' margin < margin_trigger
  MaxPeriod,    // Large (adaptive): k reached max_period
  NotDue,       // Small: nothing asks for Phi
  Still,        // Small (adaptive): period reached, but the scene is still and Phi' confident
  OverBudget,   // Small (adaptive): Phi was wanted but the cost budget has no room
  Forced,       // the caller chose the stream (StreamChoice::Large / Small)
};

const char* schedule_reason_name(ScheduleReason r);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::Fixed;
  // T: fixed runs Phi when k would reach T (T = 1: Phi on every frame).
  // Adaptive: the regular period, stretched when still, shortened on change.
  int period = 3;

  // --- adaptive only ---
  // Ceiling on the average cost per frame, as a fraction of Phi's dense MACs.
  // Must be at least Phi''s own cost fraction (Phi' runs on every other frame).
  double max_cost = 0.35;
  // Largest k before Phi is wanted regardless of stillness; 0: 2 * period.
  int max_period = 0;
  // Run Phi early when this share of pixels changed since the last Phi frame.
  double change_trigger = 0.15;
  // Run Phi early when the previous Phi' frame's top1 - top2 probability < this.
  double margin_trigger = 0.2;
  // Still scene: change fraction <= still_change and the last Phi' margin >=
  // still_margin; the period is then stretched up to max_period.
  double still_change = 0.02;
  double still_margin = 0.5;
  // Credit the budget may save during cheap stretches, in Phi runs (>= 1).
  double burst = 2.0;
};

// Inputs of one decision, all known before the frame runs.
struct ScheduleSignals {
  double change_fraction = 1.0;  // scene change since the last Phi frame, [0, 1]
  bool has_margin = false;       // false: the previous frame was not a Phi' frame
  double margin = 0.0;           // the previous Phi' frame's top1 - top2 probability
};

struct ScheduleDecision {
  DualStream stream = DualStream::Large;
  int64_t k = 0;  // frames since the last Phi run (0 on a Phi frame)
  ScheduleReason reason = ScheduleReason::FirstFrame;
};

// Which network runs on each frame of one stream. Deterministic: the same
// options and the same signals give the same decisions.
//
// Adaptive budget: a token bucket in units of Phi's dense cost. Every frame
// adds max_cost; each frame's actual cost is taken out (commit()). Phi is
// chosen only if the level stays >= 0 after paying one full Phi run; Phi'
// always fits because its cost is <= max_cost. The first frame's Phi is the
// only overdraft, so over the n frames since a reset the spent cost is at most
// n * max_cost + (1 - max_cost).
class SaliencySchedule {
 public:
  // Throws Error for a period < 1, max_period < period, a max_cost outside
  // (0, 1], a burst < 1 or triggers outside [0, 1].
  explicit SaliencySchedule(const ScheduleOptions& options = {});

  // Picks the stream for the next frame. Call commit() after it ran.
  ScheduleDecision decide(const ScheduleSignals& signals) const;
  // Records what the frame cost (MACs / Phi's dense MACs; 1 for a dense Phi run).
  void commit(const ScheduleDecision& decision, double cost);
  // Forgets the past: the next frame runs Phi.
  void reset();

  const ScheduleOptions& options() const { return options_; }
  int effective_max_period() const;
  int64_t frames() const { return frames_; }  // committed since the reset
  bool has_large() const { return has_large_; }
  int64_t frames_since_large() const { return frames_since_large_; }
  double credit() const { return credit_; }          // budget level, Phi runs
  double spent_cost() const { return spent_cost_; }  // sum of committed costs

 private:
  ScheduleOptions options_;
  int64_t frames_ = 0;
  bool has_large_ = false;
  int64_t frames_since_large_ = 0;
  double credit_ = 0.0;
  double spent_cost_ = 0.0;
};

struct DualStreamOptions {
  std::string large_model;  // saliency_large.onnx (Phi)
  std::string small_model;  // saliency_small.onnx (Phi')
  Backend backend = Backend::Auto;
  int threads = 0;
  float decay_tau = 10.0f;  // tau of exp(-k/tau)
  ScheduleOptions schedule;
  // Phi' in change mode (CBinfer) with this threshold on every detecting layer.
  Mode small_mode = Mode::Dense;
  float small_threshold = 0.0f;
  // A pixel of Phi''s (half-resolution) input counts as changed when the
  // largest |difference| over its three channels, in [0, 1] pixel units
  // (normalization undone), exceeds this, compared with the frame of the last
  // Phi run. change_fraction is the share of such pixels.
  float change_pixel_threshold = 0.08f;
  PreprocessOptions preprocess;  // mean/std; sizes come from the models
};

// What happened on one frame.
struct DualStreamResult {
  DualStream stream = DualStream::Large;
  ScheduleReason reason = ScheduleReason::FirstFrame;
  int64_t frame_index = 0;                              // frames since the stream's last reset, from 0
  int64_t k = 0;                                        // frames since the last Phi run (0 on a Phi frame)
  float decay = 1.0f;                                   // exp(-k/tau) fed to Phi' (1 on a Phi frame)
  std::array<float, kSaliencyClasses> probabilities{};  // softmax of the logits
  int label = 0;                                        // argmax of probabilities
  double margin = 0.0;                                  // top1 - top2 probability of this frame
  double change_fraction = 1.0;                         // vs the last Phi frame; 1 on the first frame
  int64_t macs = 0;                                     // executed on this frame (FrameResult::macs_executed)
  double cost = 0.0;                                    // macs / Phi's dense MACs
  double ms = 0.0;                                      // wall time: preprocessing, change fraction, network
};

class DualStreamRunner;

// One video stream's memory between frames: both engines' stream states, a
// copy of the last Phi frame's saliency maps, its frame index, the schedule
// and the half-resolution input of the last Phi frame (for change_fraction).
class DualStreamState {
 public:
  ~DualStreamState();
  DualStreamState(const DualStreamState&) = delete;
  DualStreamState& operator=(const DualStreamState&) = delete;

  // After a flush, seek, discontinuity or new stream: the next frame runs Phi.
  void reset();

  // Frames run since the reset (each frame commits one schedule decision).
  int64_t frame_index() const { return schedule_.frames(); }
  // Frame index of the last Phi run, -1 when none since the reset.
  int64_t last_large_frame() const {
    return schedule_.has_large() ? schedule_.frames() - 1 - schedule_.frames_since_large() : -1;
  }
  // Copies of the last Phi frame's saliency maps (saliency_a, saliency_b);
  // empty tensors when there was no Phi run since the reset.
  const std::vector<Tensor>& saliency_maps() const { return maps_; }
  const SaliencySchedule& schedule() const { return schedule_; }
  StreamState& large_state() { return *large_; }
  StreamState& small_state() { return *small_; }
  size_t state_bytes() const;

 private:
  friend class DualStreamRunner;
  explicit DualStreamState(const DualStreamRunner& runner);

  std::unique_ptr<StreamState> large_, small_;
  SaliencySchedule schedule_;
  std::vector<Tensor> maps_;
  Tensor reference_;  // Phi''s input at the last Phi frame
  Tensor large_input_, small_input_, decay_;
  bool has_margin_ = false;
  double last_margin_ = 0.0;
};

// Which stream run() uses: the schedule's choice, or one forced by the caller
// (evaluation protocols). Forcing Small before any Phi run throws Error.
enum class StreamChoice { Schedule, Large, Small };

// Loads, validates and compiles Phi and Phi' (dense Phi, Phi' in
// options.small_mode). Immutable afterwards and shareable between streams.
class DualStreamRunner {
 public:
  // Throws ModelError naming the file when a model is missing, unreadable or
  // does not follow the contract (input/output names and shapes, 3 classes,
  // Phi''s map inputs the shape of Phi's map outputs, half-resolution frame),
  // Error for invalid options.
  explicit DualStreamRunner(const DualStreamOptions& options);
  ~DualStreamRunner();
  DualStreamRunner(const DualStreamRunner&) = delete;
  DualStreamRunner& operator=(const DualStreamRunner&) = delete;

  std::unique_ptr<DualStreamState> new_stream() const;

  // Runs one 8-bit frame: resized to Phi's input size and to half of it (the
  // contract's 2x2 average when the frame already has Phi's size).
  DualStreamResult run(DualStreamState& state, const uint8_t* pixels, int width, int height, int stride,
                       PixelFormat format, StreamChoice choice = StreamChoice::Schedule) const;
  // Runs preprocessed inputs: [1,3,H,W] for Phi and [1,3,H/2,W/2] for Phi'
  // (both normalized; the half-resolution one also drives change_fraction).
  DualStreamResult run(DualStreamState& state, const Tensor& large_input, const Tensor& small_input,
                       StreamChoice choice = StreamChoice::Schedule) const;

  const DualStreamOptions& options() const { return options_; }
  const Engine& large_engine() const { return *large_; }
  const Engine& small_engine() const { return *small_; }
  int input_width() const { return width_; }  // Phi's input size
  int input_height() const { return height_; }
  int small_input_width() const { return small_width_; }
  int small_input_height() const { return small_height_; }
  int64_t large_macs() const;        // Phi's dense MACs per frame
  int64_t small_macs_dense() const;  // Phi''s dense MACs per frame
  // Class names from Phi's "labels" metadata (class_labels), empty when it has none.
  const std::vector<std::string>& labels() const { return labels_; }

 private:
  DualStreamResult run_inputs(DualStreamState& state, StreamChoice choice, double preprocess_ms) const;

  DualStreamOptions options_;
  std::unique_ptr<Engine> large_, small_;
  int width_ = 0, height_ = 0, small_width_ = 0, small_height_ = 0;
  // Indexes into the engines' input/output lists, resolved by name.
  size_t large_logits_ = 0;
  std::array<size_t, 2> large_maps_{};
  size_t small_frame_ = 0, small_decay_ = 0;
  std::array<size_t, 2> small_maps_{};
  size_t small_logits_ = 0;
  std::vector<std::string> labels_;
};

}  // namespace sparseinfer

// The machinery behind cbinferconv, free of GObject: loads a model, compiles
// an engine for the frame size, keeps one stream's state and runs frames
// through preprocessing and the engine. The element glue owns one of these
// and calls it from its streaming thread.
#pragma once

#include <memory>
#include <string>

#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/thresholds.h"

namespace sparseinfer::gst {

// How a consumer reads the outputs (mirrors GstSparseinferTask).
enum class Task { Unknown, Segmentation, Classification, Detection };

struct DriverSettings {
  std::string model_path;
  Mode mode = Mode::Change;
  Backend backend = Backend::Auto;
  int threads = 0;
  // Network input size; 0 takes the model's declared size, or the frame's
  // own when the model declares none (fully convolutional models).
  int input_width = 0;
  int input_height = 0;
  PreprocessOptions preprocess;
  float threshold = 0.0f;       // every detecting layer
  std::string thresholds_file;  // per-layer thresholds overriding `threshold`
};

class CbinferDriver {
 public:
  // Loads the model and the thresholds file; throws ModelError / Error.
  // A backend that cannot run is reported here too.
  void open(const DriverSettings& settings);
  void close();
  bool is_open() const { return model_ != nullptr; }

  // Compiles the engine for frames of this size unless the current one
  // already fits; returns true when it was (re)built. Throws Error.
  bool configure(int frame_width, int frame_height);
  bool configured() const { return engine_ != nullptr; }
  // The network input size follows the frame size.
  bool input_follows_frame() const;

  // Guess from the graph outputs: "heatmap"+"boxes" -> detection, one
  // [N, C] output -> classification, one [N, C, H, W] -> segmentation.
  Task guess_task() const;

  // Next frame is computed densely (flush, discontinuity, new stream).
  void reset();
  void set_threshold(float threshold);
  void set_threshold_scale(float scale);

  // Preprocesses and runs one frame; the result's tensors stay valid until
  // the next call. Throws Error.
  FrameResult infer(const uint8_t* pixels, int width, int height, int stride, PixelFormat format);

  const Model& model() const { return *model_; }
  const Engine& engine() const { return *engine_; }
  const StreamState& state() const { return *state_; }
  int network_width() const { return net_width_; }
  int network_height() const { return net_height_; }

 private:
  void apply_thresholds_to_state();

  DriverSettings settings_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ThresholdSet> thresholds_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<StreamState> state_;
  Tensor input_;
  int net_width_ = 0, net_height_ = 0;
  float threshold_scale_ = 1.0f;
};

}  // namespace sparseinfer::gst

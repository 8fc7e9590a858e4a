// The machinery behind saliencyscheduler, free of GObject: loads the large
// and the small network with their descriptions (MODEL.onnx.json or
// metadata_props: preprocessing and class names), keeps one stream's
// dual-stream state and runs frames through the schedule. The element glue owns one of these and calls it from
// its streaming thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "frame_view.h"
#include "sparseinfer/dual_stream.h"
#include "sparseinfer/model_description.h"

namespace sparseinfer::gst {

// Everything saliencyscheduler's properties set; the element keeps one under
// its object lock and hands the driver a copy.
struct SaliencySettings {
  DualStreamOptions options;  // models, schedule, decay, small model mode, backend, threads
  bool emit_stats = false;
  // Elements of one process with the same id share both compiled networks
  // (empty: private ones); see engine_cache.h.
  std::string model_instance_id;
};

// The settings the shared runner holds, which the elements sharing a
// model-instance-id must agree on: (property, value), in compared order.
std::vector<std::pair<std::string, std::string>> runner_spec(const SaliencySettings& settings);

class SaliencyDriver {
 public:
  // Loads and checks both models (or takes the instance's); throws
  // ModelError / Error, InstanceMismatch naming a property, and
  // DescriptionError for a description that cannot be read or whose
  // preprocessing differs between the two models (they share one input).
  void open(const SaliencySettings& settings);
  void close();
  bool is_open() const { return runner_ != nullptr; }

  // New stream, flush, caps change, discontinuity: the next frame runs the large model.
  void reset();

  // Runs one frame through the network the schedule picks. Throws Error.
  DualStreamResult run(const FrameView& frame);

  // The file name of the model that ran `stream` (the model name on metas).
  const std::string& model_name(DualStream stream) const {
    return stream == DualStream::Large ? large_name_ : small_name_;
  }
  const DualStreamRunner& runner() const { return *runner_; }
  // Class names: the large model's description's, else its "labels" metadata.
  const std::vector<std::string>& labels() const { return labels_; }
  const ModelDescription& description() const { return description_; }
  const DualStreamState& state() const { return *state_; }

 private:
  std::shared_ptr<const DualStreamRunner> runner_;
  std::unique_ptr<DualStreamState> state_;
  std::string large_name_, small_name_;
  std::vector<std::string> labels_;
  ModelDescription description_;  // the large model's
};

}  // namespace sparseinfer::gst

// Glue every sparseinfer element needs the same way: model-file checks and
// load errors posted as element errors a person can act on, the mapping of
// raw video formats to the core's pixel formats, class names on metas, and
// the processing latency reported to the pipeline.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sparseinfer-meta.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/preprocess.h"

namespace sparseinfer::gst {

// A model description (MODEL.onnx.json or the model's metadata_props) that
// cannot be read; the message names the file and the field.
class DescriptionError : public Error {
 public:
  using Error::Error;
};

// The file name without its folders (the model name on metas and messages).
std::string base_name(const std::string &path);

// Posts RESOURCE/NOT_FOUND when `property` is unset or names no file.
bool check_model_file(GstElement *element, const std::string &path, const char *property);

// To be called from a catch block around model loading: posts the current
// exception as an element error. A ModelError naming a node means the file
// parsed but uses something we cannot run (LIBRARY/INIT); one without a node
// means the file itself is bad (RESOURCE/READ); another sparseinfer::Error is
// a settings problem with `models` (LIBRARY/SETTINGS); anything else FAILED.
void post_load_error(GstElement *element, const std::string &models);

// True when `event` is a STREAM_START whose stream-id differs from
// `stream_id` (a new stream: its state must be forgotten); `stream_id` then
// takes the new id.
bool starts_new_stream(GstEvent *event, std::string &stream_id);

// Formats outside the elements' caps never reach this; RGB is the fallback.
PixelFormat pixel_format(GstVideoFormat format);

// Folds `pre.scale` into its mean and std so that they apply to pixel values
// in [0, 1] (scale 1/255), the unit of the elements' mean and std properties:
// (x * scale - m) / s equals (x / 255 - m / (255 scale)) / (s / (255 scale)).
// A zero scale is left alone.
void to_unit_scale(PreprocessOptions &pre);

// The properties that override the model description when they were set
// (a property left at its default yields to the description).
struct ExplicitProperties {
  bool mean = false, std = false, channel_order = false;
  bool score_threshold = false, nms_threshold = false, max_detections = false;
};

// The preprocessing a frame gets: the description's (its scale folded into
// mean and std on [0, 1] pixel values) with the mean, std and channel-order
// properties that were `set` on top, or the properties alone without a description.
PreprocessOptions effective_preprocess(const ModelDescription &description, const std::array<double, 3> &mean,
                                       const std::array<double, 3> &std, bool rgb, const ExplicitProperties &set);

// A decoded segmentation's class ids as the 8-bit "class_map" tensor; throws
// Error for an id outside 0..255.
std::shared_ptr<const std::vector<uint8_t>> class_map_bytes(const DecodeResult &decoded);

// Detections (frame pixels) as GstVideoRegionOfInterestMeta on `buf`, named
// after `labels` (else "class-N"), each with a DL Streamer "detection" parameter.
void attach_detections(GstBuffer *buf, const std::vector<Detection> &detections, const std::vector<std::string> &labels,
                       int frame_width, int frame_height);

// The decoded boxes as the tensor "detections" on `meta`: [N, 6] of x1, y1,
// x2, y2 (frame pixels), confidence, class id.
void add_detections_tensor(GstSparseinferTensorMeta *meta, const std::vector<Detection> &detections);

// Puts the model's class names (sparseinfer::class_labels) on `meta`; none when empty.
void set_meta_labels(GstSparseinferTensorMeta *meta, const std::vector<std::string> &labels);

// The "sparseinfer-frame-stats" structure of an emit-stats element message:
// the statistics plus the buffer's "timestamp" and "running-time" in the
// element's segment. The caller may add fields before posting it.
GstStructure *frame_stats_structure(GstBaseTransform *trans, GstBuffer *buf, const GstSparseinferFrameStats *stats);

// The kinds of frame an element produces, each with its own processing time:
// full (dense: the first after a reset, refreshes; the large model) and
// incremental (change mode; the small model).
enum class FrameKind { Full = 0, Incremental = 1 };
constexpr int kFrameKinds = 2;

// Processing time per kind of frame. The reported latency covers the slowest
// kind; QoS predicts a frame with the cost of its own kind.
struct LatencyEstimate {
  // Per kind, 0 until one was measured: rises at once to a slower frame and
  // falls slowly, so the latency covers the frames actually produced.
  double smoothed_ms[kFrameKinds] = {0, 0};
  // QoS: the prediction shrinks while frames of that kind are skipped, and a
  // frame is inferred anyway after a run of skips (a probe); both end with the
  // next measurement.
  double qos_factor[kFrameKinds] = {1, 1};
  unsigned qos_skips[kFrameKinds] = {0, 0};
  // The kinds the latency covers: those the element produces in steady state.
  bool covered[kFrameKinds] = {true, true};

  // The latency to report: the slowest covered kind with headroom (0 until
  // one was seen: a kind left out never delays the pipeline).
  double bound_ms() const;
  // The predicted cost of a frame of `kind` (a kind not yet seen costs as the slowest).
  double predicted_ms(FrameKind kind) const;
  // A frame of `kind` would be late at its predicted cost: true to skip it, or
  // false to probe after too many skips in a row.
  bool skip_late(FrameKind kind);
};

// Adds one frame's processing time to `estimate`. When the latency bound has
// moved enough from `*reported` (the value the element answers latency queries
// with, read and written under the element's object lock), stores it there and
// posts a LATENCY message so the pipeline asks again.
void update_latency(GstElement *element, LatencyEstimate &estimate, FrameKind kind, GstClockTime *reported, double ms);

// Adds an element's own latency (`*ours`, read under its object lock) to a
// LATENCY query that upstream has answered.
void add_latency(GstElement *element, GstQuery *query, const GstClockTime *ours);

// The mean and std properties: a GstValueArray of doubles, one per network
// input channel, settable in READY.
GParamSpec *value_array_spec(const gchar *name, const gchar *nick, const gchar *blurb);
// Reads up to three numbers (double, float or int) into `out`; returns how
// many values the array held, so that start can refuse any other count.
unsigned set_value_array(const GValue *value, std::array<double, 3> &out);
void get_value_array(GValue *value, const std::array<double, 3> &in);

}  // namespace sparseinfer::gst

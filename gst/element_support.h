// Glue every sparseinfer element needs the same way: model-file checks and
// load errors posted as element errors a person can act on, the mapping of
// raw video formats to the core's pixel formats, class names on metas, and
// the processing latency reported to the pipeline.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <string>
#include <vector>

#include "sparseinfer-meta.h"
#include "sparseinfer/preprocess.h"

namespace sparseinfer::gst {

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

// Puts the model's class names (sparseinfer::class_labels) on `meta`; none when empty.
void set_meta_labels(GstSparseinferTensorMeta *meta, const std::vector<std::string> &labels);

// The "sparseinfer-frame-stats" structure of an emit-stats element message:
// the statistics plus the buffer's "timestamp" and "running-time" in the
// element's segment. The caller may add fields before posting it.
GstStructure *frame_stats_structure(GstBaseTransform *trans, GstBuffer *buf, const GstSparseinferFrameStats *stats);

// Smoothed processing time of the frames that bound an element's latency.
struct LatencyEstimate {
  double smoothed_ms = 0;  // 0 until the first frame
};

// Adds one frame's processing time to `estimate`. When the smoothed value has
// moved enough from `*reported` (the value the element answers latency queries
// with, read and written under the element's object lock), stores it there and
// posts a LATENCY message so the pipeline asks again.
void update_latency(GstElement *element, LatencyEstimate &estimate, GstClockTime *reported, double ms);

// Adds an element's own latency (`*ours`, read under its object lock) to a
// LATENCY query that upstream has answered.
void add_latency(GstElement *element, GstQuery *query, const GstClockTime *ours);

}  // namespace sparseinfer::gst

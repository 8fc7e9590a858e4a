// One frame's results as sparseinferpublish sends them: a plain record made
// from the buffer's metas, and its JSON line. Free of GObject.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparseinfer::gst {

struct RecordDetection {
  std::string label;
  int label_id = -1;
  double x = 0, y = 0, width = 0, height = 0;  // frame pixels
  double score = 0;
};

// Share of the segmentation map's pixels per class (argmax over classes; a
// single-channel map counts its pixels above 0.5 as class 1).
struct RecordClassShare {
  std::string label;
  int label_id = 0;
  double fraction = 0;
};

struct RecordStats {
  bool inferred = false;
  bool dense_frame = false;
  double changed_fraction = 0;
  double mac_fraction = 0;
  int64_t macs_executed = 0, macs_dense = 0;
  double process_ms = 0;
  uint64_t state_bytes = 0;
};

struct FrameRecord {
  std::optional<uint64_t> pts_ns;  // buffer timestamp
  int64_t wallclock_us = 0;        // UNIX time when the element saw the frame
  std::string stream_id;
  uint64_t frame_index = 0;
  std::string model;
  std::vector<RecordDetection> detections;
  bool has_segmentation = false;
  int segmentation_width = 0, segmentation_height = 0;
  std::vector<RecordClassShare> segmentation;
  std::optional<RecordStats> stats;
};

// One line of JSON, without the newline:
// {"timestamp":..,"wallclock_us":..,"stream_id":..,"frame_index":..,"model":..,
//  "detections":[{"label":..,"label_id":..,"box":[x,y,w,h],"score":..}],
//  "segmentation":{"width":..,"height":..,"classes":[{"label":..,"label_id":..,"fraction":..}]} or null,
//  "stats":{...} or null}
std::string to_json_line(const FrameRecord& record);

// The class shares of a [1, C, H, W] score map (C == 1: foreground above 0.5).
std::vector<RecordClassShare> class_shares(const float* scores, int64_t classes, int64_t height, int64_t width,
                                           const std::vector<std::string>& labels);

}  // namespace sparseinfer::gst

// What the video commands (stream, calibrate) share: the model, its
// description (model_description.h), the network input size chosen for the
// video, the preprocessing that produces it, and the frames.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "sparseinfer/model.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/preprocess.h"
#include "tools/video_frames.h"

namespace sparseinfer::cli {

struct VideoSetup {
  Model model;
  ModelDescription description;  // absent (present == false) when the model has none
  Shape input_shape;             // 1 x 3 x H x W
  PreprocessOptions preprocess;  // from the description (defaults without one)
};

// Input size: `size` (W, H) when given, else the model's own fixed size, else
// the video's frame size (fully convolutional models); `raw_size` is the frame
// size of a raw RGB video (VideoSource). Throws Error for a model that does
// not take one NCHW image or a description that is wrong (naming the field).
VideoSetup setup_video(const std::string& model_path, const std::string& video,
                       std::optional<std::pair<int64_t, int64_t>> size,
                       std::optional<std::pair<int64_t, int64_t>> raw_size = std::nullopt);

// Frames of a clip (decoded with OpenCV, or "synthetic"), or of a file of raw
// RGB24 frames of `raw_size`, back to back (what gst-launch-1.0 ... !
// video/x-raw,format=RGB ! filesink writes). Raw frames let a test hand the
// engine exactly the pixels another program decoded and scaled.
class VideoSource {
 public:
  VideoSource(const std::string& video, std::optional<std::pair<int64_t, int64_t>> raw_size,
              const PreprocessOptions& pre);
  ~VideoSource();
  // False at the end. Throws Error on a truncated raw frame.
  bool next(Tensor& frame);
  // Reads past `count` frames; false when the video ends first.
  bool skip(int64_t count);
  // Size of the frames before preprocessing.
  int frame_width() const { return width_; }
  int frame_height() const { return height_; }

 private:
  std::string path_;
  PreprocessOptions pre_;
  std::unique_ptr<tools::FrameReader> reader_;
  std::FILE* raw_ = nullptr;
  std::vector<uint8_t> pixels_;
  int width_ = 0, height_ = 0;
};

}  // namespace sparseinfer::cli

// Frames for the tools (CLI, benchmark): a video file decoded with OpenCV, or
// a synthetic fixed-camera scene, preprocessed for the network.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sparseinfer/preprocess.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer::tools {

// Yields preprocessed frames one at a time, so long videos stream through.
class FrameReader {
 public:
  FrameReader(const std::string& video, const PreprocessOptions& pre);
  ~FrameReader();
  // False at the end of the video (never for "synthetic").
  bool next(Tensor& frame);
  // Passes over `count` frames without preprocessing them (--start N: begin
  // at frame N of the clip). False when the video ends first.
  bool skip(int64_t count);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads up to `count` frames ("synthetic" makes them). A width/height of 0 in
// `pre` keeps the video's size. Throws sparseinfer::Error when the file cannot
// be opened or has no frames.
std::vector<Tensor> read_frames(const std::string& video, int count, const PreprocessOptions& pre);
// The same, starting at frame `start` of the clip; throws when the clip ends before it.
std::vector<Tensor> read_frames(const std::string& video, int count, const PreprocessOptions& pre, int64_t start);

// Frame size of a video file (or of the synthetic scene: 768x576).
std::pair<int, int> video_size(const std::string& video);

}  // namespace sparseinfer::tools

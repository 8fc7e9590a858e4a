// What the video commands (stream, calibrate) share: the model, the network
// input size chosen for the video, and the preprocessing that produces it.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"

namespace sparseinfer::cli {

struct VideoSetup {
  Model model;
  Shape input_shape;  // 1 x 3 x H x W
  PreprocessOptions preprocess;
};

// Input size: `size` (W, H) when given, else the model's own fixed size, else
// the video's frame size (fully convolutional models). Throws Error for a
// model that does not take one NCHW image.
VideoSetup setup_video(const std::string& model_path, const std::string& video,
                       std::optional<std::pair<int64_t, int64_t>> size);

}  // namespace sparseinfer::cli

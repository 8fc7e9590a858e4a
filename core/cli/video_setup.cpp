#include "cli/video_setup.h"

#include "sparseinfer/error.h"
#include "tools/video_frames.h"

namespace sparseinfer::cli {

VideoSetup setup_video(const std::string& model_path, const std::string& video,
                       std::optional<std::pair<int64_t, int64_t>> size) {
  VideoSetup v;
  v.model = load_model(model_path);
  if (v.model.inputs.size() != 1 || v.model.inputs[0].dims.size() != 4 || v.model.inputs[0].dtype != DType::Float32)
    throw Error(model_path + ": video commands need a model with one float NCHW image input");
  const std::vector<int64_t>& dims = v.model.inputs[0].dims;
  if (dims[1] >= 0 && dims[1] != 3) throw Error(model_path + ": the image input must have 3 channels");
  int64_t w = dims[3], h = dims[2];
  if (size) {
    w = size->first;
    h = size->second;
  } else if (w < 0 || h < 0) {
    auto [vw, vh] = tools::video_size(video);
    w = vw;
    h = vh;
  }
  v.input_shape = {1, 3, h, w};
  v.preprocess.width = static_cast<int>(w);
  v.preprocess.height = static_cast<int>(h);
  return v;
}

}  // namespace sparseinfer::cli

#include "cli/video_setup.h"

#include "sparseinfer/error.h"

namespace sparseinfer::cli {

VideoSetup setup_video(const std::string& model_path, const std::string& video,
                       std::optional<std::pair<int64_t, int64_t>> size,
                       std::optional<std::pair<int64_t, int64_t>> raw_size) {
  VideoSetup v;
  v.model = load_model(model_path);
  if (v.model.inputs.size() != 1 || v.model.inputs[0].dims.size() != 4 || v.model.inputs[0].dtype != DType::Float32)
    throw Error(model_path + ": video commands need a model with one float NCHW image input");
  const std::vector<int64_t>& dims = v.model.inputs[0].dims;
  if (dims[1] >= 0 && dims[1] != 3) throw Error(model_path + ": the image input must have 3 channels");
  v.description = load_model_description(v.model);
  int64_t w = dims[3], h = dims[2];
  if (size) {
    w = size->first;
    h = size->second;
  } else if (w < 0 || h < 0) {
    if (raw_size) {
      w = raw_size->first;
      h = raw_size->second;
    } else {
      auto [vw, vh] = tools::video_size(video);
      w = vw;
      h = vh;
    }
  }
  v.input_shape = {1, 3, h, w};
  v.preprocess = preprocess_options(v.description, static_cast<int>(w), static_cast<int>(h));
  return v;
}

VideoSource::VideoSource(const std::string& video, std::optional<std::pair<int64_t, int64_t>> raw_size,
                         const PreprocessOptions& pre)
    : path_(video), pre_(pre) {
  if (!raw_size) {
    if (video == "synthetic") {
      width_ = pre.width > 0 ? pre.width : tools::video_size(video).first;
      height_ = pre.height > 0 ? pre.height : tools::video_size(video).second;
    } else {
      std::tie(width_, height_) = tools::video_size(video);
    }
    reader_ = std::make_unique<tools::FrameReader>(video, pre);
    return;
  }
  width_ = static_cast<int>(raw_size->first);
  height_ = static_cast<int>(raw_size->second);
  raw_ = std::fopen(video.c_str(), "rb");
  if (!raw_) throw Error("cannot open raw video '" + video + "'");
  pixels_.resize(size_t(width_) * size_t(height_) * 3);
}

VideoSource::~VideoSource() {
  if (raw_) std::fclose(raw_);
}

bool VideoSource::next(Tensor& frame) {
  if (reader_) return reader_->next(frame);
  const size_t got = std::fread(pixels_.data(), 1, pixels_.size(), raw_);
  if (got == 0) return false;
  if (got != pixels_.size())
    throw Error(path_ + ": truncated raw frame (" + std::to_string(got) + " of " + std::to_string(pixels_.size()) +
                " bytes; is --raw-video the right size?)");
  preprocess_frame(pixels_.data(), width_, height_, width_ * 3, PixelFormat::RGB, pre_, frame);
  return true;
}

bool VideoSource::skip(int64_t count) {
  if (reader_) return reader_->skip(count);
  for (int64_t i = 0; i < count; ++i)
    if (std::fread(pixels_.data(), 1, pixels_.size(), raw_) != pixels_.size()) return false;
  return true;
}

}  // namespace sparseinfer::cli

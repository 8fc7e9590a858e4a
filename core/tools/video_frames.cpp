#include "tools/video_frames.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <random>

#include "sparseinfer/error.h"

namespace sparseinfer::tools {

namespace {

constexpr int kSyntheticWidth = 768, kSyntheticHeight = 576;

// A still scene with a few objects crossing it and faint sensor noise: what a
// fixed camera sees, without needing a file.
class SyntheticScene {
 public:
  SyntheticScene(int w, int h) : w_(w), h_(h), rng_(1234) {
    background_.create(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        background_.at<cv::Vec3b>(y, x) =
            cv::Vec3b(static_cast<uint8_t>(60 + 100 * y / h), static_cast<uint8_t>(80 + (x * 7 + y * 3) % 60),
                      static_cast<uint8_t>(120 + 80 * x / w));
    cv::rectangle(background_, cv::Rect(w / 10, h / 2, w / 3, h / 3), cv::Scalar(90, 90, 90), cv::FILLED);
  }

  cv::Mat frame(int t) {
    cv::Mat f = background_.clone();
    for (int k = 0; k < 3; ++k) {
      int x = (w_ / 8 + t * (4 + 2 * k) + k * w_ / 3) % w_;
      int y = h_ / 4 + k * h_ / 5;
      cv::rectangle(f, cv::Rect(x, y, w_ / 16, h_ / 8), cv::Scalar(30 + 70 * k, 200 - 50 * k, 40 * k), cv::FILLED);
    }
    std::normal_distribution<float> noise(0.0f, 2.0f);
    for (int i = 0; i < f.rows * f.cols * 3; i += 97) {
      int v = f.data[i] + static_cast<int>(noise(rng_));
      f.data[i] = static_cast<uint8_t>(std::clamp(v, 0, 255));
    }
    return f;
  }

 private:
  int w_, h_;
  std::mt19937 rng_;
  cv::Mat background_;
};

}  // namespace

std::pair<int, int> video_size(const std::string& video) {
  if (video == "synthetic") return {kSyntheticWidth, kSyntheticHeight};
  cv::VideoCapture cap(video);
  if (!cap.isOpened()) throw Error("cannot open video '" + video + "'");
  return {static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH)), static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT))};
}

struct FrameReader::Impl {
  PreprocessOptions pre;
  std::unique_ptr<SyntheticScene> scene;
  cv::VideoCapture capture;
  cv::Mat bgr;
  int index = 0;
};

FrameReader::FrameReader(const std::string& video, const PreprocessOptions& pre) : impl_(std::make_unique<Impl>()) {
  impl_->pre = pre;
  if (video == "synthetic") {
    impl_->scene = std::make_unique<SyntheticScene>(pre.width > 0 ? pre.width : kSyntheticWidth,
                                                    pre.height > 0 ? pre.height : kSyntheticHeight);
    return;
  }
  if (!impl_->capture.open(video)) throw Error("cannot open video '" + video + "'");
}

FrameReader::~FrameReader() = default;

bool FrameReader::next(Tensor& frame) {
  Impl& d = *impl_;
  if (d.scene) {
    d.bgr = d.scene->frame(d.index);
  } else if (!d.capture.read(d.bgr)) {
    return false;
  }
  ++d.index;
  preprocess_frame(d.bgr.data, d.bgr.cols, d.bgr.rows, static_cast<int>(d.bgr.step), PixelFormat::BGR, d.pre, frame);
  return true;
}

bool FrameReader::skip(int64_t count) {
  Impl& d = *impl_;
  for (int64_t i = 0; i < count; ++i) {
    // grab() decodes but skips the conversion to BGR.
    if (!d.scene && !d.capture.grab()) return false;
    ++d.index;
  }
  return true;
}

std::vector<Tensor> read_frames(const std::string& video, int count, const PreprocessOptions& pre) {
  return read_frames(video, count, pre, 0);
}

std::vector<Tensor> read_frames(const std::string& video, int count, const PreprocessOptions& pre, int64_t start) {
  FrameReader reader(video, pre);
  if (!reader.skip(start))
    throw Error("video '" + video + "' ends before frame " + std::to_string(start) + " (--start)");
  std::vector<Tensor> frames;
  Tensor t;
  while (static_cast<int>(frames.size()) < count && reader.next(t)) frames.push_back(t);
  if (frames.empty()) throw Error("video '" + video + "' has no frames");
  return frames;
}

}  // namespace sparseinfer::tools

// sparseinfer-bench: the in-process half of tests/bench/bench. Decodes a
// video (or makes a synthetic one), runs each engine mode over the same
// frames, and prints one JSON line per mode. The wrapper script adds the
// PyTorch reference measured in the same run.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/npy.h"
#include "sparseinfer/preprocess.h"

using namespace sparseinfer;

namespace {

struct Args {
  std::string model;
  std::string video = "synthetic";
  int frames = 30;
  int width = 0, height = 0;
  std::vector<std::string> modes{"dense"};
  int threads = 0;
  int warmup = 2;
  std::string frames_out;  // .npy of the preprocessed frames, for the reference
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "sparseinfer-bench: " << why << "\n"
            << "usage: sparseinfer-bench --model M.onnx --size WxH [--video FILE|synthetic] [--frames N]\n"
            << "                         [--modes dense] [--threads T] [--warmup W] [--frames-out F.npy]\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    try {
      if (k == "--model") a.model = next();
      else if (k == "--video") a.video = next();
      else if (k == "--frames") a.frames = std::stoi(next());
      else if (k == "--size") {
        std::string v = next();
        if (std::sscanf(v.c_str(), "%dx%d", &a.width, &a.height) != 2 || a.width <= 0 || a.height <= 0)
          usage("--size takes WxH, e.g. 768x576");
      } else if (k == "--modes") a.modes = split(next(), ',');
      else if (k == "--threads") a.threads = std::stoi(next());
      else if (k == "--warmup") a.warmup = std::stoi(next());
      else if (k == "--frames-out") a.frames_out = next();
      else usage("unknown option " + k);
    } catch (const std::logic_error&) {
      usage("bad number for " + k);
    }
  }
  if (a.model.empty()) usage("--model is required");
  if (a.width <= 0) usage("--size is required");
  if (a.frames <= 0) usage("--frames must be positive");
  return a;
}

// A static scene with a few moving objects and sensor noise: what a fixed
// camera sees, without needing a file.
class SyntheticVideo {
 public:
  SyntheticVideo(int w, int h) : w_(w), h_(h), rng_(1234) {
    background_.create(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        background_.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(60 + 100 * y / h),
                                                     static_cast<uint8_t>(80 + (x * 7 + y * 3) % 60),
                                                     static_cast<uint8_t>(120 + 80 * x / w));
    cv::rectangle(background_, cv::Rect(w / 10, h / 2, w / 3, h / 3), cv::Scalar(90, 90, 90), cv::FILLED);
  }
  cv::Mat next(int t) {
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

std::vector<Tensor> load_frames(const Args& a) {
  PreprocessOptions pre;
  pre.width = a.width;
  pre.height = a.height;
  std::vector<Tensor> frames;
  auto add = [&](const cv::Mat& bgr) {
    Tensor t;
    preprocess_frame(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step), PixelFormat::BGR, pre, t);
    frames.push_back(std::move(t));
  };
  if (a.video == "synthetic") {
    SyntheticVideo video(a.width, a.height);
    for (int i = 0; i < a.frames; ++i) add(video.next(i));
    return frames;
  }
  cv::VideoCapture cap(a.video);
  if (!cap.isOpened()) throw Error("cannot open video '" + a.video + "'");
  cv::Mat frame;
  while (static_cast<int>(frames.size()) < a.frames && cap.read(frame)) add(frame);
  if (frames.empty()) throw Error("video '" + a.video + "' has no frames");
  return frames;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Per-pixel (or per-sample) argmax over dimension 1 of an NC... tensor.
std::vector<int> argmax_c(const Tensor& t) {
  std::vector<int> out;
  if (t.rank() < 2 || t.dim(1) < 2 || t.dtype() != DType::Float32) return out;
  int64_t n = t.dim(0), c = t.dim(1), inner = t.numel() / (n * c);
  out.resize(static_cast<size_t>(n * inner));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = t.f32() + b * c * inner + i;
      int best = 0;
      for (int64_t k = 1; k < c; ++k)
        if (p[k * inner] > p[best * inner]) best = static_cast<int>(k);
      out[static_cast<size_t>(b * inner + i)] = best;
    }
  return out;
}

Mode parse_mode(const std::string& m) {
  if (m == "dense") return Mode::Dense;
  throw Error("mode '" + m + "' is not available (modes: dense)");
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  try {
    Model model = load_model(args.model);
    std::vector<Tensor> frames = load_frames(args);
    if (!args.frames_out.empty()) {
      const Shape& s = frames[0].shape();
      Tensor stack(DType::Float32, {static_cast<int64_t>(frames.size()), s[1], s[2], s[3]});
      for (size_t i = 0; i < frames.size(); ++i)
        std::memcpy(stack.f32() + i * frames[i].numel(), frames[i].f32(), frames[i].bytes());
      write_npy(args.frames_out, stack);
    }

    // Dense outputs per frame are the reference every other mode is scored against.
    std::vector<std::vector<float>> dense_out;
    std::vector<std::vector<int>> dense_arg;
    for (const std::string& mode_name_arg : args.modes) {
      EngineOptions opt;
      opt.backend = Backend::Cpu;
      opt.mode = parse_mode(mode_name_arg);
      opt.threads = args.threads;
      opt.input_shapes = {frames[0].shape()};
      Engine engine(model, opt);
      auto state = engine.new_stream();
      for (int w = 0; w < args.warmup; ++w) engine.run(*state, {&frames[static_cast<size_t>(w) % frames.size()]});
      state = engine.new_stream();

      std::vector<double> ms;
      double mac_exec = 0, mac_dense = 0, mse_sum = 0;
      int64_t agree = 0, total = 0;
      for (size_t f = 0; f < frames.size(); ++f) {
        FrameResult r = engine.run(*state, {&frames[f]});
        ms.push_back(r.times.total_ms);
        mac_exec += static_cast<double>(r.macs_executed);
        mac_dense += static_cast<double>(r.macs_dense);
        const Tensor& out = *r.outputs[0];
        std::vector<float> values(out.f32(), out.f32() + out.numel());
        std::vector<int> arg = argmax_c(out);
        if (opt.mode == Mode::Dense) {
          dense_out.push_back(values);
          dense_arg.push_back(arg);
        }
        const std::vector<float>& ref = dense_out[f];
        double se = 0;
        for (size_t i = 0; i < values.size(); ++i) se += (values[i] - ref[i]) * double(values[i] - ref[i]);
        mse_sum += values.empty() ? 0 : se / double(values.size());
        for (size_t i = 0; i < arg.size(); ++i) agree += arg[i] == dense_arg[f][i];
        total += static_cast<int64_t>(arg.size());
      }
      double med = median(ms);
      std::printf(
          "{\"model\":\"%s\",\"mode\":\"%s\",\"backend\":\"%s\",\"threads\":%d,\"width\":%d,\"height\":%d,"
          "\"video\":\"%s\",\"frames\":%zu,\"ms_median\":%.3f,\"ms_mean\":%.3f,\"fps\":%.3f,\"gmacs_dense\":%.4f,"
          "\"mac_fraction\":%.6f,\"agreement\":%s,\"mse_vs_dense\":%.6g,\"state_bytes\":%zu}\n",
          args.model.c_str(), mode_name_arg.c_str(), backend_name(engine.backend()), engine.threads(), args.width,
          args.height, args.video.c_str(), frames.size(), med,
          [&] {
            double s = 0;
            for (double v : ms) s += v;
            return s / double(ms.size());
          }(),
          1000.0 / med, engine.total_macs() / 1e9, mac_dense > 0 ? mac_exec / mac_dense : 1.0,
          total ? std::to_string(double(agree) / double(total)).c_str() : "null", mse_sum / double(frames.size()),
          state->state_bytes());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "sparseinfer-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

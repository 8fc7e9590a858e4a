// change-frame-cost: what each frame of change mode costs against the dense
// engine on the same frame (issue 14: no frame slower than 1.2x dense, the
// first one included). Both engines run in this process, frame by frame, in
// alternating order, so a loaded machine slows both alike; the ratio is
// taken on process CPU time (user + system, every thread), which leaves out
// the time the OS gave other processes but keeps page faults, and wall time
// is printed beside it.
//
//   change-frame-cost --model examples/models/segnet_small.onnx --size 3840x2160
//       [--video FILE|synthetic] [--frames 4] [--threads 2] [--thresholds F.json | --threshold T]
//
// One JSON line per frame, then one summary line with the largest CPU ratio.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/thresholds.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/video_frames.h"

using namespace sparseinfer;

namespace {

const char* const kUsage =
    "usage: change-frame-cost --model M.onnx --size WxH [--video FILE|synthetic] [--frames N]\n"
    "                         [--threads T] [--thresholds F.json | --threshold T]\n"
    "(default video: /usr/share/doc/opencv-doc/examples/data/vtest.avi, 4 frames, threshold 0)\n";

struct Cost {
  double cpu_ms = 0, wall_ms = 0;
};

// User + system time of every thread of the process: a frame's page faults
// (first touch of its buffers) are part of what it costs.
double process_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3; };
  return ms(u.ru_utime) + ms(u.ru_stime);
}

Cost run_frame(const Engine& engine, StreamState& stream, const Tensor& frame, bool& dense_frame) {
  const double cpu0 = process_cpu_ms();
  const auto t0 = std::chrono::steady_clock::now();
  FrameResult r = engine.run(stream, {&frame});
  Cost c;
  c.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  c.cpu_ms = process_cpu_ms() - cpu0;
  dense_frame = r.dense_frame;
  return c;
}

int run(const std::vector<std::string>& argv) {
  const tools::ParsedArgs p = tools::parse_args("", argv,
                                                {{"model", true},
                                                 {"size", true},
                                                 {"video", true},
                                                 {"frames", true},
                                                 {"threads", true},
                                                 {"thresholds", true},
                                                 {"threshold", true}});
  if (p.has("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!p.positional.empty()) throw tools::UsageError("unexpected argument '" + p.positional[0] + "'");
  const std::string model_path = p.value("model");
  if (model_path.empty()) throw tools::UsageError("--model is required");
  if (!p.has("size")) throw tools::UsageError("--size is required");
  auto [width, height] = tools::parse_size(p.value("size"), "--size");
  const int frames = static_cast<int>(tools::parse_int(p.value("frames", "4"), "--frames", 1, 1 << 20));
  const int threads = static_cast<int>(tools::parse_int(p.value("threads", "0"), "--threads", 0, 1024));
  const std::string video = p.value("video", "/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  std::optional<ThresholdSet> calibrated;
  if (p.has("thresholds")) calibrated = read_thresholds(p.value("thresholds"));
  const float threshold = p.has("threshold") ? tools::parse_float(p.value("threshold"), "--threshold") : 0.0f;

  PreprocessOptions pre;
  pre.width = static_cast<int>(width);
  pre.height = static_cast<int>(height);
  const std::vector<Tensor> clip = tools::read_frames(video, frames, pre);

  Model model = load_model(model_path);
  EngineOptions o;
  o.threads = threads;
  o.input_shapes = {clip[0].shape()};
  o.mode = Mode::Dense;
  Engine dense(model, o);
  o.mode = Mode::Change;
  Engine change(model, o);
  auto ds = dense.new_stream(), cs = change.new_stream();
  if (calibrated)
    apply_thresholds(*cs, *calibrated);
  else
    cs->set_all_thresholds(threshold);

  double worst = 0;
  for (size_t f = 0; f < clip.size(); ++f) {
    Cost d, c;
    bool dense_frame = false, unused = false;
    // Alternate which engine goes first, so neither always finds the caches warm.
    if (f % 2 == 0) {
      d = run_frame(dense, *ds, clip[f], unused);
      c = run_frame(change, *cs, clip[f], dense_frame);
    } else {
      c = run_frame(change, *cs, clip[f], dense_frame);
      d = run_frame(dense, *ds, clip[f], unused);
    }
    const double ratio = c.cpu_ms / std::max(d.cpu_ms, 1e-3);
    worst = std::max(worst, ratio);
    std::printf(
        "{\"frame\":%zu,\"change_dense_frame\":%s,\"dense_cpu_ms\":%.1f,\"change_cpu_ms\":%.1f,\"cpu_ratio\":%.3f,"
        "\"dense_wall_ms\":%.1f,\"change_wall_ms\":%.1f,\"wall_ratio\":%.3f,\"change_state_bytes\":%zu}\n",
        f, dense_frame ? "true" : "false", d.cpu_ms, c.cpu_ms, ratio, d.wall_ms, c.wall_ms,
        c.wall_ms / std::max(d.wall_ms, 1e-3), cs->state_bytes());
    std::fflush(stdout);
  }
  std::printf(
      "{\"model\":\"%s\",\"size\":\"%lldx%lld\",\"frames\":%zu,\"max_cpu_ratio\":%.3f,\"dense_activation_bytes\":%zu}"
      "\n",
      model_path.c_str(), static_cast<long long>(width), static_cast<long long>(height), clip.size(), worst,
      change.dense_activation_bytes());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const tools::UsageError& e) {
    std::cerr << "change-frame-cost: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const Error& e) {
    std::cerr << "change-frame-cost: " << e.what() << "\n";
    return 1;
  }
}

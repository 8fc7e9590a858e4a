// GPU side of the benchmark: our engine's modes on a backend, frame after
// frame, on raw RGB frames (no OpenCV, so it runs on a GPU machine that has
// none of Debian's libraries; tests/bench/cuda-bench decodes the clip and
// runs the cuDNN peer beside it). Prints one JSON line per configuration:
// median and p90 ms, MAC fraction, CBinfer Fig. 10 stage means, and the
// argmax agreement with the same backend's dense output on every frame.
//
// Usage: sparseinfer-cuda-bench --model M.onnx --frames-raw F.rgb --frame-size WxH --count N --size WxH
//        [--backend cuda] [--modes dense,change] [--thresholds T.json] [--warmup 3] [--threads 2]
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/thresholds.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/output_compare.h"

using namespace sparseinfer;

namespace {

struct Args {
  std::string model, frames_raw, thresholds;
  Backend backend = Backend::Cuda;
  std::vector<std::string> modes;
  int frame_w = 0, frame_h = 0, width = 0, height = 0, count = 0, warmup = 3, threads = 2;
};

const char* const kUsage =
    "usage: sparseinfer-cuda-bench --model M.onnx --frames-raw F.rgb --frame-size WxH --count N --size WxH\n"
    "                              [--backend cuda|cpu|auto] [--modes dense,change] [--thresholds T.json]\n"
    "                              [--warmup W] [--threads T]\n";

Args parse(const std::vector<std::string>& argv) {
  const tools::ParsedArgs p = tools::parse_args("", argv,
                                                {{"model", true},
                                                 {"frames-raw", true},
                                                 {"frame-size", true},
                                                 {"count", true},
                                                 {"size", true},
                                                 {"backend", true},
                                                 {"modes", true},
                                                 {"thresholds", true},
                                                 {"warmup", true},
                                                 {"threads", true}});
  for (const char* required : {"model", "frames-raw", "frame-size", "count", "size"})
    if (!p.has(required)) throw tools::UsageError(std::string("--") + required + " is required");
  Args a;
  a.model = p.value("model");
  a.frames_raw = p.value("frames-raw");
  a.count = static_cast<int>(tools::parse_int(p.value("count"), "--count", 1));
  const auto frame = tools::parse_size(p.value("frame-size"), "--frame-size");
  const auto size = tools::parse_size(p.value("size"), "--size");
  a.frame_w = static_cast<int>(frame.first);
  a.frame_h = static_cast<int>(frame.second);
  a.width = static_cast<int>(size.first);
  a.height = static_cast<int>(size.second);
  a.backend = tools::parse_backend(p.value("backend", "cuda"), "--backend");
  a.modes = tools::split_list(p.value("modes", "dense,change"));
  a.thresholds = p.value("thresholds");
  a.warmup = static_cast<int>(tools::parse_int(p.value("warmup", "3"), "--warmup", 0));
  a.threads = static_cast<int>(tools::parse_int(p.value("threads", "2"), "--threads", 0));
  return a;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    a = parse({argv + 1, argv + argc});
  } catch (const tools::UsageError& e) {
    std::fprintf(stderr, "sparseinfer-cuda-bench: %s\n%s", e.what(), kUsage);
    return 2;
  }
  try {
    const Model model = load_model(a.model);
    std::vector<uint8_t> raw(static_cast<size_t>(a.frame_w) * a.frame_h * 3 * a.count);
    std::ifstream file(a.frames_raw, std::ios::binary);
    if (!file.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size())))
      throw Error(a.frames_raw + ": fewer than " + std::to_string(a.count) + " frames of " + std::to_string(a.frame_w) +
                  "x" + std::to_string(a.frame_h) + " RGB");
    PreprocessOptions pre;
    pre.width = a.width;
    pre.height = a.height;
    std::vector<Tensor> frames(static_cast<size_t>(a.count));
    const size_t frame_bytes = static_cast<size_t>(a.frame_w) * a.frame_h * 3;
    for (int i = 0; i < a.count; ++i)
      preprocess_frame(raw.data() + i * frame_bytes, a.frame_w, a.frame_h, a.frame_w * 3, PixelFormat::RGB, pre,
                       frames[static_cast<size_t>(i)]);

    const Backend backend = a.backend;
    std::vector<Tensor> dense_outputs;  // per frame, the same backend's dense result
    for (const std::string& mode_name : a.modes) {
      EngineOptions options;
      options.backend = backend;
      options.mode = mode_name == "change" ? Mode::Change : Mode::Dense;
      options.threads = a.threads;
      options.input_shapes = {{1, 3, a.height, a.width}};
      Engine engine(model, options);
      auto state = engine.new_stream();
      if (options.mode == Mode::Change && !a.thresholds.empty())
        apply_thresholds(*state, read_thresholds(a.thresholds));
      // Warm-up on the first frames, then a reset so the timed run starts from a dense frame like a new stream.
      for (int i = 0; i < a.warmup; ++i) engine.run(*state, {&frames[static_cast<size_t>(i % a.count)]});
      state->reset();
      std::vector<double> ms, mac;
      StageTimes stages;
      double agree_sum = 0, agree_worst = 1;
      int compared = 0;
      for (int i = 0; i < a.count; ++i) {
        const FrameResult r = engine.run(*state, {&frames[static_cast<size_t>(i)]});
        if (i > 0) {  // the first frame of a stream is dense in every mode
          ms.push_back(r.times.total_ms);
          mac.push_back(r.mac_fraction());
          stages.detect_ms += r.times.detect_ms;
          stages.extract_ms += r.times.extract_ms;
          stages.gather_ms += r.times.gather_ms;
          stages.gemm_ms += r.times.gemm_ms;
          stages.update_ms += r.times.update_ms;
          stages.other_ms += r.times.other_ms;
        }
        if (options.mode == Mode::Dense) {
          if (dense_outputs.size() < frames.size()) dense_outputs.push_back(*r.outputs[0]);
        } else if (static_cast<size_t>(i) < dense_outputs.size()) {
          const tools::Comparison c = tools::compare_outputs(*r.outputs[0], dense_outputs[static_cast<size_t>(i)]);
          agree_sum += c.agreement;
          agree_worst = std::min(agree_worst, c.agreement);
          ++compared;
        }
      }
      const double n = std::max<size_t>(1, ms.size());
      std::printf(
          "{\"backend\":\"%s\",\"mode\":\"%s\",\"model\":\"%s\",\"size\":\"%dx%d\",\"frames\":%zu,"
          "\"ms_median\":%.4f,\"ms_p90\":%.4f,\"mac_fraction_median\":%.4f,"
          "\"stage_ms\":{\"detect\":%.4f,\"extract\":%.4f,\"gather\":%.4f,\"gemm\":%.4f,\"update\":%.4f,"
          "\"other\":%.4f},\"state_bytes\":%zu",
          backend_name(engine.backend()), mode_name.c_str(), a.model.c_str(), a.width, a.height, ms.size(),
          percentile(ms, 0.5), percentile(ms, 0.9), percentile(mac, 0.5), stages.detect_ms / n, stages.extract_ms / n,
          stages.gather_ms / n, stages.gemm_ms / n, stages.update_ms / n, stages.other_ms / n, state->state_bytes());
      if (compared) std::printf(",\"agreement_mean\":%.5f,\"agreement_worst\":%.5f", agree_sum / compared, agree_worst);
      std::printf("}\n");
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparseinfer-cuda-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

// The engine half of gumbel_gate_reference.py and of the Gumbel gate
// benchmark (tests/bench/gumbel_gate_bench.py): runs preprocessed frames
// through one engine and writes what the comparisons need.
//
// Usage: gumbel_gate_tool --model M.onnx (--frames F.npy | --video V --size WxH
//            [--start S] [--count N] [--frames-out F.npy]) [--mode change|dense]
//            [--gates-file G.json] [--threshold T] [--threads N]
//            [--outputs-out O.npy] [--masks-out K.npy]
//
// --video reads the clip with the model description's preprocessing, as the
// CLI does, and --frames-out saves those inputs for the PyTorch side.
// Prints one JSON line per frame: {"frame", "mac_fraction", "accepted"}, where
// "accepted" counts the input pixels each gated layer accepted (in
// Engine::threshold_layers() order); the first line names those layers.
// --outputs-out stacks the first output of every frame, --masks-out the first
// gated layer's accepted-pixel map (1 = recomputed) of every frame.
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/gumbel_gates.h"
#include "sparseinfer/model.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/npy.h"
#include "tools/video_frames.h"

using namespace sparseinfer;

namespace {

struct Args {
  std::string model, frames, video, frames_out, mode = "change", gates_file, outputs_out, masks_out;
  float threshold = 0.0f;
  int threads = 1, width = 0, height = 0, start = 0, count = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (i + 1 >= argc) throw Error(key + " needs a value");
    const std::string value = argv[++i];
    if (key == "--model")
      a.model = value;
    else if (key == "--frames")
      a.frames = value;
    else if (key == "--video")
      a.video = value;
    else if (key == "--frames-out")
      a.frames_out = value;
    else if (key == "--start")
      a.start = std::stoi(value);
    else if (key == "--count")
      a.count = std::stoi(value);
    else if (key == "--size") {
      if (std::sscanf(value.c_str(), "%dx%d", &a.width, &a.height) != 2) throw Error("--size takes WxH");
    } else if (key == "--mode")
      a.mode = value;
    else if (key == "--gates-file")
      a.gates_file = value;
    else if (key == "--threshold")
      a.threshold = std::stof(value);
    else if (key == "--threads")
      a.threads = std::stoi(value);
    else if (key == "--outputs-out")
      a.outputs_out = value;
    else if (key == "--masks-out")
      a.masks_out = value;
    else
      throw Error("unknown option " + key);
  }
  if (a.model.empty() || a.frames.empty() == a.video.empty())
    throw Error("--model and one of --frames or --video are required");
  if (!a.video.empty() && (a.width <= 0 || a.height <= 0)) throw Error("--video needs --size WxH");
  if (a.mode != "change" && a.mode != "dense") throw Error("--mode must be change or dense");
  return a;
}

// Frames of one [N, ...] stack, each as a [1, ...] tensor.
Tensor frame_of(const Tensor& stack, int64_t i) {
  Shape shape = stack.shape();
  shape[0] = 1;
  Tensor t(DType::Float32, shape);
  std::memcpy(t.f32(), stack.f32() + i * t.numel(), t.bytes());
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    Model model = load_model(a.model);
    Tensor frames;
    if (!a.video.empty()) {
      const PreprocessOptions pre = preprocess_options(load_model_description(model), a.width, a.height);
      std::vector<Tensor> read = tools::read_frames(a.video, a.count, pre, a.start);
      Shape s = read[0].shape();
      s[0] = static_cast<int64_t>(read.size());
      frames = Tensor(DType::Float32, s);
      for (size_t i = 0; i < read.size(); ++i)
        std::memcpy(frames.f32() + static_cast<int64_t>(i) * read[i].numel(), read[i].f32(), read[i].bytes());
      if (!a.frames_out.empty()) write_npy(a.frames_out, frames);
    } else {
      frames = read_npy(a.frames);
    }
    if (frames.rank() != 4 || frames.dtype() != DType::Float32) throw Error("frames: expected float32 [N,C,H,W]");
    EngineOptions opt;
    opt.backend = Backend::Cpu;
    opt.mode = a.mode == "change" ? Mode::Change : Mode::Dense;
    opt.threads = a.threads;
    opt.input_shapes = {{1, frames.dim(1), frames.dim(2), frames.dim(3)}};
    if (!a.gates_file.empty()) opt.gumbel_gates = std::make_shared<GumbelGateSet>(read_gumbel_gates(a.gates_file));
    Engine engine(model, opt);
    auto state = engine.new_stream();
    if (opt.mode == Mode::Change) state->set_all_thresholds(a.threshold);

    const std::vector<std::string> gated = engine.threshold_layers();
    std::vector<int> gated_steps;
    for (const std::string& name : gated)
      for (size_t i = 0; i < engine.layers().size(); ++i)
        if (engine.layers()[i].name == name) gated_steps.push_back(static_cast<int>(i));
    std::string names;
    for (const std::string& name : gated) names += (names.empty() ? "\"" : ",\"") + name + "\"";
    std::printf("{\"layers\":[%s]}\n", names.c_str());

    const int64_t n = frames.dim(0);
    Tensor outputs, masks;
    for (int64_t f = 0; f < n; ++f) {
      const Tensor frame = frame_of(frames, f);
      FrameResult r = engine.run(*state, {&frame});
      std::string accepted;
      for (int step : gated_steps) {
        const LayerStats& s = r.layer_stats[static_cast<size_t>(step)];
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.8f", accepted.empty() ? "" : ",", s.input_changed_fraction);
        accepted += buf;
      }
      std::printf("{\"frame\":%lld,\"mac_fraction\":%.8f,\"accepted\":[%s]}\n", static_cast<long long>(f),
                  r.mac_fraction(), accepted.c_str());
      const Tensor& out = *r.outputs[0];
      if (!a.outputs_out.empty()) {
        if (f == 0) {
          Shape s = out.shape();
          s.insert(s.begin(), n);
          outputs = Tensor(DType::Float32, s);
        }
        std::memcpy(outputs.f32() + f * out.numel(), out.f32(), out.bytes());
      }
      if (!a.masks_out.empty() && !r.first_layer_mask.empty()) {
        if (f == 0) masks = Tensor(DType::Float32, {n, r.mask_height, r.mask_width});
        for (int64_t i = 0; i < r.mask_height * r.mask_width; ++i)
          masks.f32()[f * r.mask_height * r.mask_width + i] = r.first_layer_mask[static_cast<size_t>(i)];
      }
    }
    if (!a.outputs_out.empty()) write_npy(a.outputs_out, outputs);
    if (!a.masks_out.empty()) {
      if (!masks.has_data()) throw Error("--masks-out: the engine reports no accepted-pixel map (dense mode?)");
      write_npy(a.masks_out, masks);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gumbel_gate_tool: %s\n", e.what());
    return 1;
  }
  return 0;
}

// saliency-eval-runner: the in-process half of tests/bench/saliency-eval.
// Reads the rendered test frames (raw RGB uint8, sequences back to back),
// runs every model the evaluation needs on every frame with sparseinfer's
// engine, and prints one JSON line per frame. The wrapper script turns these
// into the paper's Table 1 and Fig. 4; every schedule with a fixed period is
// assembled there from the per-frame results, because dense engines keep no
// state between frames. Schedules whose result depends on the history (Phi'
// in change mode, the adaptive schedule) run here on the core's
// DualStreamRunner, which also runs one dense fixed schedule as a cross-check
// of the assembled ones.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "sparseinfer/dual_stream.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/thresholds.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"

using namespace sparseinfer;

namespace {

struct Args {
  std::string large, small, baseline;
  std::string frames;  // raw uint8 [N,H,W,3], RGB
  int width = 0, height = 0;
  std::vector<int64_t> sequences;  // frames per sequence, in file order
  float tau = 10.0f;
  int max_delay = 3;
  int threads = 0;
  int change_period = 0;  // > 0: DualStreamRunner, fixed schedule, Phi' in change mode ("C0", "C1", ...)
  std::vector<float> change_thresholds_list{0.0f};  // one schedule per threshold
  std::string change_thresholds;                    // calibrated per-layer thresholds for Phi' in change mode
  int check_period = 0;                             // > 0: DualStreamRunner, fixed schedule, dense ("R")
  double adaptive_max_cost = 0;                     // > 0: DualStreamRunner, adaptive schedule ("A")
  int adaptive_period = 4;
  bool help = false;
};

const char* const kUsage =
    "usage: saliency-eval-runner --large PHI.onnx --small PHI_PRIME.onnx [--baseline S.onnx]\n"
    "           --frames F.u8 --size WxH --sequences N1,N2,... [--tau 10] [--max-delay 3]\n"
    "           [--threads T] [--change-period P [--change-threshold X,Y,.. | --change-thresholds F.json]]\n"
    "           [--check-period P] [--adaptive-max-cost C [--adaptive-period P]]\n";

const std::vector<tools::OptionSpec> kOptions = {
    {"large", true},
    {"small", true},
    {"baseline", true},
    {"frames", true},
    {"size", true},
    {"sequences", true},
    {"tau", true},
    {"max-delay", true},
    {"threads", true},
    {"change-period", true},
    {"change-threshold", true},
    {"change-thresholds", true},
    {"check-period", true},
    {"adaptive-max-cost", true},
    {"adaptive-period", true},
};

// Throws tools::UsageError; `help` is set for --help and nothing else is read.
Args parse(const std::vector<std::string>& argv) {
  const tools::ParsedArgs p = tools::parse_args("", argv, kOptions);
  Args a;
  if (p.has("help")) {
    a.help = true;
    return a;
  }
  if (!p.positional.empty()) throw tools::UsageError("unexpected argument '" + p.positional[0] + "'");
  auto int_option = [&](const std::string& name, int def) {
    return p.has(name) ? static_cast<int>(tools::parse_int(p.value(name), "--" + name)) : def;
  };
  a.large = p.value("large");
  a.small = p.value("small");
  a.baseline = p.value("baseline");
  a.frames = p.value("frames");
  if (p.has("size")) {
    auto [w, h] = tools::parse_size(p.value("size"), "--size");
    a.width = static_cast<int>(w);
    a.height = static_cast<int>(h);
  }
  for (const std::string& n : tools::split_list(p.value("sequences")))
    a.sequences.push_back(tools::parse_int(n, "--sequences"));
  if (p.has("tau")) a.tau = tools::parse_float(p.value("tau"), "--tau");
  a.max_delay = int_option("max-delay", a.max_delay);
  a.threads = int_option("threads", a.threads);
  a.change_period = int_option("change-period", a.change_period);
  if (p.has("change-threshold")) {
    a.change_thresholds_list.clear();
    for (const std::string& x : tools::split_list(p.value("change-threshold")))
      a.change_thresholds_list.push_back(tools::parse_float(x, "--change-threshold"));
  }
  a.change_thresholds = p.value("change-thresholds");
  a.check_period = int_option("check-period", a.check_period);
  if (p.has("adaptive-max-cost"))
    a.adaptive_max_cost = tools::parse_double(p.value("adaptive-max-cost"), "--adaptive-max-cost");
  a.adaptive_period = int_option("adaptive-period", a.adaptive_period);
  if (a.large.empty() || a.small.empty()) throw tools::UsageError("--large and --small are required");
  if (a.frames.empty() || a.width <= 0) throw tools::UsageError("--frames and --size are required");
  if (a.sequences.empty()) throw tools::UsageError("--sequences is required");
  for (int64_t n : a.sequences)
    if (n <= 0) throw tools::UsageError("--sequences takes positive frame counts");
  if (a.max_delay < 1 || a.max_delay > 64) throw tools::UsageError("--max-delay must be in 1..64");
  if (a.tau <= 0) throw tools::UsageError("--tau must be positive");
  if (a.change_thresholds_list.empty()) throw tools::UsageError("--change-threshold needs at least one value");
  if (a.change_period < 0 || a.check_period < 0)
    throw tools::UsageError("--change-period and --check-period must be >= 0");
  if (a.adaptive_max_cost < 0 || a.adaptive_max_cost > 1)
    throw tools::UsageError("--adaptive-max-cost must be in [0, 1]");
  return a;
}

size_t index_of(const std::vector<TensorInfo>& infos, const std::string& name, const std::string& model) {
  for (size_t i = 0; i < infos.size(); ++i)
    if (infos[i].name == name) return i;
  throw Error(model + ": has no tensor named '" + name + "' (see the saliency model contract)");
}

// Height and width of a 1x3xHxW frame input.
std::pair<int, int> frame_size(const Engine& engine, size_t input) {
  const Shape& s = engine.inputs()[input].shape;
  if (s.size() != 4 || s[0] != 1 || s[1] != 3)
    throw Error(engine.model_path() + ": input '" + engine.inputs()[input].name + "' is " + shape_str(s) +
                ", expected [1,3,H,W]");
  return {static_cast<int>(s[2]), static_cast<int>(s[3])};
}

std::string probs_json(const std::array<float, kSaliencyClasses>& p) {
  std::string out = "[";
  char buf[32];
  for (size_t i = 0; i < p.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.7g", i ? "," : "", static_cast<double>(p[i]));
    out += buf;
  }
  return out + "]";
}

std::string probs_json(const Tensor& logits) {
  const float* z = logits.f32();
  const int64_t n = logits.numel();
  double m = z[0], sum = 0;
  for (int64_t i = 1; i < n; ++i) m = std::max(m, static_cast<double>(z[i]));
  std::vector<double> e(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) sum += e[static_cast<size_t>(i)] = std::exp(z[i] - m);
  std::string out = "[";
  char buf[32];
  for (int64_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%.7g", i ? "," : "", e[static_cast<size_t>(i)] / sum);
    out += buf;
  }
  return out + "]";
}

EngineOptions engine_options(int threads, Mode mode) {
  EngineOptions o;
  o.backend = Backend::Cpu;
  o.mode = mode;
  o.threads = threads;
  return o;
}

// Phi' for one frame: the small frame, Phi's maps from k frames ago, decay.
struct SmallInputs {
  size_t frame, map_a, map_b, decay;
  explicit SmallInputs(const Engine& e)
      : frame(index_of(e.inputs(), "frame", e.model_path())),
        map_a(index_of(e.inputs(), "saliency_a", e.model_path())),
        map_b(index_of(e.inputs(), "saliency_b", e.model_path())),
        decay(index_of(e.inputs(), "decay", e.model_path())) {}
};

DualStreamOptions dual_options(const Args& a) {
  DualStreamOptions o;
  o.large_model = a.large;
  o.small_model = a.small;
  o.backend = Backend::Cpu;
  o.threads = a.threads;
  o.decay_tau = a.tau;
  return o;
}

// One schedule on the core's runner, with its per-sequence stream.
struct DualSchedule {
  std::string prefix;  // field name prefix in the per-frame line
  DualStreamRunner runner;
  std::unique_ptr<DualStreamState> state;
  DualSchedule(std::string p, const DualStreamOptions& o)
      : prefix(std::move(p)), runner(o), state(runner.new_stream()) {}
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse({argv + 1, argv + argc});
  } catch (const tools::UsageError& e) {
    std::cerr << "saliency-eval-runner: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  try {
    Model large_model = load_model(args.large), small_model = load_model(args.small);
    Engine large(large_model, engine_options(args.threads, Mode::Dense));
    Engine small(small_model, engine_options(args.threads, Mode::Dense));
    std::unique_ptr<Engine> baseline;
    if (!args.baseline.empty())
      baseline = std::make_unique<Engine>(load_model(args.baseline), engine_options(args.threads, Mode::Dense));
    std::vector<std::unique_ptr<DualSchedule>> dual;
    if (args.check_period > 0) {
      DualStreamOptions o = dual_options(args);
      o.schedule.period = args.check_period;
      dual.push_back(std::make_unique<DualSchedule>("R", o));
    }
    if (args.change_period > 0) {
      // A calibrated file replaces the single-value thresholds (one schedule).
      const size_t n = args.change_thresholds.empty() ? args.change_thresholds_list.size() : 1;
      for (size_t i = 0; i < n; ++i) {
        DualStreamOptions o = dual_options(args);
        o.schedule.period = args.change_period;
        o.small_mode = Mode::Change;
        o.small_threshold = args.change_thresholds.empty() ? args.change_thresholds_list[i] : 0.0f;
        std::string prefix = "C";
        prefix += std::to_string(i);
        dual.push_back(std::make_unique<DualSchedule>(prefix, o));
        if (!args.change_thresholds.empty())
          apply_thresholds(dual.back()->state->small_state(), read_thresholds(args.change_thresholds));
      }
    }
    if (args.adaptive_max_cost > 0) {
      DualStreamOptions o = dual_options(args);
      o.schedule.kind = ScheduleKind::Adaptive;
      o.schedule.period = args.adaptive_period;
      o.schedule.max_cost = args.adaptive_max_cost;
      dual.push_back(std::make_unique<DualSchedule>("A", o));
    }

    const size_t l_frame = index_of(large.inputs(), "frame", args.large);
    const size_t l_logits = index_of(large.outputs(), "logits", args.large);
    const size_t l_map_a = index_of(large.outputs(), "saliency_a", args.large);
    const size_t l_map_b = index_of(large.outputs(), "saliency_b", args.large);
    if (large.inputs().size() != 1) throw Error(args.large + ": Phi must have one input, 'frame'");
    const SmallInputs si(small);
    if (small.inputs().size() != 4) throw Error(args.small + ": Phi' must have four inputs");
    const size_t s_logits = index_of(small.outputs(), "logits", args.small);
    const auto [lh, lw] = frame_size(large, l_frame);
    const auto [sh, sw] = frame_size(small, si.frame);
    if (small.inputs()[si.map_a].shape != large.outputs()[l_map_a].shape ||
        small.inputs()[si.map_b].shape != large.outputs()[l_map_b].shape)
      throw Error("Phi' map inputs " + shape_str(small.inputs()[si.map_a].shape) + ", " +
                  shape_str(small.inputs()[si.map_b].shape) + " differ from Phi's map outputs " +
                  shape_str(large.outputs()[l_map_a].shape) + ", " + shape_str(large.outputs()[l_map_b].shape));
    size_t b_logits = 0;
    int bh = 0, bw = 0;
    if (baseline) {
      if (baseline->inputs().size() != 1) throw Error(args.baseline + ": S must have one input, 'frame'");
      b_logits = index_of(baseline->outputs(), "logits", args.baseline);
      std::tie(bh, bw) = frame_size(*baseline, 0);
    }

    PreprocessOptions pre_large, pre_small, pre_base;
    pre_large.width = lw, pre_large.height = lh;
    pre_small.width = sw, pre_small.height = sh;
    pre_base.width = bw, pre_base.height = bh;

    int64_t total = 0;
    for (int64_t n : args.sequences) total += n;
    const size_t frame_bytes = static_cast<size_t>(args.width) * static_cast<size_t>(args.height) * 3;
    std::ifstream in(args.frames, std::ios::binary);
    if (!in) throw Error(args.frames + ": cannot open");
    in.seekg(0, std::ios::end);
    const auto file_bytes = static_cast<int64_t>(in.tellg());
    if (file_bytes != total * static_cast<int64_t>(frame_bytes))
      throw Error(args.frames + ": holds " + std::to_string(file_bytes) + " bytes, expected " + std::to_string(total) +
                  " frames of " + std::to_string(args.width) + "x" + std::to_string(args.height) + "x3");
    in.seekg(0);

    std::printf(
        "{\"header\":true,\"large\":\"%s\",\"small\":\"%s\",\"baseline\":\"%s\",\"large_input\":[%d,%d],"
        "\"small_input\":[%d,%d],\"large_macs\":%lld,\"small_macs\":%lld,\"baseline_macs\":%lld,\"tau\":%g,"
        "\"max_delay\":%d,\"threads\":%d}\n",
        args.large.c_str(), args.small.c_str(), args.baseline.c_str(), lw, lh, sw, sh,
        static_cast<long long>(large.total_macs()), static_cast<long long>(small.total_macs()),
        static_cast<long long>(baseline ? baseline->total_macs() : 0), static_cast<double>(args.tau), args.max_delay,
        large.threads());

    auto large_state = large.new_stream();
    auto small_state = small.new_stream();
    std::unique_ptr<StreamState> base_state = baseline ? baseline->new_stream() : nullptr;

    // Phi's maps of the last frames, as far back as any delay asked for; slot t % ring.
    const size_t ring = static_cast<size_t>(args.max_delay) + 1;
    std::vector<Tensor> maps_a(ring), maps_b(ring);
    for (size_t i = 0; i < ring; ++i) {
      maps_a[i] = Tensor(DType::Float32, large.outputs()[l_map_a].shape);
      maps_b[i] = Tensor(DType::Float32, large.outputs()[l_map_b].shape);
    }
    std::vector<uint8_t> pixels(frame_bytes);
    Tensor x_large, x_small, x_base;
    Tensor decay(DType::Float32, small.inputs()[si.decay].shape);
    std::vector<const Tensor*> small_in(4);
    small_in[si.frame] = &x_small;
    small_in[si.decay] = &decay;

    char buf[64];
    for (size_t seq = 0; seq < args.sequences.size(); ++seq) {
      for (auto& d : dual) d->state->reset();  // a new sequence is a new stream
      for (int64_t t = 0; t < args.sequences[seq]; ++t) {
        in.read(reinterpret_cast<char*>(pixels.data()), static_cast<std::streamsize>(frame_bytes));
        if (!in) throw Error(args.frames + ": short read");
        preprocess_frame(pixels.data(), args.width, args.height, args.width * 3, PixelFormat::RGB, pre_large, x_large);
        preprocess_frame(pixels.data(), args.width, args.height, args.width * 3, PixelFormat::RGB, pre_small, x_small);

        std::string line = "{\"seq\":" + std::to_string(seq) + ",\"t\":" + std::to_string(t);
        FrameResult rl = large.run(*large_state, {&x_large});
        const size_t slot = static_cast<size_t>(t) % ring;
        std::memcpy(maps_a[slot].f32(), rl.outputs[l_map_a]->f32(), maps_a[slot].bytes());
        std::memcpy(maps_b[slot].f32(), rl.outputs[l_map_b]->f32(), maps_b[slot].bytes());
        line += ",\"L\":" + probs_json(*rl.outputs[l_logits]) + ",\"L_macs\":" + std::to_string(rl.macs_executed);

        if (baseline) {
          preprocess_frame(pixels.data(), args.width, args.height, args.width * 3, PixelFormat::RGB, pre_base, x_base);
          FrameResult rb = baseline->run(*base_state, {&x_base});
          line += ",\"S\":" + probs_json(*rb.outputs[b_logits]) + ",\"S_macs\":" + std::to_string(rb.macs_executed);
        }

        // Phi' at this frame with Phi's maps from t-k, for every delay the sequence allows.
        std::string probs = "[", macs = "[";
        for (int k = 1; k <= args.max_delay; ++k) {
          if (k > 1) probs += ",", macs += ",";
          if (t - k < 0) {
            probs += "null", macs += "null";
            continue;
          }
          const size_t from = static_cast<size_t>(t - k) % ring;
          small_in[si.map_a] = &maps_a[from];
          small_in[si.map_b] = &maps_b[from];
          decay.f32()[0] = saliency_decay(k, args.tau);
          FrameResult rs = small.run(*small_state, small_in);
          probs += probs_json(*rs.outputs[s_logits]);
          macs += std::to_string(rs.macs_executed);
        }
        line += ",\"P\":" + probs + "],\"P_macs\":" + macs + "]";

        for (auto& dp : dual) {
          DualSchedule& d = *dp;
          const DualStreamResult r =
              d.runner.run(*d.state, pixels.data(), args.width, args.height, args.width * 3, PixelFormat::RGB);
          std::snprintf(buf, sizeof buf, "%.5f", r.change_fraction);
          line += ",\"" + d.prefix + "\":" + probs_json(r.probabilities) + ",\"" + d.prefix +
                  "_macs\":" + std::to_string(r.macs) + ",\"" + d.prefix + "_stream\":\"" + dual_stream_name(r.stream) +
                  "\",\"" + d.prefix + "_k\":" + std::to_string(r.k) + ",\"" + d.prefix + "_reason\":\"" +
                  schedule_reason_name(r.reason) + "\",\"" + d.prefix + "_change\":" + buf;
        }
        std::printf("%s}\n", line.c_str());
      }
      std::fflush(stdout);
      const size_t step = std::max<size_t>(1, args.sequences.size() / 10);
      if ((seq + 1) % step == 0 || seq + 1 == args.sequences.size())
        std::cerr << "saliency-eval-runner: sequence " << seq + 1 << "/" << args.sequences.size() << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "saliency-eval-runner: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

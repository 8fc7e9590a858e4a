// sparseinfer-bench: the in-process half of tests/bench/bench. Decodes a
// video (or makes a synthetic one), runs each engine mode over the same
// frames, and prints one JSON line per mode. The wrapper script adds the
// references (PyTorch, ONNX Runtime, OpenVINO) measured in the same run on
// the frames written with --frames-out, and compares their outputs with the
// dense outputs written with --outputs-out.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/latency_budget.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/npy.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/thresholds.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/json.h"
#include "tools/layer_type.h"
#include "tools/output_compare.h"
#include "tools/policy_gate_options.h"
#include "tools/sparsity_options.h"
#include "tools/video_frames.h"

using namespace sparseinfer;

namespace {

struct Args {
  std::string model;
  std::string video = "synthetic";
  int frames = 30;
  int width = 0, height = 0;
  std::vector<std::string> modes{"dense"};
  int threads = 0;
  Backend backend = Backend::Cpu;
  int warmup = 2;
  std::string frames_out;   // .npy of the preprocessed frames, for the reference
  std::string outputs_out;  // folder: dense outputs, out<k>.npy, frames along axis 0
  bool profile = false;     // dense row: type_ms, time per layer type
  std::string thresholds;   // change mode: calibrated thresholds file
  float threshold = 0.0f;   // change mode: one threshold for every layer otherwise
  // Block mode: block side, and the change gate's threshold.
  int block_size = 32;
  float block_threshold = 0.0f;
  std::string gate = "change";  // block mode: change or policy (tools/policy_gate_options.h)
  tools::ParsedArgs parsed;     // the command line, for the policy options
  // >= 0: time clip frames start.. after `warmup` frames before them on the
  // same stream (so sparse modes start warm); -1: warm up, reset, time from 0.
  int start = -1;
  double latency_budget_ms = 0;  // change and block (change gate) modes: core/control/latency_budget.h
  bool help = false;
  std::optional<SparsityControllerOptions> sparsity;  // change mode: online thresholds (SparseTem IBST)
};

const char* const kUsage =
    "usage: sparseinfer-bench --model M.onnx --size WxH [--video FILE|synthetic] [--frames N]\n"
    "                         [--modes dense,change] [--thresholds F.json | --threshold T]\n"
    "                         [--threads T] [--backend cpu|cuda|auto] [--warmup W] [--frames-out F.npy]\n"
    "                         [--outputs-out DIR] [--profile] [--start S] [--block-size B] [--block-threshold T]\n"
    "                         [--latency-budget MS]\n"
    "                         [--gate change|policy [--cost-target T] [--learning-rate L]\n"
    "                          [--update-interval N] [--policy-file F] [--no-train] [--policy-seed N]]\n"
    "                         [--target-sparsity T [--sparsity-tolerance E] [--sparsity-step M]\n"
    "                          [--sparsity-cycle N] [--sparsity-bracket B]]  (change mode: SparseTem online "
    "thresholds)\n"
    "  --gate KIND also takes a gate of the engine (threshold, input-norm, output-norm,\n"
    "  input-norm-KxK, output-norm-KxK; docs/gates.md): change mode runs it, and block mode\n"
    "  the structured ones as its block gate.\n";

const std::vector<tools::OptionSpec> kBaseOptions = {
    {"model", true},      {"video", true},           {"frames", true},    {"size", true},
    {"modes", true},      {"threads", true},         {"backend", true},   {"warmup", true},
    {"frames-out", true}, {"thresholds", true},      {"threshold", true}, {"start", true},
    {"block-size", true}, {"block-threshold", true}, {"gate", true},      {"outputs-out", true},
    {"profile", false},   {"latency-budget", true},
};

std::vector<tools::OptionSpec> options() {
  std::vector<tools::OptionSpec> specs = kBaseOptions;
  const auto& policy = tools::policy_option_specs();
  specs.insert(specs.end(), policy.begin(), policy.end());
  const auto& sparsity = tools::sparsity_option_specs();
  specs.insert(specs.end(), sparsity.begin(), sparsity.end());
  return specs;
}

// Throws tools::UsageError; `help` is set for --help and nothing else is read.
Args parse(const std::vector<std::string>& argv) {
  const tools::ParsedArgs p = tools::parse_args("", argv, options());
  Args a;
  if (p.has("help")) {
    a.help = true;
    return a;
  }
  if (!p.positional.empty()) throw tools::UsageError("unexpected argument '" + p.positional[0] + "'");
  a.model = p.value("model");
  a.video = p.value("video", a.video);
  if (p.has("frames")) a.frames = static_cast<int>(tools::parse_int(p.value("frames"), "--frames"));
  if (p.has("size")) {
    auto [w, h] = tools::parse_size(p.value("size"), "--size");
    a.width = static_cast<int>(w);
    a.height = static_cast<int>(h);
  }
  if (p.has("modes")) a.modes = tools::split_list(p.value("modes"));
  if (p.has("threads")) a.threads = static_cast<int>(tools::parse_int(p.value("threads"), "--threads"));
  if (p.has("backend")) a.backend = tools::parse_backend(p.value("backend"), "--backend");
  if (p.has("warmup")) a.warmup = static_cast<int>(tools::parse_int(p.value("warmup"), "--warmup"));
  a.frames_out = p.value("frames-out");
  a.outputs_out = p.value("outputs-out");
  a.profile = p.has("profile");
  a.thresholds = p.value("thresholds");
  if (p.has("threshold")) a.threshold = tools::parse_float(p.value("threshold"), "--threshold");
  if (p.has("start")) a.start = static_cast<int>(tools::parse_int(p.value("start"), "--start", 0, 1 << 30));
  if (p.has("block-size"))
    a.block_size = static_cast<int>(tools::parse_int(p.value("block-size"), "--block-size", 1, 4096));
  if (p.has("block-threshold")) a.block_threshold = tools::parse_float(p.value("block-threshold"), "--block-threshold");
  if (p.has("latency-budget")) a.latency_budget_ms = tools::parse_double(p.value("latency-budget"), "--latency-budget");
  if (!(a.latency_budget_ms >= 0)) throw tools::UsageError("--latency-budget must be >= 0 ms");
  a.gate = p.value("gate", "change");
  a.parsed = p;
  {
    const std::vector<std::string> kinds = gate_names();
    if (a.gate != "change" && a.gate != "policy" && std::find(kinds.begin(), kinds.end(), a.gate) == kinds.end())
      throw tools::UsageError("--gate " + a.gate + ": must be change, policy or a gate of the engine (docs/gates.md)");
  }
  a.sparsity = tools::parse_sparsity_options(p);
  tools::refuse_sparsity_with_budget(a.sparsity, a.latency_budget_ms);
  if (a.gate != "policy" && tools::has_policy_options(p))
    throw tools::UsageError("the policy options need --gate policy");
  if (a.start >= 0 && a.warmup > a.start) throw tools::UsageError("--warmup cannot exceed --start");
  if (a.model.empty()) throw tools::UsageError("--model is required");
  if (a.width <= 0) throw tools::UsageError("--size is required");
  if (a.frames <= 0) throw tools::UsageError("--frames must be positive");
  return a;
}

// CPU time of every thread of this process: on a loaded machine it leaves
// out the time the OS ran other processes, which wall-clock medians include.
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Frames' tensors of one output concatenated along axis 0, as the peers save theirs.
void write_stacked(const std::string& path, const std::vector<Tensor>& per_frame) {
  Shape s = per_frame[0].shape();
  if (s.empty()) s = {1};
  s[0] *= static_cast<int64_t>(per_frame.size());
  Tensor stack(per_frame[0].dtype(), s);
  auto* dst = static_cast<unsigned char*>(stack.raw());
  for (const Tensor& t : per_frame) {
    std::memcpy(dst, t.raw(), t.bytes());
    dst += t.bytes();
  }
  write_npy(path, stack);
}

Mode parse_mode(const std::string& m) {
  if (m == "dense") return Mode::Dense;
  if (m == "change") return Mode::Change;
  if (m == "block") return Mode::Block;
  throw Error("mode '" + m + "' is not available (modes: dense, change, block)");
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse({argv + 1, argv + argc});
  } catch (const tools::UsageError& e) {
    std::cerr << "sparseinfer-bench: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  try {
    Model model = load_model(args.model);
    // The model description's preprocessing (defaults without one); the wrapper's peers get these same
    // frames through --frames-out, so every side sees identical inputs.
    const PreprocessOptions pre = preprocess_options(load_model_description(model), args.width, args.height);
    // With --start, the warm-up frames are the clip frames just before the timed ones.
    std::vector<Tensor> warm;
    if (args.start >= 0 && args.warmup > 0)
      warm = tools::read_frames(args.video, args.warmup, pre, args.start - args.warmup);
    std::vector<Tensor> frames = tools::read_frames(args.video, args.frames, pre, std::max(args.start, 0));
    if (!args.frames_out.empty()) {
      const Shape& s = frames[0].shape();
      Tensor stack(DType::Float32, {static_cast<int64_t>(frames.size()), s[1], s[2], s[3]});
      for (size_t i = 0; i < frames.size(); ++i)
        std::memcpy(stack.f32() + i * frames[i].numel(), frames[i].f32(), frames[i].bytes());
      write_npy(args.frames_out, stack);
    }
    std::optional<ThresholdSet> calibrated;
    if (!args.thresholds.empty()) calibrated = read_thresholds(args.thresholds);

    // Dense outputs per frame are the reference every other mode is scored against.
    std::vector<Tensor> dense_out;
    for (const std::string& mode_arg : args.modes) {
      EngineOptions opt;
      opt.backend = args.backend;
      opt.mode = parse_mode(mode_arg);
      opt.threads = args.threads;
      opt.input_shapes = {frames[0].shape()};
      opt.block_size = args.block_size;
      if (args.gate != "change" && args.gate != "policy") opt.gate = args.gate;
      // Timing every layer costs a clock read per layer: only the dense row is profiled.
      opt.profile = args.profile && opt.mode == Mode::Dense;
      Engine engine(model, opt);
      std::shared_ptr<policy::PolicyBlockGate> gate;
      std::unique_ptr<SparsityController> sparsity;
      auto configure = [&](StreamState& st) {
        if (opt.mode == Mode::Block) st.set_all_thresholds(args.block_threshold);
        if (opt.mode == Mode::Block && args.gate == "policy") {
          std::vector<std::string> names;
          for (const TensorInfo& o : engine.outputs()) names.push_back(o.name);
          gate = tools::make_policy_gate(args.parsed, load_model_description(model), names, args.width, args.height,
                                         std::max(1, engine.threads()));
          st.set_block_gate(gate);
        }
        if (opt.mode != Mode::Change) return;
        if (calibrated)
          apply_thresholds(st, *calibrated);
        else
          st.set_all_thresholds(args.threshold);
        if (args.sparsity) sparsity = std::make_unique<SparsityController>(engine, st, *args.sparsity);
      };
      auto state = engine.new_stream();
      configure(*state);
      if (args.start >= 0) {
        for (const Tensor& w : warm) {
          FrameResult r = engine.run(*state, {&w});
          if (sparsity) sparsity->observe(r, *state);
        }
      } else {
        for (int w = 0; w < args.warmup; ++w) engine.run(*state, {&frames[static_cast<size_t>(w) % frames.size()]});
        state = engine.new_stream();
        configure(*state);
      }

      std::vector<double> ms, cpu_ms, layer_ms_sum(engine.layers().size(), 0.0);
      std::vector<std::vector<Tensor>> saved;  // per output, per frame
      StageTimes stages;
      policy::PolicyGateTimes policy_sum;
      double mac_exec = 0, mac_dense = 0, mse_sum = 0, agree_sum = 0, agree_min = 1, executed_sum = 0;
      bool has_agreement = false;
      // Only the sparse modes have thresholds for the budget to move.
      LatencyBudgetSettings budget;
      if (opt.mode == Mode::Change || (opt.mode == Mode::Block && !gate)) budget.budget_ms = args.latency_budget_ms;
      LatencyBudgetController controller(budget);
      double sparsity_sum = 0, in_band_sum = 0;
      int sparsity_frames = 0;
      for (size_t f = 0; f < frames.size(); ++f) {
        const double cpu0 = process_cpu_ms();
        if (controller.enabled()) state->set_threshold_scale(static_cast<float>(controller.factor()));
        FrameResult r = engine.run(*state, {&frames[f]});
        controller.observe(r.times.total_ms, r.dense_frame);
        if (sparsity) sparsity->observe(r, *state);
        cpu_ms.push_back(process_cpu_ms() - cpu0);
        if (sparsity && !r.dense_frame) {
          sparsity_sum += sparsity->mean_sparsity();
          in_band_sum += sparsity->share_in_band();
          ++sparsity_frames;
        }
        ms.push_back(r.times.total_ms);
        if (f > 0) {  // the first frame is dense in every mode: stages describe the steady state
          stages.detect_ms += r.times.detect_ms;
          stages.extract_ms += r.times.extract_ms;
          stages.gather_ms += r.times.gather_ms;
          stages.gemm_ms += r.times.gemm_ms;
          stages.update_ms += r.times.update_ms;
          stages.other_ms += r.times.other_ms;
          if (gate) {
            const policy::PolicyGateTimes& t = gate->last_times();
            policy_sum.forward_ms += t.forward_ms;
            policy_sum.information_gain_ms += t.information_gain_ms;
            policy_sum.backward_ms += t.backward_ms;
            policy_sum.update_ms += t.update_ms;
          }
        }
        mac_exec += static_cast<double>(r.macs_executed);
        executed_sum += r.executed_fraction;
        mac_dense += static_cast<double>(r.macs_dense);
        for (size_t i = 0; i < r.layer_ms.size(); ++i) layer_ms_sum[i] += r.layer_ms[i];
        if (opt.mode == Mode::Dense && !args.outputs_out.empty()) {
          saved.resize(r.outputs.size());
          for (size_t k = 0; k < r.outputs.size(); ++k) saved[k].push_back(*r.outputs[k]);
        }
        if (opt.mode == Mode::Dense && dense_out.size() < frames.size()) dense_out.push_back(*r.outputs[0]);
        if (f < dense_out.size()) {
          tools::Comparison c = tools::compare_outputs(*r.outputs[0], dense_out[f]);
          mse_sum += c.mse;
          agree_sum += c.agreement;
          agree_min = std::min(agree_min, c.agreement);
          has_agreement = c.has_agreement;
        }
      }
      const double n = static_cast<double>(frames.size()), steady = std::max(1.0, n - 1);
      const double med = median(ms);
      auto num = [](double v, int digits) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", digits, v);
        return std::string(buf);
      };
      std::string line =
          "{\"model\":" + tools::json_string(args.model) + ",\"mode\":" + tools::json_string(mode_arg) +
          ",\"backend\":" + tools::json_string(backend_name(engine.backend())) +
          ",\"threads\":" + std::to_string(engine.threads()) + ",\"width\":" + std::to_string(args.width) +
          ",\"height\":" + std::to_string(args.height) + ",\"video\":" + tools::json_string(args.video) +
          ",\"frames\":" + std::to_string(frames.size()) + ",\"ms_median\":" + num(med, 3) +
          ",\"fps\":" + num(1000.0 / med, 3) + ",\"cpu_ms_median\":" + num(median(cpu_ms), 3) +
          ",\"gmacs_dense\":" + num(static_cast<double>(engine.total_macs()) / 1e9, 4) +
          ",\"mac_fraction\":" + num(mac_dense > 0 ? mac_exec / mac_dense : 1.0, 6) +
          ",\"agreement\":" + (has_agreement ? num(agree_sum / n, 6) : "null") +
          ",\"agreement_min\":" + (has_agreement ? num(agree_min, 6) : "null") +
          ",\"mse_vs_dense\":" + num(mse_sum / n, 10) + ",\"state_bytes\":" + std::to_string(state->state_bytes()) +
          ",\"dense_activation_bytes\":" + std::to_string(engine.dense_activation_bytes()) +
          ",\"stage_ms\":{\"detect\":" + num(stages.detect_ms / steady, 3) +
          ",\"extract\":" + num(stages.extract_ms / steady, 3) + ",\"gather\":" + num(stages.gather_ms / steady, 3) +
          ",\"gemm\":" + num(stages.gemm_ms / steady, 3) + ",\"update\":" + num(stages.update_ms / steady, 3) +
          ",\"other\":" + num(stages.other_ms / steady, 3) + "}";
      if (calibrated && opt.mode == Mode::Change) line += ",\"thresholds\":" + tools::json_string(args.thresholds);
      if (controller.enabled()) {
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        line += ",\"latency_budget_ms\":" + num(args.latency_budget_ms, 3) +
                ",\"ms_p95\":" + num(sorted[std::min(sorted.size() - 1, size_t(0.95 * double(sorted.size())))], 3);
      }
      if (opt.mode == Mode::Change) line += ",\"gate\":" + tools::json_string(opt.gate);
      if (sparsity)  // mean over steady frames of the gated layers' sparsity and of the share in the band
        line += ",\"target_sparsity\":" + num(sparsity->options().target, 4) +
                ",\"sparsity\":" + num(sparsity_frames ? sparsity_sum / sparsity_frames : 0.0, 6) +
                ",\"in_band\":" + num(sparsity_frames ? in_band_sum / sparsity_frames : 0.0, 6);
      if (args.start >= 0)
        line += ",\"start\":" + std::to_string(args.start) + ",\"warmup\":" + std::to_string(args.warmup);
      if (opt.mode == Mode::Block)
        line += ",\"block_size\":" + std::to_string(args.block_size) + ",\"gate\":" + tools::json_string(args.gate) +
                (gate ? ",\"cost_target\":" + num(gate->trainer().settings().cost_target, 3)
                      : ",\"block_threshold\":" + num(args.block_threshold, 4)) +
                ",\"executed_fraction\":" + num(executed_sum / n, 6);
      if (gate)  // BlockCopy Table 3's policy columns, mean per steady frame
        line += ",\"policy_ms\":{\"forward\":" + num(policy_sum.forward_ms / steady, 3) +
                ",\"information_gain\":" + num(policy_sum.information_gain_ms / steady, 3) +
                ",\"backward\":" + num(policy_sum.backward_ms / steady, 3) +
                ",\"update\":" + num(policy_sum.update_ms / steady, 3) + "}";
      if (gate) tools::save_policy(args.parsed, *gate);
      if (opt.profile)
        line += ",\"type_ms\":" + tools::type_ms_json(tools::cost_by_type(tools::layer_types(model, engine), engine,
                                                                          layer_ms_sum, static_cast<int>(n)));
      for (size_t k = 0; k < saved.size(); ++k)
        write_stacked(args.outputs_out + "/out" + std::to_string(k) + ".npy", saved[k]);
      std::printf("%s}\n", line.c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "sparseinfer-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

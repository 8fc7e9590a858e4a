// `sparseinfer stream`: a video through the engine, one JSON line per frame
// with what change-based inference did and, optionally, how far it is from
// the dense engine on the same frame.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/video_setup.h"
#include "control/latency_budget.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/gumbel_gates.h"
#include "sparseinfer/thresholds.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/json.h"
#include "tools/output_compare.h"
#include "tools/policy_gate_options.h"
#include "tools/sparsity_options.h"
#include "tools/video_frames.h"

namespace sparseinfer::cli {

using tools::json_string;
using tools::parse_args;
using tools::parse_float;
using tools::parse_int;
using tools::parse_size;
using tools::ParsedArgs;
using tools::UsageError;

void print_stream_help(std::ostream& os) {
  os << "Usage: sparseinfer stream MODEL --video FILE|synthetic [options]\n"
        "\n"
        "Runs a video through the engine and prints one JSON line per frame: frame, dense_frame, ms,\n"
        "mac_fraction, changed_fraction (outputs recomputed, per layer), accepted_fraction (input\n"
        "pixels each change-detecting layer accepted), stage times (detect, extract, gather, gemm,\n"
        "update, other) and state_bytes.\n"
        "\n"
        "Options:\n"
        "  --mode change|dense|block  execution mode (default change)\n"
        "  --block-size B        block mode: block side in input pixels (default 32)\n"
        "  --gate KIND           change mode: the gate that picks the pixels to recompute: threshold\n"
        "                        (CBinfer, default), input-norm, output-norm (Skip-Conv eq. 5, 7) or a\n"
        "                        structured one, input-norm-KxK / output-norm-KxK with K 2, 4 or 8\n"
        "                        (docs/gates.md); gumbel: Skip-Conv's trained gates from --gates-file,\n"
        "                        --threshold then moves the cut (logit > T). Block mode: who picks the\n"
        "                        blocks: change (blocks whose input moved, default), policy (the\n"
        "                        BlockCopy policy net, options below) or a structured norm gate (the\n"
        "                        block is its cell)\n"
        "  --gates-file FILE     the gates train_gumbel_gates.py wrote (docs/gumbel-gates.md)\n"
        "  --block-threshold T   block mode, change or norm gate: execute a block when max |frame -\n"
        "                        last executed frame| (the norm gate: its norm) over it exceeds T (default 0)\n"
        "  --start N             begin at frame N of the video (default 0)\n"
        "  --backend B           cpu, cuda or auto (default auto: the GPU when one can run the network)\n"
        "  --thresholds FILE     per-layer thresholds written by `sparseinfer calibrate`\n"
        "  --threshold T         one threshold for every layer (default 0: exact)\n"
        "  --threshold-scale S   multiply every threshold by S (default 1)\n"
        "  --latency-budget MS   change mode, or block mode with the change gate: move a factor on the\n"
        "                        thresholds each frame so frames fit MS milliseconds (0: off; adds\n"
        "                        threshold_scale to each line; docs/latency-budget.md)\n"
        "  --frames N            stop after N frames (default: the whole video)\n"
        "  --size WxH            network input size (default: the model's, else the video's)\n"
        "  --threads N           cores to use (default: all)\n"
        "  --compare-dense       also run the dense engine and add max_abs_diff, mse, agreement\n"
        "  --profile             add layer_ms: the time of every layer\n"
        "  --decode              add the decoded outputs, as the model description (MODEL.onnx.json)\n"
        "                        says: detections [{box [x1,y1,x2,y2] in frame pixels, score, label}],\n"
        "                        mask_fraction {label: fraction} or class {label, score}\n"
        "  --raw-video WxH       --video is a file of raw RGB24 frames of this size, back to back\n"
        "                        (gst-launch-1.0 ... ! video/x-raw,format=RGB ! filesink)\n"
        "  --frame-size WxH      report boxes in the pixels of a clip of this size (default: the\n"
        "                        video's), e.g. raw frames scaled down from a 768x576 clip\n"
        "\n"
        "Change mode with online thresholds (adds \"sparsity\": the target, the share of gated layers in\n"
        "the band and each one's sparsity and threshold; docs/sparsetem.md):\n"
     << tools::sparsity_options_help()
     << "\n"
        "Block mode with --gate policy (the BlockCopy policy, trained online; adds \"policy\" times):\n"
     << tools::policy_options_help();
}

static std::string fixed(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

const std::vector<tools::OptionSpec> kStreamBaseOptions = {
    {"video", true},   {"mode", true},       {"thresholds", true}, {"threshold", true},       {"threshold-scale", true},
    {"frames", true},  {"size", true},       {"threads", true},    {"compare-dense", false},  {"profile", false},
    {"backend", true}, {"block-size", true}, {"gate", true},       {"block-threshold", true}, {"start", true},
    {"decode", false}, {"raw-video", true},  {"frame-size", true}, {"latency-budget", true},  {"gates-file", true},
};

// The base options plus the policy gate's (tools/policy_gate_options.h).
static std::vector<tools::OptionSpec> stream_options() {
  std::vector<tools::OptionSpec> specs = kStreamBaseOptions;
  const auto& policy = tools::policy_option_specs();
  specs.insert(specs.end(), policy.begin(), policy.end());
  const auto& sparsity = tools::sparsity_option_specs();
  specs.insert(specs.end(), sparsity.begin(), sparsity.end());
  return specs;
}

// The decoded outputs as JSON members (",\"detections\":[...]" etc.).
static std::string decoded_json(const ModelDescription& d, const DecodeResult& r) {
  std::string out;
  switch (r.kind) {
    case DecoderKind::None:
      break;
    case DecoderKind::Ssd:
    case DecoderKind::Centernet:
      out += ",\"detections\":[";
      for (size_t i = 0; i < r.detections.size(); ++i) {
        const Detection& b = r.detections[i];
        out += std::string(i ? "," : "") + "{\"box\":[" + fixed(b.x1, 2) + "," + fixed(b.y1, 2) + "," + fixed(b.x2, 2) +
               "," + fixed(b.y2, 2) + "],\"score\":" + fixed(b.score, 5) +
               ",\"label\":" + json_string(label_name(d, b.label)) + "}";
      }
      out += "]";
      break;
    case DecoderKind::Segmentation:
      out += ",\"mask_fraction\":{";
      for (size_t c = 0; c < r.class_fractions.size(); ++c)
        out += std::string(c ? "," : "") + json_string(label_name(d, int(c))) + ":" + fixed(r.class_fractions[c], 6);
      out += "}";
      break;
    case DecoderKind::Classification:
      out += ",\"class\":{\"label\":" + json_string(label_name(d, r.top_class)) +
             ",\"score\":" + fixed(r.top_score, 6) + "}";
      break;
  }
  return out;
}

// ",\"mask_iou\":X": the mean over foreground classes (every class but 0)
// present in either map of the IoU between this frame's decoded class map and
// the dense engine's (1 when neither has any foreground).
static std::string mask_iou_json(const ModelDescription& description, const Engine& engine, const FrameResult& r,
                                 const FrameResult& d) {
  FrameGeometry g;
  g.network_width = g.frame_width = g.content_width = int(engine.inputs()[0].shape[3]);
  g.network_height = g.frame_height = g.content_height = int(engine.inputs()[0].shape[2]);
  auto decode_map = [&](const FrameResult& result) {
    std::vector<NamedOutput> named;
    for (size_t i = 0; i < result.outputs.size(); ++i) named.push_back({engine.outputs()[i].name, result.outputs[i]});
    return decode_outputs(description, named, g);
  };
  const DecodeResult a = decode_map(r), b = decode_map(d);
  std::map<int32_t, std::pair<int64_t, int64_t>> counts;  // class -> (intersection, union)
  for (size_t i = 0; i < a.class_map.size() && i < b.class_map.size(); ++i) {
    const int32_t x = a.class_map[i], y = b.class_map[i];
    if (x == y) {
      if (x != 0) {
        ++counts[x].first;
        ++counts[x].second;
      }
    } else {
      if (x != 0) ++counts[x].second;
      if (y != 0) ++counts[y].second;
    }
  }
  double sum = 0;
  for (const auto& [cls, iu] : counts) sum += double(iu.first) / double(iu.second);
  return ",\"mask_iou\":" + fixed(counts.empty() ? 1.0 : sum / double(counts.size()), 6);
}

int cmd_stream(const std::vector<std::string>& argv) {
  ParsedArgs args = parse_args("stream", argv, stream_options());
  if (args.has("help")) {
    print_stream_help(std::cout);
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("stream takes one MODEL");
  if (!args.has("video")) throw UsageError("--video FILE (or --video synthetic) is required");
  const std::string mode_name = args.value("mode", "change");
  if (mode_name != "change" && mode_name != "dense" && mode_name != "block")
    throw UsageError("--mode must be change, dense or block");
  const bool block_mode = mode_name == "block";
  if (!block_mode && (args.has("block-size") || args.has("block-threshold")))
    throw UsageError("--block-size and --block-threshold need --mode block");
  if (mode_name == "dense" && args.has("gate")) throw UsageError("--gate needs --mode change or block");
  const bool gumbel_gate = args.value("gate", "") == "gumbel";
  if (gumbel_gate && mode_name != "change") throw UsageError("--gate gumbel needs --mode change");
  if (gumbel_gate != args.has("gates-file")) throw UsageError("--gate gumbel and --gates-file FILE go together");
  const std::string gate_name = args.value("gate", block_mode ? "change" : "threshold");
  const std::vector<std::string> engine_gates = gate_names();
  const bool engine_gate = std::find(engine_gates.begin(), engine_gates.end(), gate_name) != engine_gates.end();
  if (!engine_gate && !gumbel_gate && !(block_mode && (gate_name == "change" || gate_name == "policy"))) {
    std::string choices;
    for (const std::string& g : engine_gates)
      if (!block_mode || g.find('x') != std::string::npos) choices += (choices.empty() ? "" : ", ") + g;
    throw UsageError(block_mode ? "--gate must be change or policy, or a structured gate: " + choices + " (got " +
                                      gate_name + ")"
                                : "--gate " + gate_name + ": must be one of " + choices + ", gumbel");
  }
  const bool policy_gate = block_mode && gate_name == "policy";
  if (!policy_gate && tools::has_policy_options(args))
    throw UsageError(
        "--cost-target, --learning-rate, --update-interval, --policy-file, --no-train and "
        "--policy-seed need --mode block --gate policy");
  if (policy_gate && args.has("block-threshold")) throw UsageError("--block-threshold is for --gate change");
  const int64_t start = args.has("start") ? parse_int(args.value("start"), "--start", 0, 1 << 30) : 0;
  if (args.has("thresholds") && args.has("threshold")) throw UsageError("give --thresholds or --threshold, not both");
  const int64_t max_frames = args.has("frames") ? parse_int(args.value("frames"), "--frames", 1, 1 << 30) : (1 << 30);
  const int threads =
      static_cast<int>(args.has("threads") ? parse_int(args.value("threads"), "--threads", 1, 1024) : 0);
  std::optional<std::pair<int64_t, int64_t>> size;
  if (args.has("size")) size = parse_size(args.value("size"), "--size");
  float threshold = 0.0f, scale = 1.0f;
  try {
    if (args.has("threshold")) threshold = parse_float(args.value("threshold"), "--threshold");
    if (args.has("threshold-scale")) scale = parse_float(args.value("threshold-scale"), "--threshold-scale");
  } catch (const UsageError&) {
    throw UsageError("--threshold and --threshold-scale take numbers");
  }

  LatencyBudgetSettings budget;
  if (args.has("latency-budget")) {
    budget.budget_ms = tools::parse_double(args.value("latency-budget"), "--latency-budget");
    if (!(budget.budget_ms >= 0)) throw UsageError("--latency-budget must be >= 0 ms");
    if (mode_name == "dense" || policy_gate)
      throw UsageError(
          "--latency-budget acts on the thresholds: it needs --mode change, or --mode block --gate change");
    const bool base_zero = block_mode ? !args.has("block-threshold") ||
                                            parse_float(args.value("block-threshold"), "--block-threshold") == 0.0f
                                      : !args.has("thresholds") && threshold == 0.0f;
    if (budget.budget_ms > 0 && (base_zero || scale == 0.0f))
      throw UsageError(std::string("--latency-budget scales the thresholds, so they must not be 0: give ") +
                       (block_mode ? "--block-threshold T" : "--thresholds FILE or --threshold T") + " above 0");
  }
  LatencyBudgetController controller(budget);

  const std::optional<SparsityControllerOptions> sparsity_options = tools::parse_sparsity_options(args);
  if (sparsity_options && mode_name != "change") throw UsageError("--target-sparsity needs --mode change");
  tools::refuse_sparsity_with_budget(sparsity_options, budget.budget_ms);
  const Backend backend = tools::parse_backend(args.value("backend", "auto"), "--backend");
  const std::string video = args.value("video");
  std::optional<std::pair<int64_t, int64_t>> raw_size, frame_size;
  if (args.has("raw-video")) raw_size = parse_size(args.value("raw-video"), "--raw-video");
  if (args.has("frame-size")) frame_size = parse_size(args.value("frame-size"), "--frame-size");
  const bool decode = args.has("decode");
  VideoSetup setup = setup_video(args.positional[0], video, size, raw_size);
  if (decode && setup.description.decoder == DecoderKind::None)
    throw UsageError("--decode: " + args.positional[0] +
                     " has no model description with a decoder (see docs/models.md: MODEL.onnx.json)");
  EngineOptions opt;
  opt.backend = backend;
  opt.mode = block_mode ? Mode::Block : mode_name == "change" ? Mode::Change : Mode::Dense;
  if (args.has("block-size"))
    opt.block_size = static_cast<int>(parse_int(args.value("block-size"), "--block-size", 1, 4096));
  if (engine_gate) opt.gate = gate_name;
  opt.threads = threads;
  opt.input_shapes = {setup.input_shape};
  opt.profile = args.has("profile");
  if (gumbel_gate) opt.gumbel_gates = std::make_shared<GumbelGateSet>(read_gumbel_gates(args.value("gates-file")));
  Engine engine(setup.model, opt);
  auto state = engine.new_stream();
  if (opt.mode == Mode::Change) {
    if (args.has("thresholds"))
      apply_thresholds(*state, read_thresholds(args.value("thresholds")));
    else
      state->set_all_thresholds(threshold);
    state->set_threshold_scale(scale);
  }
  std::unique_ptr<SparsityController> sparsity;
  if (sparsity_options) sparsity = std::make_unique<SparsityController>(engine, *state, *sparsity_options);
  if (block_mode && args.has("block-threshold"))
    state->set_all_thresholds(parse_float(args.value("block-threshold"), "--block-threshold"));
  std::shared_ptr<policy::PolicyBlockGate> policy;
  if (policy_gate) {
    std::vector<std::string> output_names;
    for (const TensorInfo& o : engine.outputs()) output_names.push_back(o.name);
    policy = tools::make_policy_gate(args, setup.description, output_names, int(setup.input_shape[3]),
                                     int(setup.input_shape[2]), threads > 0 ? threads : 1);
    state->set_block_gate(policy);
  }
  std::unique_ptr<Engine> dense;
  std::unique_ptr<StreamState> dense_state;
  if (args.has("compare-dense")) {
    EngineOptions dense_opt = opt;
    dense_opt.mode = Mode::Dense;
    dense_opt.profile = false;
    dense_opt.gumbel_gates = nullptr;
    dense = std::make_unique<Engine>(setup.model, dense_opt);
    dense_state = dense->new_stream();
  }

  VideoSource reader(video, raw_size, setup.preprocess);
  // Boxes come back in the pixels of the frames read, then scaled to --frame-size.
  const FrameGeometry geometry = frame_geometry(reader.frame_width(), reader.frame_height(), setup.preprocess);
  const double to_clip_x = frame_size ? double(frame_size->first) / reader.frame_width() : 1.0;
  const double to_clip_y = frame_size ? double(frame_size->second) / reader.frame_height() : 1.0;
  Tensor frame;
  if (!reader.skip(start)) throw UsageError("--start " + std::to_string(start) + ": the video ends before that frame");
  for (int64_t f = 0; f < max_frames && reader.next(frame); ++f) {
    if (controller.enabled()) state->set_threshold_scale(static_cast<float>(scale * controller.factor()));
    FrameResult r = engine.run(*state, {&frame});
    controller.observe(r.times.total_ms, r.dense_frame);
    if (sparsity) sparsity->observe(r, *state);
    std::string line = "{\"frame\":" + std::to_string(start + f) +
                       ",\"dense_frame\":" + (r.dense_frame ? "true" : "false") +
                       ",\"ms\":" + fixed(r.times.total_ms, 3) + ",\"mac_fraction\":" + fixed(r.mac_fraction(), 6);
    line += ",\"changed_fraction\":{";
    for (size_t i = 0; i < r.layer_stats.size(); ++i) {
      if (i) line += ",";
      line += json_string(engine.layers()[i].name) + ":" + fixed(r.layer_stats[i].changed_fraction, 6);
    }
    // Input pixels each detecting layer accepted as changed (before dilation).
    line += "},\"accepted_fraction\":{";
    bool first = true;
    for (const std::string& name : engine.threshold_layers())
      for (size_t i = 0; i < r.layer_stats.size(); ++i)
        if (engine.layers()[i].name == name) {
          line += std::string(first ? "" : ",") + json_string(name) + ":" +
                  fixed(r.layer_stats[i].input_changed_fraction, 6);
          first = false;
        }
    const StageTimes& t = r.times;
    line += "},\"stage_ms\":{\"detect\":" + fixed(t.detect_ms, 3) + ",\"extract\":" + fixed(t.extract_ms, 3) +
            ",\"gather\":" + fixed(t.gather_ms, 3) + ",\"gemm\":" + fixed(t.gemm_ms, 3) +
            ",\"update\":" + fixed(t.update_ms, 3) + ",\"other\":" + fixed(t.other_ms, 3) + "}";
    if (block_mode) line += ",\"executed_fraction\":" + fixed(r.executed_fraction, 6);
    if (controller.enabled()) line += ",\"threshold_scale\":" + fixed(state->threshold_scale(), 5);
    if (policy) line += tools::policy_json(*policy);
    if (sparsity && !r.dense_frame) line += tools::sparsity_json(*sparsity);
    line += ",\"state_bytes\":" + std::to_string(state->state_bytes());
    if (!r.layer_ms.empty()) {
      line += ",\"layer_ms\":{";
      for (size_t i = 0; i < r.layer_ms.size(); ++i)
        line += std::string(i ? "," : "") + json_string(engine.layers()[i].name) + ":" + fixed(r.layer_ms[i], 3);
      line += "}";
    }
    if (dense) {
      FrameResult d = dense->run(*dense_state, {&frame});
      tools::Comparison c = tools::compare_outputs(*r.outputs[0], *d.outputs[0]);
      line += ",\"max_abs_diff\":" + fixed(c.max_abs_diff, 8) + ",\"mse\":" + fixed(c.mse, 10);
      line += ",\"agreement\":" + (c.has_agreement ? fixed(c.agreement, 6) : std::string("null"));
      if (setup.description.decoder == DecoderKind::Segmentation)
        line += mask_iou_json(setup.description, engine, r, d);
    }
    if (decode) {
      std::vector<NamedOutput> named;
      for (size_t i = 0; i < r.outputs.size(); ++i) named.push_back({engine.outputs()[i].name, r.outputs[i]});
      DecodeResult decoded = decode_outputs(setup.description, named, geometry);
      for (Detection& b : decoded.detections) {
        b.x1 = float(b.x1 * to_clip_x);
        b.x2 = float(b.x2 * to_clip_x);
        b.y1 = float(b.y1 * to_clip_y);
        b.y2 = float(b.y2 * to_clip_y);
      }
      line += decoded_json(setup.description, decoded);
    }
    std::cout << line << "}\n" << std::flush;
  }
  if (policy) tools::save_policy(args, *policy);
  return 0;
}

}  // namespace sparseinfer::cli

// `sparseinfer calibrate`: per-layer change thresholds by the procedure of
// CBinfer §III-F. From the first detecting layer to the last, each layer's
// threshold grows by a factor while the loss against the dense engine stays
// within the budget of the layers so far; the last good value is kept.
// Frames held out after the calibration frames (--holdout) are never fitted
// on: the chosen set is run over them afterwards and their loss reported, so
// a set that only fits the frames it saw is caught (--margin fits below the
// budget to leave room for them).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/video_setup.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/thresholds.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/json.h"
#include "tools/output_compare.h"
#include "tools/video_frames.h"

namespace sparseinfer::cli {

using tools::parse_args;
using tools::parse_double;
using tools::parse_int;
using tools::parse_size;
using tools::ParsedArgs;
using tools::UsageError;

void print_calibrate_help(std::ostream& os) {
  os << "Usage: sparseinfer calibrate MODEL --video FILE|synthetic --max-loss X [options]\n"
        "\n"
        "Chooses a change-detection threshold per layer (CBinfer §III-F) so that change-based\n"
        "inference stays within X of the dense engine on the video's frames, and writes them as a\n"
        "thresholds JSON file for `sparseinfer stream --thresholds`, the benchmark and cbinferconv.\n"
        "\n"
        "Options:\n"
        "  --metric agreement|mse  loss per frame: 1 - argmax agreement with dense, or the MSE\n"
        "                          (default agreement); the loss of a run is its worst frame\n"
        "  --out FILE              where to write (default MODEL with .thresholds.json)\n"
        "  --frames N              frames of the video to calibrate on (default 20)\n"
        "  --start S               first frame to calibrate on (default 0)\n"
        "  --holdout N             then run the chosen set on the N frames after the calibration\n"
        "                          frames, which it was not fitted on, in the same stream, and\n"
        "                          report the loss there (default 0: none)\n"
        "  --margin M              fit to max-loss x (1 - M) on the calibration frames, so that\n"
        "                          frames it did not see keep max-loss (0 <= M < 1, default 0)\n"
        "  --size WxH              network input size (default: the model's, else the video's)\n"
        "  --threads N             cores to use (default: all)\n"
        "  --initial T             first threshold tried for every layer (default 0.001)\n"
        "  --factor F              growth factor of the search (default 2, refined after)\n"
        "  --first-share S         share of the loss budget given to the first layer, the rest\n"
        "                          split evenly (default 0.5: the paper lets the first layer\n"
        "                          introduce most of the loss)\n"
        "  --gate KIND             the change-mode gate the thresholds are for (default threshold;\n"
        "                          see `stream --help`); stream and the element must use the same gate\n"
        "\n"
        "Prints one JSON line on stdout: the loss, mean and worst agreement and mean MAC fraction on\n"
        "the calibration frames and on the held-out ones, and whether the held-out frames kept\n"
        "max-loss (holds).\n";
}

namespace {

struct Calibration {
  Engine& engine;
  const std::vector<Tensor>& frames;
  const std::vector<Tensor>& dense_outputs;
  bool agreement;

  // Worst-frame loss of a run over the frames with these thresholds.
  double loss(const std::map<std::string, float>& thresholds) const {
    auto state = engine.new_stream();
    for (const auto& [layer, t] : thresholds) state->set_threshold(layer, t);
    double worst = 0.0;
    for (size_t f = 0; f < frames.size(); ++f) {
      FrameResult r = engine.run(*state, {&frames[f]});
      tools::Comparison c = tools::compare_outputs(*r.outputs[0], dense_outputs[f]);
      worst = std::max(worst, agreement ? 1.0 - c.agreement : c.mse);
    }
    return worst;
  }
};

// Loss, agreement and cost over a run of consecutive frames.
struct SpanStats {
  int64_t first = 0, last = -1, frames = 0;
  double worst_loss = 0, mean_agreement = 0, min_agreement = 1, mean_mac_fraction = 0;

  void add(int64_t index, double loss, const tools::Comparison& c, double mac_fraction) {
    if (frames == 0) first = index;
    last = index;
    ++frames;
    worst_loss = std::max(worst_loss, loss);
    mean_agreement += (c.agreement - mean_agreement) / double(frames);
    min_agreement = std::min(min_agreement, c.agreement);
    mean_mac_fraction += (mac_fraction - mean_mac_fraction) / double(frames);
  }
};

struct HoldoutReport {
  SpanStats calibration, held_out;
};

// Runs the chosen thresholds on one stream over the calibration frames and
// then the `holdout` frames after them, as the set would run in use (the
// closed loop carries on across the boundary), and measures the two spans
// apart. The held-out frames' dense outputs are computed here: the fit never saw them.
HoldoutReport evaluate_with_holdout(const Engine& change, const Engine& dense,
                                    const std::map<std::string, float>& thresholds, const std::vector<Tensor>& frames,
                                    const std::vector<Tensor>& dense_outputs, const std::string& video,
                                    const PreprocessOptions& pre, int64_t start, int64_t holdout, bool agreement) {
  HoldoutReport report;
  auto state = change.new_stream();
  for (const auto& [layer, t] : thresholds) state->set_threshold(layer, t);
  auto score = [&](const FrameResult& r, const Tensor& reference, int64_t index, SpanStats& span) {
    const tools::Comparison c = tools::compare_outputs(*r.outputs[0], reference);
    span.add(index, agreement ? 1.0 - c.agreement : c.mse, c, r.mac_fraction());
  };
  for (size_t f = 0; f < frames.size(); ++f)
    score(change.run(*state, {&frames[f]}), dense_outputs[f], start + int64_t(f), report.calibration);
  if (holdout == 0) return report;
  tools::FrameReader reader(video, pre);
  if (!reader.skip(start + int64_t(frames.size())))
    throw Error(video + ": --holdout: the video ends at the calibration frames");
  auto dense_state = dense.new_stream();
  Tensor frame;
  for (int64_t h = 0; h < holdout && reader.next(frame); ++h) {
    const FrameResult d = dense.run(*dense_state, {&frame});
    const Tensor reference = *d.outputs[0];
    score(change.run(*state, {&frame}), reference, start + int64_t(frames.size()) + h, report.held_out);
  }
  if (report.held_out.frames < holdout)
    std::fprintf(stderr, "calibrate: the video ended after %lld of the %lld held-out frames\n",
                 static_cast<long long>(report.held_out.frames), static_cast<long long>(holdout));
  return report;
}

std::string span_json(const SpanStats& s, bool agreement) {
  char buf[320];
  std::snprintf(
      buf, sizeof buf,
      "{\"first_frame\":%lld,\"last_frame\":%lld,\"frames\":%lld,\"loss_worst\":%.6g,\"mac_fraction_mean\":%.6f",
      static_cast<long long>(s.first), static_cast<long long>(s.last), static_cast<long long>(s.frames), s.worst_loss,
      s.mean_mac_fraction);
  std::string out = buf;
  if (agreement) {
    std::snprintf(buf, sizeof buf, ",\"agreement_mean\":%.6f,\"agreement_min\":%.6f", s.mean_agreement,
                  s.min_agreement);
    out += buf;
  }
  return out + "}";
}

}  // namespace

const std::vector<tools::OptionSpec> kCalibrateOptions = {
    {"video", true}, {"max-loss", true}, {"metric", true},  {"out", true},    {"frames", true},
    {"size", true},  {"threads", true},  {"initial", true}, {"factor", true}, {"first-share", true},
    {"start", true}, {"holdout", true},  {"margin", true},  {"gate", true},
};

int cmd_calibrate(const std::vector<std::string>& argv) {
  ParsedArgs args = parse_args("calibrate", argv, kCalibrateOptions);
  if (args.has("help")) {
    print_calibrate_help(std::cout);
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("calibrate takes one MODEL");
  if (!args.has("video")) throw UsageError("--video FILE (or --video synthetic) is required");
  if (!args.has("max-loss")) throw UsageError("--max-loss X is required (e.g. 0.005 for 99.5% agreement)");
  const std::string metric = args.value("metric", "agreement");
  if (metric != "agreement" && metric != "mse") throw UsageError("--metric must be agreement or mse");
  double max_loss = 0, initial = 1e-3, factor = 2.0, first_share = 0.5, margin = 0.0;
  try {
    max_loss = parse_double(args.value("max-loss"), "--max-loss");
    initial = parse_double(args.value("initial", "0.001"), "--initial");
    factor = parse_double(args.value("factor", "2"), "--factor");
    first_share = parse_double(args.value("first-share", "0.5"), "--first-share");
    margin = parse_double(args.value("margin", "0"), "--margin");
  } catch (const UsageError&) {
    throw UsageError("--max-loss, --initial, --factor, --first-share and --margin take numbers");
  }
  if (!(margin >= 0 && margin < 1)) throw UsageError("need 0 <= --margin < 1");
  if (!(max_loss >= 0) || !(initial > 0) || !(factor > 1) || !(first_share >= 0 && first_share <= 1))
    throw UsageError("need --max-loss >= 0, --initial > 0, --factor > 1, 0 <= --first-share <= 1");
  const int frames_count = static_cast<int>(parse_int(args.value("frames", "20"), "--frames", 2, 100000));
  const int64_t start = parse_int(args.value("start", "0"), "--start", 0, 1 << 30);
  const int64_t holdout = parse_int(args.value("holdout", "0"), "--holdout", 0, 1 << 30);
  const int threads =
      static_cast<int>(args.has("threads") ? parse_int(args.value("threads"), "--threads", 1, 1024) : 0);
  std::optional<std::pair<int64_t, int64_t>> size;
  if (args.has("size")) size = parse_size(args.value("size"), "--size");
  const std::string model_path = args.positional[0];
  std::string out = args.value("out");
  if (out.empty()) out = std::filesystem::path(model_path).replace_extension(".thresholds.json").string();

  const std::string video = args.value("video");
  VideoSetup setup = setup_video(model_path, video, size);
  std::vector<Tensor> frames = tools::read_frames(video, frames_count, setup.preprocess, start);
  std::cerr << "calibrate: " << frames.size() << " frames of " << video << " from frame " << start << " at "
            << setup.input_shape[3] << "x" << setup.input_shape[2] << ", metric " << metric << ", max loss " << max_loss
            << " (fitted to " << max_loss * (1.0 - margin) << ")\n";

  EngineOptions opt;
  opt.backend = Backend::Cpu;
  opt.threads = threads;
  opt.input_shapes = {setup.input_shape};
  Engine dense(setup.model, opt);
  opt.mode = Mode::Change;
  opt.gate = args.value("gate", "threshold");
  Engine change(setup.model, opt);
  std::vector<Tensor> dense_outputs;
  {
    auto state = dense.new_stream();
    for (const Tensor& f : frames) dense_outputs.push_back(*dense.run(*state, {&f}).outputs[0]);
  }
  const bool agreement = metric == "agreement";
  if (agreement && !tools::compare_outputs(dense_outputs[0], dense_outputs[0]).has_agreement)
    throw Error(model_path + ": the first output has one channel, so argmax agreement is undefined; use --metric mse");

  Calibration cal{change, frames, dense_outputs, agreement};
  const std::vector<std::string> layers = change.threshold_layers();
  std::map<std::string, float> thresholds;
  for (const std::string& l : layers) thresholds[l] = 0.0f;
  // The fit aims below max-loss by the margin; the frames held out show whether that was enough.
  const double fit_loss = max_loss * (1.0 - margin);
  double budget = 0.0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string& layer = layers[i];
    budget += layers.size() == 1 ? fit_loss
              : i == 0           ? fit_loss * first_share
                                 : fit_loss * (1.0 - first_share) / static_cast<double>(layers.size() - 1);
    auto fits = [&](double t, double& loss) {
      thresholds[layer] = static_cast<float>(t);
      loss = cal.loss(thresholds);
      return loss <= budget;
    };
    double loss = 0, good = 0, good_loss = 0, bad = 0;
    // Grow geometrically until the budget is exceeded (or the threshold stops mattering).
    for (double t = initial; t < 1e4; t *= factor) {
      if (!fits(t, loss)) {
        bad = t;
        break;
      }
      good = t;
      good_loss = loss;
    }
    // Refine between the last good and first bad value, in log space.
    for (int step = 0; step < 4 && bad > 0 && good > 0; ++step) {
      double mid = std::sqrt(good * bad);
      if (fits(mid, loss)) {
        good = mid;
        good_loss = loss;
      } else {
        bad = mid;
      }
    }
    thresholds[layer] = static_cast<float>(good);
    std::fprintf(stderr, "calibrate: [%zu/%zu] %-32s threshold %-10.5g loss %.5f (budget %.5f)\n", i + 1, layers.size(),
                 layer.c_str(), good, good_loss, budget);
  }
  // Layer losses do not add up exactly: shrink all thresholds together until the whole set fits.
  double total = cal.loss(thresholds);
  for (int tries = 0; total > fit_loss && tries < 30; ++tries) {
    for (auto& [layer, t] : thresholds) t *= 0.8f;
    total = cal.loss(thresholds);
    std::fprintf(stderr, "calibrate: scaled all thresholds by 0.8, loss %.5f\n", total);
  }
  if (total > fit_loss)
    throw Error("could not meet --max-loss " + std::to_string(max_loss) + " less the margin (loss " +
                std::to_string(total) + ")");

  ThresholdSet set;
  set.model = std::filesystem::path(model_path).filename().string();
  set.input_shape = setup.input_shape;
  set.metric = metric;
  set.max_loss = max_loss;
  set.thresholds = thresholds;
  write_thresholds(out, set);
  std::fprintf(stderr, "calibrate: loss %.5f over %zu frames; wrote %s\n", total, frames.size(), out.c_str());

  const HoldoutReport report = evaluate_with_holdout(change, dense, thresholds, frames, dense_outputs, video,
                                                     setup.preprocess, start, holdout, agreement);
  if (holdout > 0)
    std::fprintf(stderr,
                 "calibrate: %lld held-out frames (%lld-%lld): loss %.5f, agreement mean %.5f, worst %.5f: %s\n",
                 static_cast<long long>(report.held_out.frames), static_cast<long long>(report.held_out.first),
                 static_cast<long long>(report.held_out.last), report.held_out.worst_loss,
                 report.held_out.mean_agreement, report.held_out.min_agreement,
                 report.held_out.worst_loss <= max_loss ? "within --max-loss" : "ABOVE --max-loss");
  std::cout << "{\"thresholds\":" << tools::json_string(out) << ",\"metric\":" << tools::json_string(metric)
            << ",\"max_loss\":" << max_loss << ",\"margin\":" << margin << ",\"fit_loss\":" << fit_loss
            << ",\"calibration\":" << span_json(report.calibration, agreement);
  if (holdout > 0)
    std::cout << ",\"holdout\":" << span_json(report.held_out, agreement)
              << ",\"holds\":" << (report.held_out.worst_loss <= max_loss ? "true" : "false");
  std::cout << "}\n";
  return 0;
}

}  // namespace sparseinfer::cli

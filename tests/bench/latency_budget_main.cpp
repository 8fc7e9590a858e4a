// sparseinfer-budget-bench: the in-process half of tests/bench/latency_budget.py.
// Runs one network over a clip with the latency-budget controller
// (core/control/latency_budget.h) for each budget, and with fixed threshold
// scales found to spend the same mean MAC fraction, and prints one JSON line
// per run: the per-frame trace (time, budget, factor, MAC fraction, error) and
// its summary (p50/p95 time, frames over budget, mean cost, error against the
// dense engine: argmax agreement for maps, AP50 for a detector).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "control/latency_budget.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model_description.h"
#include "sparseinfer/preprocess.h"
#include "sparseinfer/thresholds.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/json.h"
#include "tools/video_frames.h"

using namespace sparseinfer;

namespace {

const char* const kUsage =
    "usage: sparseinfer-budget-bench --model M.onnx --size WxH --video FILE [--start S] [--frames N]\n"
    "         [--mode change|block] [--thresholds F.json | --threshold T] [--block-size B]\n"
    "         [--budgets MS,MS] [--match] [--scales S,S] [--threads T]\n"
    "Prints one JSON line per run: each budget (with --match, then the fixed threshold scale with the\n"
    "same mean MAC fraction), then each fixed --scales entry.\n";

const std::vector<tools::OptionSpec> kOptions = {
    {"model", true},  {"size", true},       {"video", true},     {"start", true},      {"frames", true},
    {"mode", true},   {"thresholds", true}, {"threshold", true}, {"block-size", true}, {"budgets", true},
    {"match", false}, {"scales", true},     {"threads", true},
};

// What the dense engine gave on one frame: its labels (argmax over dim 1) or its boxes.
struct Reference {
  std::vector<uint8_t> labels;
  std::vector<Detection> boxes;
};

struct FrameRecord {
  double ms = 0, factor = 1, mac_fraction = 1, agreement = 1;
  bool dense = false;
  std::vector<Detection> boxes;
};

struct RunSummary {
  std::string line;
  double mean_mac_fraction = 0;
  double mean_log_factor = 0;  // over the frames after the first
};

std::vector<uint8_t> argmax_labels(const Tensor& t) {
  const int64_t classes = t.dim(1), inner = t.numel() / (t.dim(0) * classes);
  std::vector<uint8_t> labels(static_cast<size_t>(t.dim(0) * inner));
  const float* p = t.f32();
  for (int64_t b = 0; b < t.dim(0); ++b)
    for (int64_t i = 0; i < inner; ++i) {
      const float* q = p + b * classes * inner + i;
      int best = 0;
      for (int64_t k = 1; k < classes; ++k)
        if (q[k * inner] > q[best * inner]) best = static_cast<int>(k);
      labels[static_cast<size_t>(b * inner + i)] = static_cast<uint8_t>(best);
    }
  return labels;
}

// AP at IoU 0.5 over all frames, the dense engine's boxes as the truth
// (all-point interpolation, as tests/bench/blockcopy_curves.py computes it).
double ap50(const std::vector<FrameRecord>& runs, const std::vector<Reference>& truth) {
  size_t total = 0;
  for (const Reference& r : truth) total += r.boxes.size();
  if (total == 0) return 1.0;
  struct Ranked {
    float score;
    size_t frame;
    const Detection* box;
  };
  std::vector<Ranked> ranked;
  for (size_t f = 0; f < runs.size(); ++f)
    for (const Detection& d : runs[f].boxes) ranked.push_back({d.score, f, &d});
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
  std::vector<std::vector<bool>> used(truth.size());
  for (size_t f = 0; f < truth.size(); ++f) used[f].assign(truth[f].boxes.size(), false);
  std::vector<std::pair<double, double>> points;  // recall, precision
  double tp = 0, fp = 0;
  for (const Ranked& r : ranked) {
    float best = 0.5f;
    int best_j = -1;
    for (size_t j = 0; j < truth[r.frame].boxes.size(); ++j) {
      const float overlap = intersection_over_union(*r.box, truth[r.frame].boxes[j]);
      if (overlap >= best && !used[r.frame][j]) {
        best = overlap;
        best_j = static_cast<int>(j);
      }
    }
    if (best_j >= 0) {
      used[r.frame][static_cast<size_t>(best_j)] = true;
      tp += 1;
    } else {
      fp += 1;
    }
    points.emplace_back(tp / double(total), tp / (tp + fp));
  }
  double ap = 0, previous = 0, best_precision = 0;
  std::vector<double> max_after(points.size());
  for (size_t i = points.size(); i-- > 0;) max_after[i] = best_precision = std::max(best_precision, points[i].second);
  for (size_t i = 0; i < points.size(); ++i) {
    ap += (points[i].first - previous) * max_after[i];
    previous = points[i].first;
  }
  return ap;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t i = static_cast<size_t>(pos);
  return i + 1 < v.size() ? v[i] + (pos - double(i)) * (v[i + 1] - v[i]) : v[i];
}

std::string num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

struct Bench {
  Model model;
  ModelDescription description;
  PreprocessOptions pre;
  FrameGeometry geometry;
  std::string video;
  int64_t start = 0;
  int frames = 300;
  EngineOptions options;
  std::unique_ptr<Engine> engine;
  std::optional<ThresholdSet> thresholds;
  float threshold = 0.1f;
  bool detector = false;
  std::vector<Reference> reference;

  std::vector<Detection> decode(const Engine& e, const FrameResult& r) const {
    std::vector<NamedOutput> named;
    for (size_t i = 0; i < r.outputs.size(); ++i) named.push_back({e.outputs()[i].name, r.outputs[i]});
    return decode_outputs(description, named, geometry).detections;
  }

  void compute_reference() {
    EngineOptions dense_opt = options;
    dense_opt.mode = Mode::Dense;
    Engine dense(model, dense_opt);
    auto state = dense.new_stream();
    tools::FrameReader reader(video, pre);
    if (!reader.skip(start)) throw Error(video + ": ends before frame " + std::to_string(start));
    Tensor frame;
    for (int f = 0; f < frames && reader.next(frame); ++f) {
      FrameResult r = dense.run(*state, {&frame});
      Reference ref;
      if (detector)
        ref.boxes = decode(dense, r);
      else
        ref.labels = argmax_labels(*r.outputs[0]);
      reference.push_back(std::move(ref));
    }
  }

  // One pass over the clip: with a budget (> 0) the controller sets the
  // factor on the thresholds every frame, else `scale` stays fixed.
  RunSummary run(double budget_ms, double scale) {
    auto state = engine->new_stream();
    if (thresholds)
      apply_thresholds(*state, *thresholds);
    else
      state->set_all_thresholds(threshold);
    LatencyBudgetSettings settings;
    settings.budget_ms = budget_ms;
    LatencyBudgetController controller(settings);
    tools::FrameReader reader(video, pre);
    reader.skip(start);
    std::vector<FrameRecord> records;
    Tensor frame;
    for (size_t f = 0; f < reference.size() && reader.next(frame); ++f) {
      const double factor = budget_ms > 0 ? controller.factor() : scale;
      state->set_threshold_scale(static_cast<float>(factor));
      FrameResult r = engine->run(*state, {&frame});
      controller.observe(r.times.total_ms, r.dense_frame);
      FrameRecord rec;
      rec.ms = r.times.total_ms;
      rec.factor = factor;
      rec.mac_fraction = r.mac_fraction();
      rec.dense = r.dense_frame;
      if (detector) {
        rec.boxes = decode(*engine, r);
      } else {
        const std::vector<uint8_t> labels = argmax_labels(*r.outputs[0]);
        size_t same = 0;
        for (size_t i = 0; i < labels.size(); ++i) same += labels[i] == reference[f].labels[i];
        rec.agreement = double(same) / double(labels.size());
      }
      records.push_back(std::move(rec));
    }
    std::vector<double> ms, macs, agreement;
    size_t over = 0;
    for (const FrameRecord& r : records) {
      ms.push_back(r.ms);
      macs.push_back(r.mac_fraction);
      agreement.push_back(r.agreement);
      if (budget_ms > 0 && r.ms > budget_ms) ++over;
    }
    RunSummary out;
    double mac_sum = 0, ms_sum = 0, agree_sum = 0, agree_min = 1;
    for (size_t i = 0; i < records.size(); ++i) {
      mac_sum += macs[i];
      ms_sum += ms[i];
      agree_sum += agreement[i];
      agree_min = std::min(agree_min, agreement[i]);
    }
    const double n = double(records.size());
    out.mean_mac_fraction = mac_sum / n;
    for (size_t i = 1; i < records.size(); ++i) out.mean_log_factor += std::log(records[i].factor) / (n - 1);
    std::string line = "{\"model\":" + tools::json_string(model.path) +
                       ",\"mode\":" + tools::json_string(mode_name(options.mode)) +
                       ",\"threads\":" + std::to_string(engine->threads()) + ",\"width\":" + std::to_string(pre.width) +
                       ",\"height\":" + std::to_string(pre.height) + ",\"start\":" + std::to_string(start) +
                       ",\"frames\":" + std::to_string(records.size());
    line += budget_ms > 0 ? ",\"budget_ms\":" + num(budget_ms, 3) : ",\"fixed_scale\":" + num(scale, 5);
    line += ",\"ms_mean\":" + num(ms_sum / n, 3) + ",\"ms_p50\":" + num(quantile(ms, 0.5), 3) +
            ",\"ms_p95\":" + num(quantile(ms, 0.95), 3) + ",\"ms_max\":" + num(quantile(ms, 1.0), 3);
    if (budget_ms > 0)
      line += ",\"p95_over_budget\":" + num(quantile(ms, 0.95) / budget_ms, 4) +
              ",\"frames_over_budget\":" + std::to_string(over);
    line += ",\"mac_fraction_mean\":" + num(out.mean_mac_fraction, 6);
    if (detector)
      line += ",\"ap50\":" + num(ap50(records, reference), 5);
    else
      line += ",\"agreement_mean\":" + num(agree_sum / n, 6) + ",\"agreement_min\":" + num(agree_min, 6);
    auto series = [&](const char* name, auto get, int digits) {
      line += std::string(",\"") + name + "\":[";
      for (size_t i = 0; i < records.size(); ++i) {
        if (i) line += ',';
        line += num(get(records[i]), digits);
      }
      line += "]";
    };
    series(
        "trace_ms", [](const FrameRecord& r) { return r.ms; }, 3);
    series(
        "trace_factor", [](const FrameRecord& r) { return r.factor; }, 5);
    series(
        "trace_mac_fraction", [](const FrameRecord& r) { return r.mac_fraction; }, 6);
    if (!detector)
      series(
          "trace_agreement", [](const FrameRecord& r) { return r.agreement; }, 6);
    out.line = line + "}";
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const tools::ParsedArgs p = tools::parse_args("", {argv + 1, argv + argc}, kOptions);
    if (p.has("help")) {
      std::cout << kUsage;
      return 0;
    }
    if (!p.has("model") || !p.has("size") || !p.has("video"))
      throw tools::UsageError("--model, --size and --video are required");
    Bench b;
    b.model = load_model(p.value("model"));
    b.description = load_model_description(b.model);
    auto [w, h] = tools::parse_size(p.value("size"), "--size");
    b.pre = preprocess_options(b.description, static_cast<int>(w), static_cast<int>(h));
    b.video = p.value("video");
    auto [vw, vh] = tools::video_size(b.video);
    b.geometry = frame_geometry(vw, vh, b.pre);
    b.start = p.has("start") ? tools::parse_int(p.value("start"), "--start", 0, 1 << 30) : 0;
    b.frames = static_cast<int>(p.has("frames") ? tools::parse_int(p.value("frames"), "--frames", 2, 1 << 20) : 300);
    const std::string mode = p.value("mode", "change");
    if (mode != "change" && mode != "block") throw tools::UsageError("--mode must be change or block");
    b.options.backend = Backend::Cpu;
    b.options.mode = mode == "block" ? Mode::Block : Mode::Change;
    b.options.threads =
        static_cast<int>(p.has("threads") ? tools::parse_int(p.value("threads"), "--threads", 1, 1024) : 0);
    b.options.input_shapes = {{1, 3, h, w}};
    if (p.has("block-size"))
      b.options.block_size = static_cast<int>(tools::parse_int(p.value("block-size"), "--block-size", 1, 4096));
    if (p.has("thresholds")) b.thresholds = read_thresholds(p.value("thresholds"));
    if (p.has("threshold")) b.threshold = tools::parse_float(p.value("threshold"), "--threshold");
    b.detector = b.description.decoder == DecoderKind::Ssd || b.description.decoder == DecoderKind::Centernet;
    b.engine = std::make_unique<Engine>(b.model, b.options);
    std::cerr << "budget-bench: dense reference over " << b.frames << " frames\n";
    b.compute_reference();
    auto list = [&](const char* name) {
      std::vector<double> v;
      if (p.has(name))
        for (const std::string& s : tools::split_list(p.value(name)))
          v.push_back(tools::parse_double(s, std::string("--") + name));
      return v;
    };
    for (double budget : list("budgets")) {
      if (!(budget > 0)) throw tools::UsageError("--budgets must be positive");
      RunSummary run = b.run(budget, 1.0);
      std::cout << run.line << "\n" << std::flush;
      if (!p.has("match")) continue;
      // The fixed scale that spends the same mean MAC fraction: bisect in log scale
      // (the MAC fraction falls as the scale grows).
      double lo = std::exp(run.mean_log_factor) / 8, hi = std::exp(run.mean_log_factor) * 8;
      RunSummary best;
      double best_gap = 1e9;
      for (int step = 0; step < 7; ++step) {
        const double mid = std::sqrt(lo * hi);
        RunSummary fixed = b.run(0, mid);
        const double gap = fixed.mean_mac_fraction / run.mean_mac_fraction - 1.0;
        std::cerr << "budget-bench: budget " << budget << " ms: scale " << mid << " gives MAC fraction "
                  << fixed.mean_mac_fraction << " (budget run " << run.mean_mac_fraction << ")\n";
        if (std::fabs(gap) < best_gap) {
          best_gap = std::fabs(gap);
          best = fixed;
        }
        if (best_gap < 0.02) break;
        (gap > 0 ? lo : hi) = mid;
      }
      std::string line = best.line;
      line.insert(1, "\"matches_budget_ms\":" + num(budget, 3) + ",\"mac_gap\":" + num(best_gap, 4) + ",");
      std::cout << line << "\n" << std::flush;
    }
    for (double scale : list("scales")) std::cout << b.run(0, scale).line << "\n" << std::flush;
  } catch (const tools::UsageError& e) {
    std::cerr << "sparseinfer-budget-bench: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sparseinfer-budget-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

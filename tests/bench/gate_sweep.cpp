// sparseinfer-gate-sweep: cost against accuracy of the change-mode gates
// (CBinfer's threshold gate and Skip-Conv's norm gates, docs/gates.md) over
// a threshold sweep. Reads segments of consecutive clip frames, runs the dense
// engine on them once, then every (gate, threshold) in change mode, each
// segment from a reset (its first frame dense, left out of the means). Prints
// one JSON line per run: mean MAC fraction, argmax agreement with dense (mean
// and worst frame), the mean foreground-mask IoU with dense for segmentation
// models, and, for detectors, the decoded boxes per frame (the dense run's
// too), from which tests/bench/gate_curves.py computes AP50.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "sparseinfer/decode.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/model_description.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/json.h"
#include "tools/output_compare.h"
#include "tools/video_frames.h"

using namespace sparseinfer;

namespace {

const char* const kUsage =
    "usage: sparseinfer-gate-sweep --model M.onnx --video FILE --size WxH --segments START:COUNT,...\n"
    "                              --sweep GATE=T1,T2,... [--sweep ...] [--threads N]\n";

std::string num(double v, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

struct Segment {
  int64_t start = 0;
  int count = 0;
};

// The foreground classes' mean IoU between two class maps (1 when neither has any).
double mask_iou(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::map<int32_t, std::pair<int64_t, int64_t>> counts;  // class -> (intersection, union)
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] == b[i]) {
      if (a[i] != 0) ++counts[a[i]].first, ++counts[a[i]].second;
    } else {
      if (a[i] != 0) ++counts[a[i]].second;
      if (b[i] != 0) ++counts[b[i]].second;
    }
  }
  double sum = 0;
  for (const auto& [cls, iu] : counts) sum += double(iu.first) / double(iu.second);
  return counts.empty() ? 1.0 : sum / double(counts.size());
}

std::string detections_json(const std::vector<Detection>& boxes) {
  std::string out = "[";
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Detection& b = boxes[i];
    out += std::string(i ? "," : "") + "{\"box\":[" + num(b.x1, 2) + "," + num(b.y1, 2) + "," + num(b.x2, 2) + "," +
           num(b.y2, 2) + "],\"score\":" + num(b.score, 5) + "}";
  }
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    tools::ParsedArgs args = tools::parse_args("gate-sweep", {argv + 1, argv + argc},
                                               {{"model", true},
                                                {"video", true},
                                                {"size", true},
                                                {"segments", true},
                                                {"sweep", true, true},
                                                {"threads", true}});
    if (args.has("help")) {
      std::cout << kUsage;
      return 0;
    }
    for (const char* required : {"model", "video", "size", "segments", "sweep"})
      if (!args.has(required)) throw tools::UsageError(std::string("--") + required + " is required");
    const auto size = tools::parse_size(args.value("size"), "--size");
    const int threads = args.has("threads") ? int(tools::parse_int(args.value("threads"), "--threads", 1, 64)) : 0;
    std::vector<Segment> segments;
    for (const std::string& s : tools::split_list(args.value("segments"))) {
      const size_t colon = s.find(':');
      if (colon == std::string::npos) throw tools::UsageError("--segments takes START:COUNT, got '" + s + "'");
      segments.push_back({tools::parse_int(s.substr(0, colon), "--segments start", 0, 1 << 30),
                          int(tools::parse_int(s.substr(colon + 1), "--segments count", 2, 100000))});
    }
    std::vector<std::pair<std::string, std::vector<float>>> sweeps;
    for (const std::string& s : args.values("sweep")) {
      const size_t eq = s.find('=');
      if (eq == std::string::npos) throw tools::UsageError("--sweep takes GATE=T1,T2,..., got '" + s + "'");
      std::vector<float> ts;
      for (const std::string& t : tools::split_list(s.substr(eq + 1))) ts.push_back(tools::parse_float(t, "--sweep"));
      sweeps.push_back({s.substr(0, eq), ts});
    }

    const std::string video = args.value("video");
    Model model = load_model(args.value("model"));
    const ModelDescription description = load_model_description(model);
    const PreprocessOptions pre = preprocess_options(description, int(size.first), int(size.second));
    const auto [clip_w, clip_h] = tools::video_size(video);
    const FrameGeometry geometry = frame_geometry(clip_w, clip_h, pre);
    std::vector<std::vector<Tensor>> frames;
    for (const Segment& s : segments) frames.push_back(tools::read_frames(video, s.count, pre, s.start));

    EngineOptions opt;
    opt.threads = threads;
    opt.input_shapes = {frames[0][0].shape()};
    opt.mode = Mode::Dense;
    Engine dense(model, opt);
    auto decode = [&](const Engine& engine, const FrameResult& r) {
      std::vector<NamedOutput> named;
      for (size_t i = 0; i < r.outputs.size(); ++i) named.push_back({engine.outputs()[i].name, r.outputs[i]});
      return decode_outputs(description, named, geometry);
    };
    const bool detector = description.decoder == DecoderKind::Ssd || description.decoder == DecoderKind::Centernet;
    const bool segmenter = description.decoder == DecoderKind::Segmentation;
    // Dense references: the first output, the class map, the boxes (by clip frame).
    std::vector<std::vector<Tensor>> dense_out(segments.size());
    std::vector<std::vector<std::vector<int32_t>>> dense_maps(segments.size());
    std::string dense_boxes;
    for (size_t s = 0; s < segments.size(); ++s) {
      auto state = dense.new_stream();
      for (size_t f = 0; f < frames[s].size(); ++f) {
        FrameResult r = dense.run(*state, {&frames[s][f]});
        dense_out[s].push_back(*r.outputs[0]);
        if (segmenter) dense_maps[s].push_back(decode(dense, r).class_map);
        if (detector && f > 0)
          dense_boxes += std::string(dense_boxes.empty() ? "" : ",") + "\"" +
                         std::to_string(segments[s].start + int64_t(f)) +
                         "\":" + detections_json(decode(dense, r).detections);
      }
    }
    std::string head = "{\"model\":" + tools::json_string(args.value("model")) +
                       ",\"width\":" + std::to_string(size.first) + ",\"height\":" + std::to_string(size.second) +
                       ",\"segments\":\"" + args.value("segments") + "\"";
    if (detector) std::cout << head << ",\"gate\":\"dense\",\"detections\":{" << dense_boxes << "}}\n" << std::flush;

    for (const auto& [gate, thresholds] : sweeps) {
      EngineOptions copt = opt;
      copt.mode = Mode::Change;
      copt.gate = gate;
      Engine change(model, copt);
      for (float t : thresholds) {
        double macs = 0, agree = 0, agree_min = 1, iou = 0, accepted = 0;
        int steady = 0;
        bool has_agreement = false;
        std::string boxes;
        for (size_t s = 0; s < segments.size(); ++s) {
          auto state = change.new_stream();
          state->set_all_thresholds(t);
          for (size_t f = 0; f < frames[s].size(); ++f) {
            FrameResult r = change.run(*state, {&frames[s][f]});
            if (f == 0) continue;  // dense by design
            ++steady;
            macs += r.mac_fraction();
            for (size_t l = 0; l < r.layer_stats.size(); ++l)
              if (change.layers()[l].name == change.threshold_layers()[0])
                accepted += r.layer_stats[l].input_changed_fraction;
            tools::Comparison c = tools::compare_outputs(*r.outputs[0], dense_out[s][f]);
            has_agreement = c.has_agreement;
            agree += c.agreement;
            agree_min = std::min(agree_min, c.agreement);
            if (segmenter) iou += mask_iou(decode(change, r).class_map, dense_maps[s][f]);
            if (detector)
              boxes += std::string(boxes.empty() ? "" : ",") + "\"" + std::to_string(segments[s].start + int64_t(f)) +
                       "\":" + detections_json(decode(change, r).detections);
          }
        }
        std::string line = head + ",\"gate\":" + tools::json_string(gate) + ",\"threshold\":" + num(t, 6) +
                           ",\"frames\":" + std::to_string(steady) + ",\"mac_fraction\":" + num(macs / steady) +
                           ",\"first_layer_accepted\":" + num(accepted / steady);
        if (has_agreement) line += ",\"agreement\":" + num(agree / steady) + ",\"agreement_min\":" + num(agree_min);
        if (segmenter) line += ",\"mask_iou\":" + num(iou / steady);
        if (detector) line += ",\"detections\":{" + boxes + "}";
        std::cout << line << "}\n" << std::flush;
      }
    }
    return 0;
  } catch (const tools::UsageError& e) {
    std::cerr << "sparseinfer-gate-sweep: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sparseinfer-gate-sweep: " << e.what() << "\n";
    return 1;
  }
}

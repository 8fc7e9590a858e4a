// `sparseinfer info`: what a model is and what it costs at a given input size.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "ops/op.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"
#include "tools/json.h"
#include "tools/layer_type.h"
#include "tools/video_frames.h"

namespace sparseinfer::cli {

using tools::json_shape;
using tools::json_string;
using tools::json_strings;
using tools::parse_args;
using tools::parse_shape;
using tools::parse_size;
using tools::ParsedArgs;
using tools::UsageError;

namespace {

// Declared dimensions with "?" for symbolic ones.
std::string dims_str(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += ',';
    out += dims[i] < 0 ? std::string("?") : std::to_string(dims[i]);
  }
  return out + "]";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// What the command line says about input sizes, checked before the model loads.
struct SizeRequest {
  std::vector<Shape> input_shapes;                  // --input-shape, one per graph input
  std::optional<std::pair<int64_t, int64_t>> size;  // --size as {W, H}
};

SizeRequest parse_size_request(const ParsedArgs& args) {
  SizeRequest req;
  for (const auto& s : args.values("input-shape")) req.input_shapes.push_back(parse_shape(s, "--input-shape"));
  if (args.has("size")) req.size = parse_size(args.value("size"), "--size");
  return req;
}

// Compiled input shapes from the request, or from the declared shapes.
std::vector<Shape> choose_input_shapes(const Model& model, const SizeRequest& req) {
  if (!req.input_shapes.empty()) {
    if (req.input_shapes.size() != model.inputs.size())
      throw UsageError("the model has " + std::to_string(model.inputs.size()) + " inputs but " +
                       std::to_string(req.input_shapes.size()) + " --input-shape options were given");
    return req.input_shapes;
  }
  std::vector<Shape> shapes;
  bool size_used = false;
  for (const ValueInfo& vi : model.inputs) {
    Shape s = vi.dims;
    if (req.size && s.size() == 4) {
      s[3] = req.size->first;
      s[2] = req.size->second;
      size_used = true;
    }
    // A symbolic batch dimension is the usual export artefact: run one image.
    if (!s.empty() && s[0] < 0) s[0] = 1;
    if (std::any_of(s.begin(), s.end(), [](int64_t d) { return d < 0; }))
      throw UsageError("input '" + vi.name + "' has symbolic dimensions " + dims_str(vi.dims) +
                       "; give the input size with --size WxH" +
                       (s.size() == 4 ? std::string() : std::string(" or --input-shape")));
    shapes.push_back(std::move(s));
  }
  if (req.size && !size_used) throw UsageError("--size needs a 4-D (NCHW) input; use --input-shape instead");
  return shapes;
}

void print_ops(bool json) {
  std::vector<std::string> ops = supported_ops();
  if (json) {
    std::cout << "{\"supported_ops\":" << json_strings(ops) << "}\n";
    return;
  }
  std::cout << "Supported ONNX operators (default domain, " << ops.size() << "):\n";
  for (const auto& op : ops) std::cout << "  " << op << "\n";
}

void print_json(const Model& model, const Engine& engine) {
  std::ostringstream os;
  os << "{\"model\":" << json_string(model.path) << ",\"opset\":" << model.opset
     << ",\"producer\":" << json_string(model.producer) << ",\"inputs\":[";
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    const ValueInfo& vi = model.inputs[i];
    os << (i ? "," : "") << "{\"name\":" << json_string(vi.name) << ",\"dtype\":" << json_string(dtype_name(vi.dtype))
       << ",\"declared_shape\":" << json_shape(vi.dims) << ",\"shape\":" << json_shape(engine.inputs()[i].shape) << "}";
  }
  os << "],\"outputs\":[";
  for (size_t i = 0; i < engine.outputs().size(); ++i) {
    const TensorInfo& ti = engine.outputs()[i];
    os << (i ? "," : "") << "{\"name\":" << json_string(ti.name) << ",\"dtype\":" << json_string(dtype_name(ti.dtype))
       << ",\"declared_shape\":" << json_shape(model.outputs[i].dims) << ",\"shape\":" << json_shape(ti.shape) << "}";
  }
  os << "],\"layers\":[";
  for (size_t i = 0; i < engine.layers().size(); ++i) {
    const LayerInfo& l = engine.layers()[i];
    os << (i ? "," : "") << "{\"name\":" << json_string(l.name) << ",\"op\":" << json_string(l.op_type)
       << ",\"inputs\":" << json_strings(l.inputs) << ",\"outputs\":" << json_strings(l.outputs)
       << ",\"output_shapes\":[";
    for (size_t k = 0; k < l.output_shapes.size(); ++k) os << (k ? "," : "") << json_shape(l.output_shapes[k]);
    os << "],\"params\":" << l.params << ",\"macs\":" << l.macs << "}";
  }
  os << "],\"total_params\":" << engine.total_params() << ",\"total_macs\":" << engine.total_macs()
     << ",\"gmacs\":" << fixed(static_cast<double>(engine.total_macs()) / 1e9, 6) << "}\n";
  std::cout << os.str();
}

void print_text(const Model& model, const Engine& engine) {
  std::ostringstream os;
  os << "model:    " << model.path << "\n"
     << "opset:    " << model.opset << "\n"
     << "producer: " << (model.producer.empty() ? "(unknown)" : model.producer) << "\n"
     << "inputs:\n";
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    const ValueInfo& vi = model.inputs[i];
    os << "  " << vi.name << "  " << dtype_name(vi.dtype) << " " << dims_str(vi.dims);
    if (engine.inputs()[i].shape != vi.dims) os << "  (compiled as " << shape_str(engine.inputs()[i].shape) << ")";
    os << "\n";
  }
  os << "outputs:\n";
  for (const TensorInfo& ti : engine.outputs())
    os << "  " << ti.name << "  " << dtype_name(ti.dtype) << " " << shape_str(ti.shape) << "\n";

  // Layer table with columns sized to their contents.
  std::vector<std::vector<std::string>> rows = {{"#", "name", "op", "output shape", "params", "MACs"}};
  for (size_t i = 0; i < engine.layers().size(); ++i) {
    const LayerInfo& l = engine.layers()[i];
    std::string shapes;
    for (size_t k = 0; k < l.output_shapes.size(); ++k) {
      if (k) shapes += ' ';
      shapes += shape_str(l.output_shapes[k]);
    }
    rows.push_back({std::to_string(i), l.name, l.op_type, shapes, std::to_string(l.params), std::to_string(l.macs)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  os << "layers (" << engine.layers().size() << "):\n";
  for (const auto& r : rows) {
    os << " ";
    for (size_t c = 0; c < r.size(); ++c) {
      bool right = c == 0 || c >= 4;  // numbers right-aligned
      std::string pad(width[c] - r[c].size(), ' ');
      os << "  " << (right ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : ""));
    }
    os << "\n";
  }
  os << "total params: " << engine.total_params() << " (" << fixed(static_cast<double>(engine.total_params()) / 1e6, 3)
     << " M)\n"
     << "total MACs:   " << engine.total_macs() << " (" << fixed(static_cast<double>(engine.total_macs()) / 1e9, 3)
     << " GMACs)\n";
  std::cout << os.str();
}

// --profile: the dense engine on real frames, time per layer type.
struct ProfileRequest {
  std::string video = "synthetic";
  int frames = 10;
  int warmup = 2;
  int threads = 0;
};

void print_profile(const Model& model, const std::vector<Shape>& shapes, const ProfileRequest& req, bool json) {
  if (shapes.size() != 1 || shapes[0].size() != 4 || shapes[0][1] != 3 || model.inputs[0].dtype != DType::Float32)
    throw Error(model.path + ": --profile runs video frames and needs one float NCHW image input with 3 channels");
  EngineOptions options;
  options.backend = Backend::Cpu;
  options.mode = Mode::Dense;
  options.threads = req.threads;
  options.input_shapes = shapes;
  options.profile = true;
  Engine engine(model, options);
  PreprocessOptions pre;
  pre.width = static_cast<int>(shapes[0][3]);
  pre.height = static_cast<int>(shapes[0][2]);
  std::vector<Tensor> frames = tools::read_frames(req.video, req.frames, pre);
  auto state = engine.new_stream();
  for (int w = 0; w < req.warmup; ++w) engine.run(*state, {&frames[static_cast<size_t>(w) % frames.size()]});
  std::vector<double> layer_ms(engine.layers().size(), 0.0), total;
  for (const Tensor& f : frames) {
    FrameResult r = engine.run(*state, {&f});
    for (size_t i = 0; i < r.layer_ms.size(); ++i) layer_ms[i] += r.layer_ms[i];
    total.push_back(r.times.total_ms);
  }
  std::sort(total.begin(), total.end());
  const double median = total[total.size() / 2];
  const int n = static_cast<int>(frames.size());
  std::vector<tools::TypeCost> costs = tools::cost_by_type(tools::layer_types(model, engine), engine, layer_ms, n);
  double sum = 0;
  for (const auto& c : costs) sum += c.ms;
  if (json) {
    std::cout << "{\"model\":" << json_string(model.path) << ",\"shape\":" << json_shape(shapes[0])
              << ",\"threads\":" << engine.threads() << ",\"frames\":" << n << ",\"ms_median\":" << fixed(median, 3)
              << ",\"layers_ms\":" << fixed(sum, 3) << ",\"type_ms\":" << tools::type_ms_json(costs) << ",\"types\":[";
    for (size_t i = 0; i < costs.size(); ++i)
      std::cout << (i ? "," : "") << "{\"type\":" << json_string(costs[i].type) << ",\"layers\":" << costs[i].layers
                << ",\"macs\":" << costs[i].macs << ",\"ms\":" << fixed(costs[i].ms, 4) << "}";
    std::cout << "]}\n";
    return;
  }
  std::ostringstream os;
  os << "model:    " << model.path << "\n"
     << "input:    " << shape_str(shapes[0]) << ", " << n << " frames of " << req.video << ", " << engine.threads()
     << " threads, dense\n"
     << "frame:    " << fixed(median, 3) << " ms median (layers sum to " << fixed(sum, 3) << " ms on average)\n";
  char line[160];
  std::snprintf(line, sizeof line, "  %-20s %6s %10s %10s %7s %9s\n", "layer type", "layers", "GMACs", "ms/frame",
                "share", "GMAC/s");
  os << line;
  for (const auto& c : costs) {
    const double gmacs = static_cast<double>(c.macs) / 1e9;
    std::snprintf(line, sizeof line, "  %-20s %6d %10.4f %10.3f %6.1f%% %9s\n", c.type.c_str(), c.layers, gmacs, c.ms,
                  sum > 0 ? 100.0 * c.ms / sum : 0.0,
                  c.macs > 0 && c.ms > 0 ? fixed(gmacs / c.ms * 1e3, 2).c_str() : "-");
    os << line;
  }
  std::cout << os.str();
}

}  // namespace

void print_info_help(std::ostream& os) {
  os << "Usage: sparseinfer info MODEL [--size WxH | --input-shape N,C,H,W ...] [--json]\n"
        "       sparseinfer info --profile MODEL [--size WxH] [--video FILE|synthetic] [--frames N]\n"
        "                        [--threads T] [--json]\n"
        "       sparseinfer info --ops [--json]\n"
        "\n"
        "Shows the model's path, opset, producer, inputs and outputs, then one row per\n"
        "executed layer (name, operator, output shape, parameters, multiply-accumulates)\n"
        "for the given input size, and the totals.\n"
        "\n"
        "Options:\n"
        "  --size WxH            input width and height for every 4-D (NCHW) input;\n"
        "                        needed when the model declares symbolic H/W\n"
        "  --input-shape SHAPE   full shape of one input (e.g. 1,3,224,224); give it once\n"
        "                        per graph input, in graph order\n"
        "  --json                print one JSON object instead of the text report\n"
        "  --ops                 list the supported operators and exit\n"
        "  --profile             run the dense CPU engine on video frames and print the\n"
        "                        time per layer type (conv KxK, conv 1x1, depthwise,\n"
        "                        pool, element-wise, ...) instead of the layer table\n"
        "  --video FILE          --profile: frames from this video (default: synthetic)\n"
        "  --frames N            --profile: timed frames (default 10), after 2 warm-up runs\n"
        "  --threads T           --profile: engine threads (default: all cores)\n"
        "  -h, --help            show this help\n"
        "\n"
        "Without --size/--input-shape the declared shapes are used (a symbolic batch\n"
        "dimension counts as 1).\n";
}

int cmd_info(const std::vector<std::string>& argv) {
  ParsedArgs args = parse_args("info", argv,
                               {{"size", true, false},
                                {"input-shape", true, true},
                                {"json", false, false},
                                {"ops", false, false},
                                {"profile", false, false},
                                {"video", true, false},
                                {"frames", true, false},
                                {"threads", true, false}});
  if (args.has("help")) {
    print_info_help(std::cout);
    return 0;
  }
  if (args.has("ops")) {
    if (!args.positional.empty() || args.has("size") || args.has("input-shape"))
      throw UsageError("--ops takes no model or input size");
    print_ops(args.has("json"));
    return 0;
  }
  if (args.positional.empty()) throw UsageError("no MODEL given");
  if (args.positional.size() > 1) throw UsageError("unexpected argument '" + args.positional[1] + "'");
  if (args.has("size") && args.has("input-shape")) throw UsageError("give either --size or --input-shape, not both");

  SizeRequest req = parse_size_request(args);
  const bool profile = args.has("profile");
  if (!profile && (args.has("video") || args.has("frames") || args.has("threads")))
    throw UsageError("--video, --frames and --threads go with --profile");
  ProfileRequest prof;
  prof.video = args.value("video", prof.video);
  if (args.has("frames")) prof.frames = static_cast<int>(tools::parse_int(args.value("frames"), "--frames", 1, 100000));
  if (args.has("threads"))
    prof.threads = static_cast<int>(tools::parse_int(args.value("threads"), "--threads", 1, 1024));

  Model model = load_model(args.positional[0]);
  EngineOptions options;
  options.backend = Backend::Cpu;
  options.threads = 1;  // nothing runs; compiling needs no threads
  options.input_shapes = choose_input_shapes(model, req);
  if (profile) {
    print_profile(model, options.input_shapes, prof, args.has("json"));
    return 0;
  }
  Engine engine(model, options);
  if (args.has("json"))
    print_json(model, engine);
  else
    print_text(model, engine);
  return 0;
}

}  // namespace sparseinfer::cli

// `sparseinfer run`: one forward pass on .npy inputs, outputs saved as .npy.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/npy.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"

namespace sparseinfer::cli {

using tools::parse_args;
using tools::parse_int;
using tools::ParsedArgs;
using tools::UsageError;

namespace {

std::string names_of(const std::vector<ValueInfo>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += "'" + values[i].name + "'";
  }
  return out;
}

}  // namespace

void print_run_help(std::ostream& os) {
  os << "Usage: sparseinfer run MODEL --input IN.npy [--input ...] [--output OUT.npy ...] [--threads N]\n"
        "                       [--backend cpu|cuda|auto]\n"
        "\n"
        "Runs the model once on the given inputs and writes its outputs.\n"
        "\n"
        "Options:\n"
        "  --input FILE    one .npy file per graph input, in graph order; the model is\n"
        "                  compiled for the shapes of these arrays. float32 (float64 is\n"
        "                  converted) for float inputs, int64 (int32/bool converted) for\n"
        "                  int64 inputs; C order, little-endian. int64 inputs are\n"
        "                  compiled in as constants (shape parameters such as\n"
        "                  Reshape's shape or Slice's starts), so the graph folds\n"
        "                  them like initializers\n"
        "  --output FILE   where to write graph outputs, in graph order (float32 or int64\n"
        "                  .npy); fewer --output than graph outputs writes the first ones\n"
        "  --threads N     CPU threads (default 0: all cores)\n"
        "  --backend B     cpu, cuda or auto (default auto: the GPU when one can run the network)\n"
        "  -h, --help      show this help\n";
}

int cmd_run(const std::vector<std::string>& argv) {
  ParsedArgs args = parse_args(
      "run", argv, {{"input", true, true}, {"output", true, true}, {"threads", true, false}, {"backend", true, false}});
  if (args.has("help")) {
    print_run_help(std::cout);
    return 0;
  }
  if (args.positional.empty()) throw UsageError("no MODEL given");
  if (args.positional.size() > 1) throw UsageError("unexpected argument '" + args.positional[1] + "'");
  const auto& input_files = args.values("input");
  const auto& output_files = args.values("output");
  if (input_files.empty()) throw UsageError("no --input given (one .npy file per model input)");
  int threads = static_cast<int>(parse_int(args.value("threads", "0"), "--threads", 0, 1024));
  const Backend backend = tools::parse_backend(args.value("backend", "auto"), "--backend");

  Model model = load_model(args.positional[0]);
  if (input_files.size() != model.inputs.size())
    throw UsageError(model.path + " has " + std::to_string(model.inputs.size()) + " input(s) (" +
                     names_of(model.inputs) + ") but " + std::to_string(input_files.size()) +
                     " --input file(s) were given");
  if (output_files.size() > model.outputs.size())
    throw UsageError(model.path + " has " + std::to_string(model.outputs.size()) + " output(s) (" +
                     names_of(model.outputs) + ") but " + std::to_string(output_files.size()) +
                     " --output file(s) were given");

  std::vector<Tensor> inputs;
  EngineOptions options;
  options.backend = backend;
  options.threads = threads;
  for (size_t i = 0; i < input_files.size(); ++i) {
    Tensor t = read_npy(input_files[i]);
    const ValueInfo& vi = model.inputs[i];
    if (t.dtype() != vi.dtype)
      throw Error(input_files[i] + ": holds " + dtype_name(t.dtype()) + " data but model input '" + vi.name + "' is " +
                  dtype_name(vi.dtype));
    options.input_shapes.push_back(t.shape());
    // int64 inputs carry shape parameters in the graphs this core runs:
    // bound as constants, constant folding sees them before compiling.
    if (vi.dtype == DType::Int64)
      options.constant_inputs[vi.name] = std::move(t);
    else
      inputs.push_back(std::move(t));
  }

  Engine engine(model, options);
  std::unique_ptr<StreamState> state = engine.new_stream();
  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  FrameResult result = engine.run(*state, input_ptrs);

  std::ostringstream os;
  for (size_t i = 0; i < result.outputs.size(); ++i) {
    const Tensor& out = *result.outputs[i];
    os << "output '" << engine.outputs()[i].name << "' " << dtype_name(out.dtype()) << " " << shape_str(out.shape());
    if (i < output_files.size()) {
      write_npy(output_files[i], out);
      os << " -> " << output_files[i];
    }
    os << "\n";
  }
  char timing[96];
  std::snprintf(timing, sizeof timing, "%.3f ms, %.3f GMACs, %d thread(s)\n", result.times.total_ms,
                static_cast<double>(result.macs_executed) / 1e9, engine.threads());
  os << timing;
  std::cout << os.str();
  return 0;
}

}  // namespace sparseinfer::cli

// sparseinfer: inspect and run ONNX models with the sparseinfer core.
// Exit status: 0 success, 1 error (bad model, bad file...), 2 usage error.
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "sparseinfer/error.h"
#include "tools/usage_error.h"

#ifndef SPARSEINFER_VERSION
#define SPARSEINFER_VERSION "unknown"
#endif

namespace {

void print_help(std::ostream& os) {
  os << "Usage: sparseinfer COMMAND [OPTIONS]\n"
        "       sparseinfer --help | --version\n"
        "\n"
        "Inspect and run ONNX CNN models with the sparseinfer inference core.\n"
        "\n"
        "Commands:\n"
        "  info MODEL     model inputs/outputs and a per-layer table (shapes, params, MACs)\n"
        "  info --ops     list the supported ONNX operators\n"
        "  run MODEL      run the model on .npy inputs and write .npy outputs\n"
        "  stream MODEL   run a video through the engine (change or dense), JSON per frame\n"
        "  calibrate MODEL  choose per-layer change thresholds for a video and a loss budget\n"
        "  help COMMAND   show the help of a command (same as COMMAND --help)\n"
        "\n"
        "Exit status: 0 on success, 1 on an error, 2 on a command-line mistake.\n";
}

int dispatch(const std::vector<std::string>& args) {
  using namespace sparseinfer::cli;
  using sparseinfer::tools::UsageError;
  if (args.empty()) throw UsageError("no command given");
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "-h" || cmd == "--help") {
    print_help(std::cout);
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    std::cout << "sparseinfer " << SPARSEINFER_VERSION << "\n";
    return 0;
  }
  if (cmd == "help") {
    if (rest.empty())
      print_help(std::cout);
    else if (rest[0] == "info")
      print_info_help(std::cout);
    else if (rest[0] == "run")
      print_run_help(std::cout);
    else if (rest[0] == "stream")
      print_stream_help(std::cout);
    else if (rest[0] == "calibrate")
      print_calibrate_help(std::cout);
    else
      throw UsageError("unknown command '" + rest[0] + "'");
    return 0;
  }
  if (cmd == "info") return cmd_info(rest);
  if (cmd == "run") return cmd_run(rest);
  if (cmd == "stream") return cmd_stream(rest);
  if (cmd == "calibrate") return cmd_calibrate(rest);
  if (!cmd.empty() && cmd[0] == '-') throw UsageError("unknown option '" + cmd + "' (a command comes first)");
  throw UsageError("unknown command '" + cmd + "'");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return dispatch(args);
  } catch (const sparseinfer::tools::UsageError& e) {
    std::string cmd = !args.empty() && (args[0] == "info" || args[0] == "run") ? args[0] + " " : "";
    std::cerr << "sparseinfer: " << e.what() << "\nTry 'sparseinfer " << cmd << "--help'.\n";
    return 2;
  } catch (const sparseinfer::Error& e) {
    std::cerr << "sparseinfer: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "sparseinfer: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "sparseinfer: internal error: " << e.what() << "\n";
    return 1;
  }
}

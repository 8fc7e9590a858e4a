// ONNX backend conformance: runs the ONNX project's own test cases (Debian
// package libonnx-testdata) through load_model + Engine and compares with the
// outputs the ONNX reference produced.
//
// Usage: onnx_conformance DATA_DIR [--filter TEXT] [--timeout SECONDS] [--no-fork] [--no-freeze] [--verbose]
//                         [--must-pass FILE]
//
// Cases come from DATA_DIR/{node,pytorch-converted,pytorch-operator}/*/.
// A case that uses an operator outside kSupportedOps, or tensors of a dtype
// or attribute values the core explicitly rejects, is left out with its
// reason; every other case must pass. Node tests that feed an operator
// parameter the core requires constant (Reshape's shape, Resize's scales...)
// as a graph input are retried with those inputs frozen to the data set's
// values and listed as such (--no-freeze counts them as failures). Each case
// runs in a child process so that a crash or a hang is reported as that
// case's failure instead of ending the run. The summary goes to stdout, and
// as JSON to the file named by SPARSEINFER_CONFORMANCE_JSON when set.
// Exit status: 0 when no case failed, 1 when one did or DATA_DIR does not
// exist, 2 for a usage error.
#include <onnx/onnx_pb.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "tools/json.h"

namespace fs = std::filesystem;
using namespace sparseinfer;

namespace {

// The operators sparseinfer promises to run; cases using others are left out.
const std::set<std::string> kSupportedOps = {"Conv",          "ConvTranspose", "BatchNormalization",
                                             "Relu",          "Clip",          "LeakyRelu",
                                             "PRelu",         "Sigmoid",       "HardSigmoid",
                                             "HardSwish",     "Tanh",          "Add",
                                             "Sub",           "Mul",           "Div",
                                             "MaxPool",       "AveragePool",   "GlobalAveragePool",
                                             "GlobalMaxPool", "Concat",        "Resize",
                                             "Upsample",      "Flatten",       "Reshape",
                                             "Transpose",     "Gemm",          "MatMul",
                                             "Softmax",       "Pad",           "Identity",
                                             "Dropout",       "Constant",      "Shape",
                                             "Gather",        "Unsqueeze",     "Squeeze",
                                             "Slice",         "Split",         "DepthToSpace",
                                             "SpaceToDepth",  "ReduceMean",    "ReduceMax",
                                             "ReduceSum",     "Pow",           "Sqrt",
                                             "Exp",           "Neg",           "Abs",
                                             "Min",           "Max",           "Erf",
                                             "Cast",          "Expand",        "Tile"};

const char* const kSuites[] = {"node", "pytorch-converted", "pytorch-operator"};

// Elementwise tolerance for float outputs: |ours - expected| <= kAbsTol + kRelTol * |expected|.
constexpr double kAbsTol = 1e-7;
constexpr double kRelTol = 1e-3;
constexpr size_t kMaxDetail = 2000;

enum class Status { Passed, Failed, LeftOut };

struct CaseResult {
  Status status = Status::Failed;
  std::string reason;   // Failed: what went wrong; LeftOut: the group it is reported under
  int data_sets = 0;    // data sets compared
  bool frozen = false;  // passed only with parameter inputs frozen to constants
};

struct Config {
  std::string filter;  // run only cases whose "suite/name" contains this
  int timeout_s = 120;
  bool isolate = true;  // one child process per case
  bool freeze = true;   // retry with parameter inputs frozen (see parameter_inputs)
  bool verbose = false;
  std::string must_pass_file;  // cases (one "suite/name" a line) that must pass, not be left out
};

// --- classifying errors ---------------------------------------------------

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// True when the core says it deliberately does not handle something (an
// attribute value, a dtype) rather than that something broke.
bool states_unsupported(const std::string& reason) {
  std::string r = lower(reason);
  return r.find("not supported") != std::string::npos || r.find("unsupported") != std::string::npos;
}

// The message of an Error without a leading "PATH: ", so reasons group across cases.
std::string strip_path(const std::string& message, const std::string& path) {
  if (message.rfind(path + ": ", 0) == 0) return message.substr(path.size() + 2);
  return message;
}

// A left-out reason for a ModelError that states an unsupported attribute
// value; nullopt for a real failure.
std::optional<std::string> unsupported_model_error(const ModelError& e) {
  if (!states_unsupported(e.reason())) return std::nullopt;
  std::string where = e.op_type().empty() ? std::string() : e.op_type() + ": ";
  return "unsupported attribute or value: " + where + e.reason();
}

// --- reading the test data ------------------------------------------------

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

bool supported_elem_type(int32_t t) {
  return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::INT64;
}

std::string elem_type_name(int32_t t) {
  return onnx::TensorProto_DataType_IsValid(t) ? onnx::TensorProto_DataType_Name(t) : "type " + std::to_string(t);
}

std::string unsupported_type_reason(int32_t t) {
  return "tensors of type " + elem_type_name(t) + " (only FLOAT and INT64 are supported)";
}

// What the file itself says the core will not run, read with the protobuf
// classes so that an importer error cannot hide it: operators outside the
// supported list, or graph inputs, outputs and weights of another dtype.
std::optional<std::string> outside_the_list(const fs::path& model_path) {
  onnx::ModelProto proto;
  if (!proto.ParseFromString(read_file(model_path))) throw Error(model_path.string() + ": not a valid ONNX file");
  const onnx::GraphProto& graph = proto.graph();
  std::set<std::string> ops;
  for (const auto& node : graph.node()) {
    bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    if (!default_domain)
      ops.insert(node.domain() + "." + node.op_type());
    else if (!kSupportedOps.count(node.op_type()))
      ops.insert(node.op_type());
  }
  if (!ops.empty()) {
    std::string list;
    for (const auto& op : ops) {
      if (!list.empty()) list += ", ";
      list += op;
    }
    return "uses " + list + " (not in the supported list)";
  }
  for (const auto* values : {&graph.input(), &graph.output()})
    for (const auto& vi : *values)
      if (vi.type().has_tensor_type() && !supported_elem_type(vi.type().tensor_type().elem_type()))
        return unsupported_type_reason(vi.type().tensor_type().elem_type());
  for (const auto& init : graph.initializer())
    if (!supported_elem_type(init.data_type())) return unsupported_type_reason(init.data_type());
  return std::nullopt;
}

// The name and element type stored in a serialized TensorProto.
std::pair<std::string, int32_t> tensor_name_and_type(const fs::path& path) {
  onnx::TensorProto proto;
  if (!proto.ParseFromString(read_file(path))) return {{}, onnx::TensorProto::FLOAT};
  return {proto.name(), proto.data_type()};
}

// PREFIX_0.pb, PREFIX_1.pb, ... in numeric order.
std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Loads the .pb files; a dtype the core does not support leaves the case out.
std::vector<NamedTensor> load_tensors(const std::vector<fs::path>& files, std::optional<std::string>& left_out) {
  std::vector<NamedTensor> out;
  for (const auto& f : files) {
    auto [name, type] = tensor_name_and_type(f);
    if (!supported_elem_type(type)) {
      left_out = unsupported_type_reason(type);
      return {};
    }
    try {
      out.push_back({name, load_tensor_proto(f.string())});
    } catch (const Error& e) {
      std::string reason = strip_path(e.what(), f.string());
      if (!states_unsupported(reason)) throw;
      left_out = "unsupported tensor data: " + reason;
      return {};
    }
  }
  return out;
}

// Orders `tensors` like `names` when every tensor is named after one of them;
// otherwise keeps file order (older test data leaves names empty).
template <typename Info>
std::vector<NamedTensor> in_graph_order(std::vector<NamedTensor> tensors, const std::vector<Info>& infos) {
  if (tensors.size() != infos.size()) return tensors;
  std::vector<NamedTensor> ordered;
  for (const auto& info : infos) {
    auto it = std::find_if(tensors.begin(), tensors.end(), [&](const NamedTensor& t) { return t.name == info.name; });
    if (it == tensors.end()) return tensors;
    ordered.push_back(std::move(*it));
    tensors.erase(it);
  }
  return ordered;
}

// --- comparing ----------------------------------------------------------------

std::string index_str(const Shape& shape, int64_t flat) {
  Shape idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_str(idx);
}

// Empty when equal within tolerance, else a description of the first mismatch.
std::string compare(const Tensor& ours, const Tensor& expected) {
  if (ours.dtype() != expected.dtype())
    return std::string("dtype ") + dtype_name(ours.dtype()) + ", expected " + dtype_name(expected.dtype());
  if (ours.shape() != expected.shape())
    return "shape " + shape_str(ours.shape()) + ", expected " + shape_str(expected.shape());
  const int64_t n = expected.numel();
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool ok;
    if (expected.dtype() == DType::Int64) {
      ok = ours.i64()[i] == expected.i64()[i];
    } else {
      double a = ours.f32()[i], e = expected.f32()[i];
      if (std::isnan(e))
        ok = std::isnan(a);
      else if (std::isinf(e))
        ok = a == e;
      else
        ok = std::fabs(a - e) <= kAbsTol + kRelTol * std::fabs(e);
      if (!ok) worst = std::isnan(a) ? INFINITY : std::max(worst, std::fabs(a - e));
    }
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return {};
  std::ostringstream os;
  os.precision(9);
  os << bad << " of " << n << " elements differ; first at " << index_str(expected.shape(), first) << ": got ";
  if (expected.dtype() == DType::Int64)
    os << ours.i64()[first] << ", expected " << expected.i64()[first];
  else
    os << ours.f32()[first] << ", expected " << expected.f32()[first] << " (max abs error " << worst << ")";
  return os.str();
}

// --- one case -----------------------------------------------------------------

CaseResult left_out(std::string reason) {
  return {Status::LeftOut, std::move(reason), 0};
}
CaseResult failed(std::string reason, int data_sets = 0) {
  return {Status::Failed, std::move(reason), data_sets};
}

// Empty when every expected output matches, else why not. Inputs named in
// `bind` are compiled in as constants. Throws what the engine throws.
std::string run_data_set(const Model& model, const std::vector<NamedTensor>& inputs, std::vector<NamedTensor> expected,
                         const std::set<std::string>& bind = {}) {
  EngineOptions options;
  options.backend = Backend::Cpu;
  std::vector<const Tensor*> input_ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    options.input_shapes.push_back(inputs[i].tensor.shape());
    if (bind.count(model.inputs[i].name))
      options.constant_inputs[model.inputs[i].name] = inputs[i].tensor;
    else
      input_ptrs.push_back(&inputs[i].tensor);
  }
  Engine engine(model, options);
  std::unique_ptr<StreamState> state = engine.new_stream();
  FrameResult result = engine.run(*state, input_ptrs);
  expected = in_graph_order(std::move(expected), engine.outputs());
  if (expected.size() > result.outputs.size())
    return "the model produced " + std::to_string(result.outputs.size()) + " outputs, " +
           std::to_string(expected.size()) + " expected";
  for (size_t i = 0; i < expected.size(); ++i) {
    std::string diff = compare(*result.outputs[i], expected[i].tensor);
    if (!diff.empty()) return "output " + std::to_string(i) + " ('" + engine.outputs()[i].name + "'): " + diff;
  }
  return {};
}

// True for the error an operator gives when a parameter input (Reshape's
// shape, Resize's scales, Unsqueeze's axes...) is not a constant.
bool needs_constant_parameter(const ModelError& e) {
  return lower(e.reason()).find("must be a constant") != std::string::npos;
}

// Graph inputs that no node reads as its first (data) input: the parameters
// the node tests feed as inputs, while the core requires them constant, as
// they are in exported CNNs.
std::set<std::string> parameter_inputs(const Model& model) {
  std::set<std::string> data_inputs, params;
  for (const Node& node : model.nodes)
    if (!node.inputs.empty()) data_inputs.insert(node.inputs[0]);
  for (const ValueInfo& vi : model.inputs)
    if (!data_inputs.count(vi.name)) params.insert(vi.name);
  return params;
}

CaseResult run_case_unguarded(const fs::path& dir, const Config& config) {
  const fs::path model_path = dir / "model.onnx";
  if (auto reason = outside_the_list(model_path)) return left_out(*reason);

  std::vector<fs::path> set_dirs;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      set_dirs.push_back(entry.path());
  std::sort(set_dirs.begin(), set_dirs.end());
  if (set_dirs.empty()) return failed("no test_data_set_* directory");

  Model model;
  try {
    model = load_model(model_path.string());
  } catch (const ModelError& e) {
    if (auto reason = unsupported_model_error(e)) return left_out(*reason);
    throw;
  }

  CaseResult result{Status::Passed, {}, 0, false};
  for (const auto& set_dir : set_dirs) {
    const std::string set_name = set_dir.filename().string();
    std::optional<std::string> skip;
    std::vector<NamedTensor> inputs = load_tensors(numbered_files(set_dir, "input"), skip);
    if (skip) return left_out(*skip);
    std::vector<NamedTensor> expected = load_tensors(numbered_files(set_dir, "output"), skip);
    if (skip) return left_out(*skip);
    if (inputs.size() != model.inputs.size())
      return failed(set_name + ": " + std::to_string(inputs.size()) + " input files for a model with " +
                        std::to_string(model.inputs.size()) + " inputs",
                    result.data_sets);
    inputs = in_graph_order(std::move(inputs), model.inputs);

    std::string diff;
    try {
      try {
        diff = run_data_set(model, inputs, expected);
      } catch (const ModelError& e) {
        if (!config.freeze || !needs_constant_parameter(e)) throw;
        std::set<std::string> params = parameter_inputs(model);
        if (params.empty()) throw;
        diff = run_data_set(model, inputs, expected, params);
        result.frozen = true;
      }
    } catch (const ModelError& e) {
      if (auto reason = unsupported_model_error(e)) return left_out(*reason);
      throw;
    }
    if (!diff.empty()) return failed(set_name + ": " + diff, result.data_sets);
    ++result.data_sets;
  }
  return result;
}

CaseResult run_case(const fs::path& dir, const Config& config) {
  try {
    return run_case_unguarded(dir, config);
  } catch (const Error& e) {
    return failed(e.what());
  } catch (const std::exception& e) {
    return failed(std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return failed("unexpected non-standard exception");
  }
}

// --- isolation in a child process ---------------------------------------------

std::string serialize(const CaseResult& r) {
  std::string reason = r.reason.substr(0, kMaxDetail);
  std::replace(reason.begin(), reason.end(), '\0', ' ');
  return std::to_string(static_cast<int>(r.status)) + '\0' + std::to_string(r.data_sets) + '\0' +
         (r.frozen ? "1" : "0") + '\0' + reason;
}

std::optional<CaseResult> deserialize(const std::string& s) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) return std::nullopt;
    fields.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  int status = std::atoi(fields[0].c_str());
  if (status < 0 || status > 2) return std::nullopt;
  return CaseResult{static_cast<Status>(status), s.substr(start), std::atoi(fields[1].c_str()), fields[2] == "1"};
}

// Runs the case in a forked child so a crash or hang fails only that case.
// The parent never runs an engine, so no thread pool exists at fork time.
CaseResult run_case_isolated(const fs::path& dir, const Config& config) {
  const int timeout_s = config.timeout_s;
  int fds[2];
  if (pipe(fds) != 0) return failed(std::string("pipe: ") + std::strerror(errno));
  std::cout.flush();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return failed(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    close(fds[0]);
    std::string msg = serialize(run_case(dir, config));
    const char* p = msg.data();
    size_t left = msg.size();
    while (left > 0) {
      ssize_t n = write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    int pr = poll(&pfd, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) {
      timed_out = true;
      break;
    }
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return failed("timed out after " + std::to_string(timeout_s) + " s");
  if (WIFSIGNALED(wstatus))
    return failed("crashed with signal " + std::to_string(WTERMSIG(wstatus)) + " (" + strsignal(WTERMSIG(wstatus)) +
                  ")");
  auto r = deserialize(msg);
  if (!r)
    return failed("the child process ended without a result (exit status " +
                  std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) + ")");
  return *r;
}

// --- summary -----------------------------------------------------------------

using sparseinfer::tools::json_string;

struct Summary {
  std::string data_dir;
  size_t found = 0;
  std::vector<std::string> passed;
  std::vector<std::string> passed_frozen;                     // subset of passed
  std::vector<std::pair<std::string, std::string>> failures;  // name, reason
  std::map<std::string, std::vector<std::string>> left_out;   // reason -> names
  double seconds = 0;

  size_t left_out_count() const {
    size_t n = 0;
    for (const auto& kv : left_out) n += kv.second.size();
    return n;
  }
};

void print_summary(const Summary& s, std::ostream& os) {
  os << "\n=== ONNX conformance summary (" << s.data_dir << ") ===\n";
  os << s.found << " cases found, " << s.passed.size() + s.failures.size() << " ran, " << s.passed.size() << " passed, "
     << s.failures.size() << " failed, " << s.left_out_count() << " left out (" << static_cast<int>(s.seconds)
     << " s)\n";
  if (!s.passed_frozen.empty()) {
    os << "\nPASSED with parameter inputs frozen to constants (" << s.passed_frozen.size() << "):";
    for (const auto& n : s.passed_frozen) os << " " << n;
    os << "\n";
  }
  if (!s.failures.empty()) {
    os << "\nFAILED (" << s.failures.size() << "):\n";
    for (const auto& [name, reason] : s.failures) os << "  " << name << ": " << reason << "\n";
  }
  os << "\nLEFT OUT (" << s.left_out_count() << "), by reason:\n";
  for (const auto& [reason, names] : s.left_out) {
    os << "  " << reason << " [" << names.size() << "]:";
    for (const auto& n : names) os << " " << n;
    os << "\n";
  }
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += json_string(v[i]);
  }
  return out + "]";
}

void write_json(const Summary& s, const std::string& path) {
  std::ostringstream os;
  os << "{\"data_dir\":" << json_string(s.data_dir) << ",\"found\":" << s.found
     << ",\"ran\":" << s.passed.size() + s.failures.size() << ",\"passed\":" << s.passed.size()
     << ",\"failed\":" << s.failures.size() << ",\"left_out\":" << s.left_out_count() << ",\"seconds\":" << s.seconds
     << ",\"passed_cases\":" << json_strings(s.passed)
     << ",\"passed_with_frozen_inputs\":" << json_strings(s.passed_frozen) << ",\"failures\":[";
  for (size_t i = 0; i < s.failures.size(); ++i)
    os << (i ? "," : "") << "{\"name\":" << json_string(s.failures[i].first)
       << ",\"reason\":" << json_string(s.failures[i].second) << "}";
  os << "],\"left_out_cases\":{";
  bool first = true;
  for (const auto& [reason, names] : s.left_out) {
    os << (first ? "" : ",") << json_string(reason) << ":" << json_strings(names);
    first = false;
  }
  os << "}}\n";
  std::ofstream out(path);
  out << os.str();
  if (!out) std::cerr << "onnx_conformance: cannot write " << path << "\n";
}

int usage(const std::string& problem) {
  std::cerr << "onnx_conformance: " << problem
            << "\nUsage: onnx_conformance DATA_DIR [--filter TEXT] [--timeout SECONDS] [--no-fork] [--no-freeze] "
               "[--verbose]\n"
               "                        [--must-pass FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  Config config;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc) {
      config.filter = argv[++i];
    } else if (a == "--timeout" && i + 1 < argc) {
      config.timeout_s = std::atoi(argv[++i]);
      if (config.timeout_s <= 0) return usage("--timeout needs a positive number of seconds");
    } else if (a == "--no-fork") {
      config.isolate = false;
    } else if (a == "--no-freeze") {
      config.freeze = false;
    } else if (a == "--must-pass" && i + 1 < argc) {
      config.must_pass_file = argv[++i];
    } else if (a == "--verbose" || a == "-v") {
      config.verbose = true;
    } else if (!a.empty() && a[0] != '-' && data_dir.empty()) {
      data_dir = a;
    } else {
      return usage("unexpected argument '" + a + "'");
    }
  }
  if (data_dir.empty()) return usage("no DATA_DIR given");
  if (std::error_code ec; !fs::is_directory(data_dir, ec)) {
    // Missing test data fails the run: a conformance check that skips can never fail.
    std::cerr << "onnx_conformance: " << data_dir << " does not exist (install the Debian package libonnx-testdata)\n";
    return 1;
  }

  std::vector<std::pair<std::string, fs::path>> cases;  // "suite/name", directory
  for (const char* suite : kSuites) {
    fs::path suite_dir = fs::path(data_dir) / suite;
    std::error_code ec;
    if (!fs::is_directory(suite_dir, ec)) {
      std::cerr << "onnx_conformance: warning: " << suite_dir.string() << " does not exist\n";
      continue;
    }
    for (const auto& entry : fs::directory_iterator(suite_dir, ec)) {
      if (!entry.is_directory() || !fs::exists(entry.path() / "model.onnx")) continue;
      std::string name = std::string(suite) + "/" + entry.path().filename().string();
      if (config.filter.empty() || name.find(config.filter) != std::string::npos)
        cases.emplace_back(name, entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  if (cases.empty()) return usage("no test cases under " + data_dir + " (is the libonnx-testdata package installed?)");

  Summary summary;
  summary.data_dir = data_dir;
  summary.found = cases.size();
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& [name, dir] : cases) {
    CaseResult r = config.isolate ? run_case_isolated(dir, config) : run_case(dir, config);
    switch (r.status) {
      case Status::Passed:
        summary.passed.push_back(name);
        if (r.frozen) summary.passed_frozen.push_back(name);
        if (config.verbose) std::cout << "PASS " << name << (r.frozen ? " (parameter inputs frozen)" : "") << "\n";
        break;
      case Status::Failed:
        summary.failures.emplace_back(name, r.reason);
        std::cout << "FAIL " << name << ": " << r.reason << "\n";
        break;
      case Status::LeftOut:
        summary.left_out[r.reason].push_back(name);
        if (config.verbose) std::cout << "SKIP " << name << ": " << r.reason << "\n";
        break;
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  print_summary(summary, std::cout);
  if (const char* json_path = std::getenv("SPARSEINFER_CONFORMANCE_JSON"); json_path && *json_path)
    write_json(summary, json_path);
  bool regressed = false;
  if (!config.must_pass_file.empty()) {
    // Cases that passed once must keep passing: a case that an operator change
    // turns into "left out" would otherwise go unnoticed.
    std::ifstream list(config.must_pass_file);
    if (!list) return usage("cannot open --must-pass file " + config.must_pass_file);
    const std::set<std::string> passed(summary.passed.begin(), summary.passed.end());
    std::string name;
    while (std::getline(list, name)) {
      if (name.empty() || name[0] == '#') continue;
      if (!config.filter.empty() && name.find(config.filter) == std::string::npos) continue;
      if (!passed.count(name)) {
        std::cout << "NOT PASSED (listed in " << config.must_pass_file << "): " << name << "\n";
        regressed = true;
      }
    }
  }
  return summary.failures.empty() && !regressed ? 0 : 1;
}

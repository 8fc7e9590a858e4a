// Micro-benchmark of the compute-heavy operators on the layers of the target
// networks (CBinfer scene labeling 768x576, MobileNetV3-Large 512x256).
// Prints one JSON object per layer: median milliseconds over repeated runs.
//   op_bench [--threads N] [--reps N] [--tiles 64,128,...] [--filter substring] [--blas 0|1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "cpu/conv_gemm.h"
#include "cpu/packed_gemm.h"
#include "ops/op.h"
#include "tools/arg_parser.h"
#include "tools/arg_values.h"

using namespace sparseinfer;

namespace {

struct ConvLayer {
  const char* name;
  int64_t cin, cout, h, w, k, stride, pad, group;
  const char* act;  // fused activation or ""
};

const ConvLayer kLayers[] = {
    {"scene c7 3-16 576x768", 3, 16, 576, 768, 7, 1, 3, 1, "Relu"},
    {"scene c7 16-64 288x384", 16, 64, 288, 384, 7, 1, 3, 1, "Relu"},
    {"scene c7 64-256 144x192", 64, 256, 144, 192, 7, 1, 3, 1, "Relu"},
    {"scene c1 256-64 144x192", 256, 64, 144, 192, 1, 1, 0, 1, "Relu"},
    {"scene c1 64-8 144x192", 64, 8, 144, 192, 1, 1, 0, 1, ""},
    {"mbv3 c3s2 3-16 256x512", 3, 16, 256, 512, 3, 2, 1, 1, "HardSwish"},
    {"mbv3 dw3 16 128x256", 16, 16, 128, 256, 3, 1, 1, 16, "Relu"},
    {"mbv3 c1 16-64 128x256", 16, 64, 128, 256, 1, 1, 0, 1, "Relu"},
    {"mbv3 dw3s2 64 128x256", 64, 64, 128, 256, 3, 2, 1, 64, "Relu"},
    {"mbv3 c1 72-24 64x128", 72, 24, 64, 128, 1, 1, 0, 1, ""},
    {"mbv3 dw5s2 72 64x128", 72, 72, 64, 128, 5, 2, 2, 72, "Relu"},
    {"mbv3 dw5 120 32x64", 120, 120, 32, 64, 5, 1, 2, 120, "Relu"},
    {"mbv3 c1 40-240 32x64", 40, 240, 32, 64, 1, 1, 0, 1, "HardSwish"},
    {"mbv3 dw3 480 16x32", 480, 480, 16, 32, 3, 1, 1, 480, "HardSwish"},
    {"mbv3 c1 112-672 16x32", 112, 672, 16, 32, 1, 1, 0, 1, "HardSwish"},
    {"mbv3 dw5 960 8x16", 960, 960, 8, 16, 5, 1, 2, 960, "HardSwish"},
    {"mbv3 c1 160-960 8x16", 160, 960, 8, 16, 1, 1, 0, 1, "HardSwish"},
    {"mbv3 se 960-240 1x1", 960, 240, 1, 1, 1, 1, 0, 1, "Relu"},
};

Tensor random_tensor(Shape shape, std::mt19937& rng) {
  Tensor t(DType::Float32, std::move(shape));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = dist(rng);
  return t;
}

struct Timing {
  double median, min, cpu;  // wall median and minimum, process CPU time per run (ms)
};

double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

template <typename Fn>
Timing time_ms(int reps, Fn&& fn) {
  fn();  // warm-up: scratch allocation, BLAS thread start
  std::vector<double> ms;
  const double cpu0 = cpu_ms();
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double cpu = (cpu_ms() - cpu0) / reps;
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), cpu};
}

const char* const kUsage =
    "usage: op_bench [--threads N] [--reps N] [--tiles 64,128,...] [--filter substring] [--blas 0|1]\n";

const std::vector<tools::OptionSpec> kOptions = {
    {"threads", true}, {"reps", true}, {"tiles", true}, {"filter", true}, {"blas", true}};

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 7;
  std::vector<int64_t> tiles;
  std::string filter;
  bool blas = false;  // tile sweep through OpenBLAS instead of the packed kernel
  try {
    const tools::ParsedArgs args = tools::parse_args("", {argv + 1, argv + argc}, kOptions);
    if (args.has("help")) {
      std::printf("%s", kUsage);
      return 0;
    }
    if (!args.positional.empty()) throw tools::UsageError("unexpected argument '" + args.positional[0] + "'");
    if (args.has("threads")) threads = static_cast<int>(tools::parse_int(args.value("threads"), "--threads", 1, 1024));
    if (args.has("reps")) reps = static_cast<int>(tools::parse_int(args.value("reps"), "--reps", 1, 100000));
    filter = args.value("filter");
    if (args.has("blas")) blas = tools::parse_int(args.value("blas"), "--blas", 0, 1) != 0;
    for (const std::string& t : tools::split_list(args.value("tiles")))
      tiles.push_back(tools::parse_int(t, "--tiles", 1, int64_t(1) << 20));
  } catch (const tools::UsageError& e) {
    std::fprintf(stderr, "op_bench: %s\n%s", e.what(), kUsage);
    return 2;
  }
  std::mt19937 rng(7);
  Scratch scratch;
  ExecContext ctx{threads, &scratch};
  double total = 0.0;
  for (const ConvLayer& l : kLayers) {
    if (!filter.empty() && std::string(l.name).find(filter) == std::string::npos) continue;
    Node node;
    node.name = l.name;
    node.op_type = "Conv";
    node.inputs = {"x", "w", "b"};
    node.outputs = {"y"};
    node.attributes["kernel_shape"] = Attribute::of_ints({l.k, l.k});
    node.attributes["strides"] = Attribute::of_ints({l.stride, l.stride});
    node.attributes["pads"] = Attribute::of_ints({l.pad, l.pad, l.pad, l.pad});
    node.attributes["group"].kind = Attribute::Kind::Int;
    node.attributes["group"].i = l.group;
    if (*l.act) {
      node.attributes["sparseinfer_activation"].kind = Attribute::Kind::String;
      node.attributes["sparseinfer_activation"].s = l.act;
    }
    OpInfo info{&node, 13, "op_bench"};
    auto op = create_op(info);
    Tensor x = random_tensor({1, l.cin, l.h, l.w}, rng);
    Tensor w = random_tensor({l.cout, l.cin / l.group, l.k, l.k}, rng);
    Tensor b = random_tensor({l.cout}, rng);
    std::vector<const Tensor*> ins{&x, &w, &b};
    std::vector<Tensor> descs = op->infer(ins);
    Tensor y;
    y.allocate(DType::Float32, descs[0].shape());
    std::vector<Tensor*> outs{&y};
    const Timing t = time_ms(reps, [&] { op->forward(ins, outs, ctx); });
    const double ms = t.median;
    total += ms;
    const double gmacs = static_cast<double>(op->macs(ins, {&y})) * 1e-9;
    std::printf(
        "{\"layer\": \"%s\", \"threads\": %d, \"ms\": %.3f, \"min_ms\": %.3f, \"cpu_ms\": %.3f, \"gmac\": %.4f, "
        "\"gflops\": %.1f}\n",
        l.name, threads, ms, t.min, t.cpu, gmacs, 2.0 * gmacs / ms * 1e3);
    // Tile-size sweep on the im2col path, bypassing the op's own choice.
    if (l.group == 1)
      for (int64_t tile : tiles) {
        ConvGemmShape s;
        s.window.in = {1, l.h, l.w};
        s.window.kernel = {1, l.k, l.k};
        s.window.stride = {1, l.stride, l.stride};
        s.window.pad_begin = s.window.pad_end = {0, l.pad, l.pad};
        s.window.out = {1, (l.h + 2 * l.pad - l.k) / l.stride + 1, (l.w + 2 * l.pad - l.k) / l.stride + 1};
        s.in_channels = l.cin;
        s.out_channels = l.cout;
        s.tile_pixels = tile;
        PackedWeights packed;
        if (packed_gemm_supported() && !blas) {
          pack_weights(w.f32(), 1, l.cout, l.cin * l.k * l.k, packed);
          s.packed = &packed;
        }
        float* buf = scratch.floats(static_cast<size_t>(conv_gemm_scratch_floats(s, threads)), 1);
        Activation act;
        const Timing tt =
            time_ms(reps, [&] { conv_gemm_image(x.f32(), w.f32(), b.f32(), y.f32(), s, act, threads, buf); });
        std::printf("{\"layer\": \"%s\", \"tile\": %ld, \"ms\": %.3f, \"cpu_ms\": %.3f}\n", l.name,
                    static_cast<long>(tile), tt.median, tt.cpu);
      }
  }
  // Pools of the target networks.
  struct PoolLayer {
    const char* name;
    const char* op;
    int64_t c, h, w, k;
  };
  const PoolLayer pools[] = {{"scene maxpool2 16 576x768", "MaxPool", 16, 576, 768, 2},
                             {"scene maxpool2 64 288x384", "MaxPool", 64, 288, 384, 2},
                             {"mbv3 gap 960 8x16", "GlobalAveragePool", 960, 8, 16, 0}};
  for (const PoolLayer& l : pools) {
    if (!filter.empty() && std::string(l.name).find(filter) == std::string::npos) continue;
    Node node;
    node.name = l.name;
    node.op_type = l.op;
    node.inputs = {"x"};
    node.outputs = {"y"};
    if (l.k) {
      node.attributes["kernel_shape"] = Attribute::of_ints({l.k, l.k});
      node.attributes["strides"] = Attribute::of_ints({l.k, l.k});
    }
    OpInfo info{&node, 13, "op_bench"};
    auto op = create_op(info);
    Tensor x = random_tensor({1, l.c, l.h, l.w}, rng);
    std::vector<const Tensor*> ins{&x};
    Tensor y;
    y.allocate(DType::Float32, op->infer(ins)[0].shape());
    std::vector<Tensor*> outs{&y};
    const Timing t = time_ms(reps, [&] { op->forward(ins, outs, ctx); });
    total += t.median;
    std::printf("{\"layer\": \"%s\", \"threads\": %d, \"ms\": %.3f, \"min_ms\": %.3f, \"cpu_ms\": %.3f}\n", l.name,
                threads, t.median, t.min, t.cpu);
  }
  std::printf("{\"total_ms\": %.3f}\n", total);
  return 0;
}

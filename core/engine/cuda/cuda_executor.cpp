// The CUDA backend's executor: dense and change mode (CBinfer §III) on the
// GPU over the layers of kernels/. Per stream, the activations, the closed-
// loop input states and the change indexes live on the device; a frame costs
// one host-to-device copy of the input and one device-to-host copy of each
// graph output, and allocates nothing after the first frame. One CUDA stream
// (CudaContext) per engine instance; its streams run on it one after another.
//
// Operators: Conv (any kernel, stride, dilation, groups, fused activation),
// MaxPool and AveragePool. A network with any other operator is refused at
// compile time with the operator's name (backend=auto then stays on the CPU).
#include "engine/cuda/cuda_executor.h"

#include <chrono>
#include <memory>
#include <variant>

#include "cuda_change.h"
#include "engine/plan.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

namespace cu = sparseinfer::cuda;

namespace {

// What the executor knows of one step at compile time.
struct ConvSpec {
  ConvGeometry g;
  Activation act;
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
};
struct PoolSpec {
  ConvGeometry g;
  PoolKind kind = PoolKind::Max;
  bool count_include_pad = false;
};
using StepSpec = std::variant<ConvSpec, PoolSpec>;

// The step's device form, or an empty optional and `why`.
bool describe_step(const Plan& p, const Step& step, StepSpec& spec, std::string& why) {
  const Node& node = *step.node;
  auto input = [&](size_t i) -> const Value* {
    return i < step.inputs.size() && step.inputs[i] >= 0 ? &p.values[static_cast<size_t>(step.inputs[i])] : nullptr;
  };
  const Value* x = input(0);
  if (!x || x->kind == ValueKind::Constant || x->tensor.rank() != 4 || x->tensor.dtype() != DType::Float32 ||
      step.outputs.size() != 1) {
    why = "node '" + node.name + "' (" + node.op_type + ") does not take one float NCHW activation";
    return false;
  }
  const Shape& out_shape = p.values[static_cast<size_t>(step.outputs[0])].tensor.shape();
  try {
    if (node.op_type == "Conv") {
      const Value* w = input(1);
      const Value* b = input(2);
      if (!w || w->kind != ValueKind::Constant || (b && b->kind != ValueKind::Constant)) {
        why = "node '" + node.name + "' (Conv) has weights that are not constants";
        return false;
      }
      const int64_t group = node.attr_int("group", 1);
      ConvSpec c;
      c.g = resolve_window_2d(node, x->tensor.shape(), w->tensor.dim(0), w->tensor.dim(2), w->tensor.dim(3), group);
      c.act = fused_activation(node);
      c.weight = &w->tensor;
      c.bias = b ? &b->tensor : nullptr;
      if (out_shape != Shape{c.g.batch, c.g.out_channels, c.g.out_h, c.g.out_w}) {
        why = "node '" + node.name + "' (Conv): output shape differs from its window geometry";
        return false;
      }
      spec = c;
      return true;
    }
    if (node.op_type == "MaxPool" || node.op_type == "AveragePool") {
      if (node.attr_int("storage_order", 0) != 0 || step.outputs.size() != 1) {
        why = "node '" + node.name + "' (" + node.op_type + ") asks for indices or a storage order";
        return false;
      }
      PoolSpec s;
      s.g = resolve_window_2d(node, x->tensor.shape(), x->tensor.dim(1), 0, 0, 1);
      s.kind = node.op_type == "MaxPool" ? PoolKind::Max : PoolKind::Average;
      s.count_include_pad = node.attr_int("count_include_pad", 0) != 0;
      if (out_shape != Shape{s.g.batch, s.g.out_channels, s.g.out_h, s.g.out_w}) {
        why = "node '" + node.name + "' (" + node.op_type + "): output shape differs from its window geometry";
        return false;
      }
      spec = s;
      return true;
    }
  } catch (const Error& e) {
    why = "node '" + node.name + "' (" + node.op_type + "): " + e.what();
    return false;
  }
  why = "operator " + node.op_type + " (node '" + node.name + "') has no CUDA implementation yet";
  return false;
}

// Where a value is on the device this frame, and which of its pixels changed.
struct DeviceValue {
  const float* data = nullptr;
  const int32_t* changed = nullptr;  // sorted pixel indices; null: all changed
  int count = 0;                     // entries of `changed`
};

class CudaState : public ModeState {
 public:
  explicit CudaState(const std::vector<std::string>& gated) : gates(gated) {}
  size_t bytes() const override {
    size_t total = input.bytes();
    for (const auto& c : convs)
      if (c) total += c->device_bytes();
    for (const auto& pl : pools)
      if (pl) total += pl->device_bytes();
    for (const Tensor& t : host_outputs) total += t.bytes();
    return total;
  }
  void reset() override {
    for (auto& c : convs)
      if (c) c->reset();
    reset_pending = true;
  }
  GateSettings& gate_settings() override { return gates; }

  cu::DeviceBuffer<float> input;
  std::vector<std::unique_ptr<cu::CudaChangeConv>> convs;  // per step
  std::vector<std::unique_ptr<cu::CudaChangePool>> pools;  // per step
  std::vector<Tensor> host_outputs;                        // per graph output
  std::vector<int32_t> first_accepted;                     // host copy of the first gate's accepted pixels
  bool reset_pending = true;
  GateSettings gates;
};

class CudaExecutor : public Executor {
 public:
  CudaExecutor(const Plan& p, std::vector<StepSpec> specs) : p_(p), specs_(std::move(specs)), ctx_(0) {
    for (size_t i = 0; i < specs_.size(); ++i) {
      const auto* conv = std::get_if<ConvSpec>(&specs_[i]);
      if (p.options.mode == Mode::Change && conv && !conv->g.is_pointwise()) {
        gate_index_.push_back(static_cast<int>(gated_.size()));
        gated_.push_back(static_cast<int>(i));
      } else {
        gate_index_.push_back(-1);
      }
    }
  }

  std::vector<std::string> threshold_layers() const override {
    std::vector<std::string> names;
    for (int step : gated_) names.push_back(p_.layers[static_cast<size_t>(step)].name);
    return names;
  }

  std::unique_ptr<ModeState> new_state() const override {
    auto s = std::make_unique<CudaState>(threshold_layers());
    s->input.reserve(static_cast<size_t>(p_.inputs[0].shape.empty() ? 1 : shape_numel(p_.inputs[0].shape)));
    s->convs.resize(specs_.size());
    s->pools.resize(specs_.size());
    cu::CudaChangeConvOptions options;
    for (size_t i = 0; i < specs_.size(); ++i) {
      if (const auto* c = std::get_if<ConvSpec>(&specs_[i]))
        s->convs[i] = std::make_unique<cu::CudaChangeConv>(ctx_, c->g, c->weight->f32(),
                                                           c->bias ? c->bias->f32() : nullptr, c->act, options);
      else if (const auto* pl = std::get_if<PoolSpec>(&specs_[i]))
        s->pools[i] = std::make_unique<cu::CudaChangePool>(ctx_, pl->g, pl->kind, pl->count_include_pad);
    }
    for (const TensorInfo& out : p_.outputs) {
      s->host_outputs.emplace_back();
      s->host_outputs.back().allocate(out.dtype, out.shape);
    }
    return s;
  }

  void run(ModeState& mode_state, const std::vector<const Tensor*>& inputs, FrameResult& result) const override {
    CudaState& s = static_cast<CudaState&>(mode_state);
    const bool change = p_.options.mode == Mode::Change;
    // Dense mode recomputes every layer: each conv starts unprimed, so it
    // runs its dense path and never detects.
    const bool dense_frame = !change || s.reset_pending;
    std::vector<DeviceValue> values(p_.values.size());
    s.input.upload(inputs[0]->f32(), static_cast<size_t>(inputs[0]->numel()), ctx_);
    values[static_cast<size_t>(p_.input_ids[0])] = {s.input.data(), nullptr, 0};

    result.layer_stats.assign(p_.steps.size(), LayerStats{});
    result.macs_dense = p_.total_macs;
    result.macs_executed = 0;
    result.dense_frame = dense_frame;
    const int first_gated = gated_.empty() ? -1 : gated_.front();
    for (size_t i = 0; i < p_.steps.size(); ++i) {
      const Step& step = p_.steps[i];
      const DeviceValue& in = values[static_cast<size_t>(step.inputs[0])];
      DeviceValue& out = values[static_cast<size_t>(step.outputs[0])];
      LayerStats& stats = result.layer_stats[i];
      auto t0 = std::chrono::steady_clock::now();
      if (auto& conv = s.convs[i]) {
        if (!change) conv->reset();
        const float threshold = gate_index_[i] >= 0 ? s.gates.effective(static_cast<size_t>(gate_index_[i])) : 0.0f;
        conv->run(in.data, in.changed, in.count, threshold);
        out = {conv->output(), conv->all_changed() ? nullptr : conv->changed_pixels(), conv->changed_count()};
        const ConvGeometry& g = conv->geometry();
        stats.macs = conv->macs();
        stats.changed_fraction = double(conv->changed_count()) / double(g.batch * g.out_h * g.out_w);
        stats.input_changed_fraction = conv->input_changed_count() < 0
                                           ? (in.changed ? double(in.count) / double(g.batch * g.in_h * g.in_w) : 1.0)
                                           : double(conv->input_changed_count()) / double(g.batch * g.in_h * g.in_w);
        if (static_cast<int>(i) == first_gated) first_layer_mask(*conv, result);
        const cu::CudaStageTimes t = conv->stage_times();
        result.times.detect_ms += t.detect_ms;
        result.times.extract_ms += t.extract_ms;
        result.times.gather_ms += t.gather_ms;
        result.times.gemm_ms += t.gemm_ms;
        result.times.update_ms += t.update_ms;
      } else {
        auto& pool = s.pools[i];
        pool->run(in.data, in.changed, in.count);
        out = {pool->output(), pool->all_changed() ? nullptr : pool->changed_pixels(), pool->changed_count()};
        const ConvGeometry& g = std::get<PoolSpec>(specs_[i]).g;
        stats.macs = 0;
        stats.changed_fraction = double(pool->changed_count()) / double(g.batch * g.out_h * g.out_w);
        stats.input_changed_fraction = in.changed ? double(in.count) / double(g.batch * g.in_h * g.in_w) : 1.0;
        result.times.other_ms +=
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      }
      if (!result.layer_ms.empty()) {
        ctx_.synchronize();
        result.layer_ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      }
      result.macs_executed += stats.macs;
    }
    for (size_t o = 0; o < p_.output_ids.size(); ++o) {
      Tensor& host = s.host_outputs[o];
      cu::copy_to_host(host.f32(), values[static_cast<size_t>(p_.output_ids[o])].data, host.bytes(), ctx_);
      result.outputs.push_back(&host);
    }
    s.reset_pending = false;
    s.first_accepted.clear();
  }

 private:
  // The first gate's accepted input pixels as a map of its input grid (first batch item), as the CPU change mode gives.
  void first_layer_mask(const cu::CudaChangeConv& conv, FrameResult& result) const {
    const ConvGeometry& g = conv.geometry();
    result.mask_height = g.in_h;
    result.mask_width = g.in_w;
    const int64_t grid = g.in_h * g.in_w;
    const int accepted = conv.input_changed_count();
    result.first_layer_mask.assign(static_cast<size_t>(grid), accepted < 0 ? 1 : 0);
    if (accepted <= 0) return;
    std::vector<int32_t> pixels(static_cast<size_t>(accepted));
    cu::copy_to_host(pixels.data(), conv.input_changed_pixels(), pixels.size() * sizeof(int32_t), ctx_);
    for (int32_t pixel : pixels) {
      if (pixel >= grid) break;  // sorted: the rest belong to later batch items
      result.first_layer_mask[static_cast<size_t>(pixel)] = 1;
    }
  }

  const Plan& p_;
  std::vector<StepSpec> specs_;
  mutable cu::CudaContext ctx_;  // one CUDA stream and cuBLAS handle per engine
  std::vector<int> gated_;       // steps with a change-detecting gate
  std::vector<int> gate_index_;  // per step: index into gated_, or -1
};

bool describe_plan(const Plan& p, std::vector<StepSpec>& specs, std::string& why) {
  if (p.inputs.size() != 1 || p.inputs[0].dtype != DType::Float32 || p.inputs[0].shape.size() != 4) {
    why = "the CUDA backend takes networks with one float NCHW input";
    return false;
  }
  specs.clear();
  for (const Step& step : p.steps) {
    StepSpec spec;
    if (!describe_step(p, step, spec, why)) return false;
    specs.push_back(spec);
  }
  return true;
}

}  // namespace

bool cuda_can_run(const Plan& plan, std::string* why) {
  std::string reason;
  std::vector<StepSpec> specs;
  bool ok = cu::device_count(&reason) > 0 && describe_plan(plan, specs, reason);
  if (!ok && why) *why = reason.empty() ? "no CUDA device" : reason;
  return ok;
}

std::unique_ptr<Executor> make_cuda_executor(Plan& plan) {
  std::string why;
  if (cu::device_count(&why) == 0) throw Error("backend 'cuda': no usable CUDA device (" + why + ")");
  std::vector<StepSpec> specs;
  if (!describe_plan(plan, specs, why)) throw Error(plan.model.path + ": backend 'cuda': " + why);
  return std::make_unique<CudaExecutor>(plan, std::move(specs));
}

}  // namespace sparseinfer

#include "engine/block/block_executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/block/block_gate.h"
#include "engine/block/block_kernel.h"
#include "engine/block/change_block_gate.h"
#include "engine/block/norm_block_gate.h"
#include "engine/gates/gate.h"
#include "engine/gates/norm_gate.h"
#include "engine/plan.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The name set_all_thresholds() reaches: the change gate's threshold.
constexpr const char* kChangeGateLayer = "block_change_gate";

// Deep layers run on the executed blocks and their neighbours. A block's
// change reaches the features of the blocks around it once the receptive
// field outgrows a block, and feature transfer would keep those neighbours
// stale: on vtest frames 50-299 the selfie segmenter's person-mask IoU
// against dense was 0.84 at change threshold 0.1 (11% of blocks executed),
// 0.98 with every layer on the dilated grid (31%). Shallow layers, where
// most MACs are, stay on the gate's grid. From the first layer at this
// stride (in plan order, so a decoder after it follows the dilated grid too).
constexpr int64_t kDilatedFromStride = 16;
constexpr int64_t kDilationBlocks = 1;  // neighbours on each side

// Everything a stream keeps: every activation in full (the features blocks
// transfer), the executed frame H_{t-1}, the last grid A_{t-1} and outputs
// O_{t-1} (BlockCopy §3.3), and the gate.
class BlockState : public ModeState {
 public:
  BlockState(const Plan& p, int64_t rows, int64_t cols, int64_t block, const Tensor& input)
      : gates({kChangeGateLayer}), change_gate(0.0f) {
    values.resize(p.values.size());
    for (size_t id = 0; id < p.values.size(); ++id) {
      const Value& v = p.values[id];
      if (v.kind == ValueKind::Activation) values[id].allocate(v.tensor.dtype(), v.tensor.shape());
    }
    executed_frame.allocate(DType::Float32, input.shape());
    grid.assign(rows, cols, block, 1);
    previous_grid = grid;
    shaped_ops.resize(p.steps.size());
    stacked.resize(p.values.size());
  }

  size_t bytes() const override {
    size_t total = executed_frame.bytes() + scratch.bytes() + results.size() * sizeof(float);
    for (const Tensor& t : values) total += t.has_data() ? t.bytes() : 0;
    for (const Tensor& t : previous_outputs) total += t.bytes();
    for (const FloatBuffer& b : patches) total += b.size() * sizeof(float);
    for (const StackedValue& v : stacked) total += v.data.size() * sizeof(float);
    return total;
  }
  void reset() override {
    fresh = true;
    if (gate) gate->reset();
  }
  GateSettings& gate_settings() override { return gates; }
  void set_block_gate(std::shared_ptr<BlockGate> g) override { gate = std::move(g); }

  std::vector<Tensor> values;  // per value id: the stored full map of every activation
  Tensor executed_frame;       // H_{t-1}: per block, the input it was last executed on
  BlockGrid grid, previous_grid;
  std::vector<Tensor> previous_outputs;
  std::vector<const Tensor*> previous_output_ptrs;
  std::vector<std::map<int64_t, std::unique_ptr<Op>>> shaped_ops;  // per step
  std::vector<FloatBuffer> patches;
  FloatBuffer results;
  std::vector<StackedValue> stacked;  // per value id, this frame's executed cells
  Scratch scratch;
  GateSettings gates;
  ChangeBlockGate change_gate;               // the default gate
  std::unique_ptr<NormBlockGate> norm_gate;  // the default instead, with a structured norm gate (EngineOptions::gate)
  std::shared_ptr<BlockGate> gate;           // installed by the caller (a policy), else nullptr
  std::vector<BlockRef> blocks;              // the gate's grid A_t
  std::vector<BlockRef> dilated_blocks;      // A_t and its neighbours, for the deep layers
  bool fresh = true;                         // the next frame executes every block
  int64_t frames = 0;
};

class BlockExecutor : public Executor {
 public:
  explicit BlockExecutor(const Plan& p) : p_(p) {
    if (p_.input_ids.empty()) throw Error(p_.model.path + ": block mode needs a network input");
    const Value& in = p_.values[static_cast<size_t>(p_.input_ids[0])];
    const Shape& s = in.tensor.shape();
    if (s.size() != 4 || s[0] != 1 || in.tensor.dtype() != DType::Float32)
      throw Error(p_.model.path + ": block mode needs a float [1, C, H, W] input; '" + in.name + "' is " +
                  shape_str(s));
    block_ = p_.options.block_size;
    if (block_ < 1) throw Error("block size must be at least 1, got " + std::to_string(block_));
    norm_scale_ = block_norm_scale();
    in_h_ = s[2];
    in_w_ = s[3];
    rows_ = (in_h_ + block_ - 1) / block_;
    cols_ = (in_w_ + block_ - 1) / block_;
    layouts_.resize(p_.values.size());
    for (size_t id = 0; id < p_.values.size(); ++id)
      if (p_.values[id].kind != ValueKind::Constant)
        layouts_[id] = cell_layout(p_.values[id].tensor.shape(), in_h_, in_w_, block_, rows_, cols_);
    // Per layer: a kernel over the executed blocks where one applies; the
    // rest (global pooling, Gemm, detection-head reshapes, maps coarser than
    // a block) runs whole on the assembled maps.
    // Which values something reads whole (a halo, a global layer, the
    // caller): those keep a full map; the rest live stacked (block_kernel.h).
    // Decided consumers first, so walk the steps backwards.
    kernels_.resize(p_.steps.size());
    first_dilated_step_ = p_.steps.size();
    for (size_t k = 0; k < p_.steps.size() && first_dilated_step_ == p_.steps.size(); ++k)
      for (int id : p_.steps[k].outputs)
        if (id >= 0 && layouts_[static_cast<size_t>(id)].blocked &&
            layouts_[static_cast<size_t>(id)].cell_h * kDilatedFromStride <= block_)
          first_dilated_step_ = k;
    std::vector<size_t> producer(p_.values.size(), p_.steps.size());
    for (size_t k = 0; k < p_.steps.size(); ++k)
      for (int id : p_.steps[k].outputs)
        if (id >= 0) producer[static_cast<size_t>(id)] = k;
    std::vector<bool> needs_map(p_.values.size(), false);
    for (int id : p_.output_ids) needs_map[static_cast<size_t>(id)] = true;
    for (size_t k = p_.steps.size(); k-- > 0;) {
      const Step& step = p_.steps[k];
      BlockLayer layer;
      layer.info = OpInfo{step.node, p_.model.opset, p_.model.path};
      layer.op = step.op.get();
      layer.input_ids = step.inputs;
      layer.output_ids = step.outputs;
      for (int id : step.inputs) {
        layer.inputs.push_back(id >= 0 ? &p_.values[static_cast<size_t>(id)].tensor : nullptr);
        layer.input_layouts.push_back(id >= 0 ? layouts_[static_cast<size_t>(id)] : CellLayout{});
      }
      for (int id : step.outputs) {
        layer.outputs.push_back(id >= 0 ? &p_.values[static_cast<size_t>(id)].tensor : nullptr);
        layer.output_layouts.push_back(id >= 0 ? layouts_[static_cast<size_t>(id)] : CellLayout{});
        layer.output_needs_map.push_back(id < 0 || needs_map[static_cast<size_t>(id)]);
      }
      kernels_[k] = make_block_conv(layer);
      if (!kernels_[k]) kernels_[k] = make_block_pointwise(layer);
      if (!kernels_[k]) kernels_[k] = make_block_resize(layer);
      for (size_t i = 0; i < step.inputs.size(); ++i) {
        if (step.inputs[i] < 0) continue;
        const size_t from = producer[static_cast<size_t>(step.inputs[i])];
        // A value made on the gate's grid and read on the dilated one is read from its map.
        const bool crosses = from < first_dilated_step_ && k >= first_dilated_step_;
        if (!kernels_[k] || !kernels_[k]->reads_stacked(i) || crosses)
          needs_map[static_cast<size_t>(step.inputs[i])] = true;
      }
    }
  }

  std::unique_ptr<ModeState> new_state() const override {
    auto state =
        std::make_unique<BlockState>(p_, rows_, cols_, block_, p_.values[static_cast<size_t>(p_.input_ids[0])].tensor);
    if (norm_scale_ > 0.0f) state->norm_gate = std::make_unique<NormBlockGate>(norm_scale_);
    return state;
  }

  std::vector<std::string> threshold_layers() const override { return {kChangeGateLayer}; }

  void run(ModeState& mode_state, const std::vector<const Tensor*>& inputs, FrameResult& result) const override {
    BlockState& s = static_cast<BlockState&>(mode_state);
    auto tensor_of = [&](int id) -> const Tensor* {
      const Value& v = p_.values[static_cast<size_t>(id)];
      if (v.kind == ValueKind::Activation) return &s.values[static_cast<size_t>(id)];
      return v.kind == ValueKind::Constant ? &v.tensor : inputs[static_cast<size_t>(v.input_index)];
    };
    const Tensor& frame = *inputs[static_cast<size_t>(p_.values[static_cast<size_t>(p_.input_ids[0])].input_index)];
    const bool dense = s.fresh;

    // A_t: every block on a fresh stream (BlockCopy §4: the first frame runs in full).
    auto t0 = Clock::now();
    BlockGateInput gate_in{&frame, &s.executed_frame, dense ? nullptr : &s.previous_grid,
                           dense ? nullptr : &s.previous_output_ptrs, s.frames};
    BlockGate* gate = s.gate ? s.gate.get() : s.norm_gate ? static_cast<BlockGate*>(s.norm_gate.get()) : &s.change_gate;
    if (dense) {
      std::fill(s.grid.execute.begin(), s.grid.execute.end(), uint8_t(1));
    } else {
      s.change_gate.set_threshold(s.gates.effective(0));
      if (s.norm_gate) s.norm_gate->set_threshold(s.gates.effective(0));
      gate->decide(gate_in, s.grid);
    }
    s.blocks.clear();
    for (int64_t r = 0; r < rows_; ++r)
      for (int64_t c = 0; c < cols_; ++c)
        if (s.grid.execute[static_cast<size_t>(r * cols_ + c)]) s.blocks.push_back({r, c});
    result.times.detect_ms = ms_between(t0, Clock::now());
    const double fraction = double(s.blocks.size()) / double(rows_ * cols_);
    dilate(s.grid, s.dilated_blocks);
    const double dilated_fraction = double(s.dilated_blocks.size()) / double(rows_ * cols_);

    ExecContext ctx{p_.threads, &s.scratch};
    BlockRun run{&s.blocks, p_.threads, &s.scratch, &s.patches, &s.results, nullptr, &s.stacked, &result.times};
    for (StackedValue& v : s.stacked) v.valid = false;
    std::vector<const Tensor*> ins;
    std::vector<Tensor*> outs;
    result.layer_stats.assign(p_.steps.size(), LayerStats{});
    int64_t macs = 0;
    if (!s.blocks.empty()) {
      for (size_t i = 0; i < p_.steps.size(); ++i) {
        const Step& step = p_.steps[i];
        ins.clear();
        outs.clear();
        for (int id : step.inputs) ins.push_back(id >= 0 ? tensor_of(id) : nullptr);
        for (int id : step.outputs) outs.push_back(id >= 0 ? &s.values[static_cast<size_t>(id)] : nullptr);
        auto ts = Clock::now();
        LayerStats& stats = result.layer_stats[i];
        if (i == first_dilated_step_) {
          // Stacked values hold the gate's blocks; from here on the layers run the dilated grid.
          for (StackedValue& v : s.stacked) v.valid = false;
          run.blocks = &s.dilated_blocks;
        }
        if (!dense && kernels_[i]) {
          const double f = i >= first_dilated_step_ ? dilated_fraction : fraction;
          run.shaped_ops = &s.shaped_ops[i];
          kernels_[i]->run(ins, outs, run);
          stats.changed_fraction = stats.input_changed_fraction = f;
          stats.macs = static_cast<int64_t>(double(p_.layers[i].macs) * f);
        } else {
          step.op->forward(ins, outs, ctx);
          stats.macs = p_.layers[i].macs;
          if (!dense) result.times.other_ms += ms_between(ts, Clock::now());
        }
        macs += stats.macs;
        if (!result.layer_ms.empty()) result.layer_ms[i] = ms_between(ts, Clock::now());
      }
    } else {
      for (LayerStats& stats : result.layer_stats) stats.changed_fraction = stats.input_changed_fraction = 0.0;
    }

    // H_t: the executed blocks take this frame's input (closed loop).
    auto tu = Clock::now();
    if (dense)
      std::memcpy(s.executed_frame.f32(), frame.f32(), frame.bytes());
    else
      copy_cells(frame.f32(), frame.dim(1), in_h_, in_w_, s.blocks, block_, block_, s.executed_frame.f32(), p_.threads);
    result.times.update_ms += ms_between(tu, Clock::now());

    result.macs_executed = macs;
    result.macs_dense = p_.total_macs;
    result.dense_frame = dense;
    result.block_grid = s.grid.execute;
    result.grid_rows = rows_;
    result.grid_cols = cols_;
    result.block_size = block_;
    result.executed_fraction = fraction;
    for (int id : p_.output_ids) result.outputs.push_back(tensor_of(id));

    // The gate learns from O_t against O_{t-1} (BlockCopy §3.4) before O_t becomes the previous output.
    if (s.gate) s.gate->observe(gate_in, s.grid, result);
    s.previous_outputs.resize(result.outputs.size());
    s.previous_output_ptrs.clear();
    for (size_t i = 0; i < result.outputs.size(); ++i) {
      s.previous_outputs[i] = *result.outputs[i];  // deep copy
      s.previous_output_ptrs.push_back(&s.previous_outputs[i]);
    }
    s.previous_grid = s.grid;
    s.fresh = false;
    ++s.frames;
  }

 private:
  // EngineOptions::gate in block mode: 0 for the change gate, else the scale
  // of the structured norm gate (1, or eq. 7's weight norm of the convolution
  // that reads the network input).
  float block_norm_scale() const {
    const GateKind kind = gate_kind_from_name(p_.options.gate);
    if (kind == GateKind::Threshold) return 0.0f;
    if (gate_cell(kind) == 1)
      throw Error("gate '" + p_.options.gate +
                  "': block mode takes the structured gates (input-norm-4x4, output-norm-8x8, ...) or threshold");
    if (!gate_is_output_norm(kind)) return 1.0f;
    for (const Step& step : p_.steps)
      if (step.node->op_type == "Conv" && step.inputs.size() > 1 && step.inputs[0] == p_.input_ids[0] &&
          step.inputs[1] >= 0 && p_.values[static_cast<size_t>(step.inputs[1])].kind == ValueKind::Constant)
        return weight_l1_norm(p_.values[static_cast<size_t>(step.inputs[1])].tensor);
    throw Error(p_.model.path + ": gate '" + p_.options.gate +
                "' needs a convolution with constant weights reading the network input");
  }

  // out <- the blocks of `grid` and their neighbours within kDilationBlocks, row-major.
  void dilate(const BlockGrid& grid, std::vector<BlockRef>& out) const {
    out.clear();
    for (int64_t r = 0; r < rows_; ++r)
      for (int64_t c = 0; c < cols_; ++c) {
        bool near = false;
        for (int64_t y = std::max<int64_t>(0, r - kDilationBlocks);
             y <= std::min(rows_ - 1, r + kDilationBlocks) && !near; ++y)
          for (int64_t x = std::max<int64_t>(0, c - kDilationBlocks); x <= std::min(cols_ - 1, c + kDilationBlocks);
               ++x)
            if (grid.execute[static_cast<size_t>(y * cols_ + x)]) {
              near = true;
              break;
            }
        if (near) out.push_back({r, c});
      }
  }

  const Plan& p_;
  float norm_scale_ = 0.0f;
  int64_t block_ = 32, in_h_ = 0, in_w_ = 0, rows_ = 0, cols_ = 0;
  std::vector<CellLayout> layouts_;                    // per value id
  std::vector<std::unique_ptr<BlockKernel>> kernels_;  // per step; nullptr: run whole
  size_t first_dilated_step_ = 0;                      // steps from here run the dilated grid
};

}  // namespace

std::unique_ptr<Executor> make_block_executor(Plan& plan) {
  return std::make_unique<BlockExecutor>(plan);
}

}  // namespace sparseinfer

// Element-wise layers on executed blocks: every blocked input's cells are
// laid side by side into [1, C, cell_h, N * cell_w], inputs that broadcast over the map
// (an SE block's channel scale, scalars) are passed whole, and the layer's
// own operator runs on the stack. Operators fix their shapes in infer(), so
// each stream keeps one instance per block count it has seen.
#include <chrono>
#include <set>
#include <string>

#include "engine/block/block_kernel.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;

// Operators whose output pixel depends only on the same pixel of each input.
const std::set<std::string>& pointwise_ops() {
  static const std::set<std::string> ops = {
      "Add",     "Sub",         "Mul",       "Div",  "Relu",     "Clip",    "LeakyRelu", "PRelu",
      "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Identity", "Dropout", "Concat",    "BatchNormalization",
      "Max",     "Min",         "Sum",       "Abs",  "Neg",      "Exp",     "Sqrt",      "Elu"};
  return ops;
}

// True when `t` broadcasts over the spatial dimensions of a 4-D map: its
// last two dimensions (right-aligned) are 1 or absent.
bool spatially_constant(const Tensor& t) {
  const Shape& s = t.shape();
  const size_t r = s.size();
  if (r > 4) return false;
  if (r >= 1 && s[r - 1] != 1) return false;
  if (r >= 2 && s[r - 2] != 1) return false;
  return true;
}

class BlockPointwise : public BlockKernel {
 public:
  explicit BlockPointwise(const BlockLayer& layer)
      : info_(layer.info),
        out_(layer.output_layouts[0]),
        ids_(layer.input_ids),
        out_id_(layer.output_ids[0]),
        out_needs_map_(layer.output_needs_map[0]) {
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      blocked_.push_back(layer.inputs[i] && layer.input_layouts[i].blocked);
      descriptors_.push_back(layer.inputs[i]);
      layouts_.push_back(layer.input_layouts[i]);
    }
  }

  bool reads_stacked(size_t i) const override { return i < blocked_.size() && blocked_[i]; }

  void run(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, BlockRun& r) const override {
    const int64_t n = static_cast<int64_t>(r.blocks->size());
    auto t0 = Clock::now();
    if (r.patches->size() < inputs.size()) r.patches->resize(inputs.size());
    std::vector<Tensor> views(inputs.size());
    std::vector<const Tensor*> ins(inputs.size(), nullptr);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!blocked_[i]) {
        ins[i] = inputs[i];
        continue;
      }
      const CellLayout& l = layouts_[i];
      const StackedValue& ready = (*r.stacked)[static_cast<size_t>(ids_[i])];
      if (ready.valid) {
        views[i] = Tensor::view(DType::Float32, {1, l.channels, l.cell_h, n * l.cell_w},
                                const_cast<float*>(ready.data.data()));
        ins[i] = &views[i];
        continue;
      }
      PatchGeometry g;
      g.step_h = g.patch_h = l.cell_h;
      g.step_w = g.patch_w = g.pitch_w = l.cell_w;
      float* stacked = buffer_floats((*r.patches)[i], l.channels * n * l.cell_h * l.cell_w);
      gather_patches(inputs[i]->f32(), l.channels, l.height, l.width, *r.blocks, g, 0.0f, stacked, r.threads);
      views[i] = Tensor::view(DType::Float32, {1, l.channels, l.cell_h, n * l.cell_w}, stacked);
      ins[i] = &views[i];
    }
    auto t1 = Clock::now();
    r.times->gather_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();

    Op& op = shaped_op(n, ins, r);
    StackedValue& out_stack = (*r.stacked)[static_cast<size_t>(out_id_)];
    Tensor out = Tensor::view(DType::Float32, {1, out_.channels, out_.cell_h, n * out_.cell_w},
                              buffer_floats(out_stack.data, out_.channels * n * out_.cell_h * out_.cell_w));
    ExecContext ctx{r.threads, r.scratch};
    op.forward(ins, {&out}, ctx);
    auto t2 = Clock::now();
    r.times->other_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    out_stack.valid = true;
    if (out_needs_map_)
      scatter_cells(out.f32(), n * out_.cell_w, out_.channels, out_.height, out_.width, *r.blocks, out_.cell_h,
                    out_.cell_w, out_.cell_w, outputs[0]->f32(), r.threads);
    r.times->update_ms += std::chrono::duration<double, std::milli>(Clock::now() - t2).count();
  }

 private:
  Op& shaped_op(int64_t n, const std::vector<const Tensor*>& ins, BlockRun& r) const {
    auto it = r.shaped_ops->find(n);
    if (it != r.shaped_ops->end()) return *it->second;
    std::unique_ptr<Op> op = create_op(info_);
    std::vector<Tensor> descs(ins.size());
    std::vector<const Tensor*> shapes(ins.size(), nullptr);
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!ins[i]) continue;
      if (blocked_[i]) {
        descs[i] = Tensor::descriptor(DType::Float32, ins[i]->shape());
        shapes[i] = &descs[i];
      } else {
        shapes[i] = descriptors_[i];  // constants keep their data (Clip bounds, ...)
      }
    }
    op->infer(shapes);
    return *r.shaped_ops->emplace(n, std::move(op)).first->second;
  }

  OpInfo info_;
  CellLayout out_;
  std::vector<bool> blocked_;
  std::vector<const Tensor*> descriptors_;
  std::vector<CellLayout> layouts_;
  std::vector<int> ids_;
  int out_id_;
  bool out_needs_map_;
};

}  // namespace

std::unique_ptr<BlockKernel> make_block_pointwise(const BlockLayer& layer) {
  const Node& node = *layer.info.node;
  if (!pointwise_ops().count(node.op_type) || layer.outputs.size() != 1 || !layer.outputs[0]) return nullptr;
  const CellLayout& out = layer.output_layouts[0];
  if (!out.blocked || layer.outputs[0]->dtype() != DType::Float32) return nullptr;
  if (node.op_type == "Concat") {
    int64_t axis = node.attr_int("axis", 0);
    if (axis != 1 && axis != -3) return nullptr;
  }
  bool any_blocked = false;
  for (size_t i = 0; i < layer.inputs.size(); ++i) {
    const Tensor* t = layer.inputs[i];
    if (!t) continue;
    const CellLayout& l = layer.input_layouts[i];
    if (l.blocked) {
      if (l.height != out.height || l.width != out.width || t->dtype() != DType::Float32) return nullptr;
      any_blocked = true;
      continue;
    }
    // BatchNormalization's per-channel parameters are vectors over C, not W.
    const bool bn_parameter = node.op_type == "BatchNormalization" && i > 0 && t->has_data();
    if (!bn_parameter && !spatially_constant(*t)) return nullptr;
  }
  if (!any_blocked) return nullptr;
  return std::make_unique<BlockPointwise>(layer);
}

}  // namespace sparseinfer

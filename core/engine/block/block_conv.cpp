// Conv on executed blocks: each block's output cell needs an input patch of
// (cell - 1) * stride + dilated kernel pixels per side; the patches are
// stacked vertically, each padded to a multiple of the stride so the rows of
// one patch's outputs start where the patch does, and the dense kernel runs
// once over the stack without padding (the pads are in the patches).
#include <chrono>

#include "cpu/conv_cpu.h"
#include "cpu/conv_gemm.h"
#include "cpu/depthwise.h"
#include "engine/block/block_kernel.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class BlockConv : public BlockKernel {
 public:
  BlockConv(const BlockLayer& layer, ConvGeometry g)
      : g_(g),
        weight_(layer.inputs[1]->f32()),
        bias_(layer.inputs.size() > 2 && layer.inputs[2] ? layer.inputs[2]->f32() : nullptr),
        act_(fused_activation(*layer.info.node)),
        out_(layer.output_layouts[0]),
        packed_(conv_packed_weights(*layer.op)) {
    depthwise_ = g_.group == g_.in_channels && layer.inputs[1]->dim(1) == 1 && g_.group > 1;
    const int64_t keff_h = (g_.kernel_h - 1) * g_.dilation_h + 1, keff_w = (g_.kernel_w - 1) * g_.dilation_w + 1;
    patch_.step_h = out_.cell_h * g_.stride_h;
    patch_.step_w = out_.cell_w * g_.stride_w;
    patch_.offset_h = g_.pad_top;
    patch_.offset_w = g_.pad_left;
    patch_.patch_h = (out_.cell_h - 1) * g_.stride_h + keff_h;
    patch_.patch_w = (out_.cell_w - 1) * g_.stride_w + keff_w;
    patch_.pitch_h = (patch_.patch_h + g_.stride_h - 1) / g_.stride_h * g_.stride_h;
    keff_h_ = keff_h;
  }

  void run(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, BlockRun& r) const override {
    const int64_t n = static_cast<int64_t>(r.blocks->size());
    auto t0 = Clock::now();
    if (r.patches->empty()) r.patches->resize(1);
    FloatBuffer& patches = (*r.patches)[0];
    float* stacked = buffer_floats(patches, g_.in_channels * n * patch_.pitch_h * patch_.patch_w);
    gather_patches(inputs[0]->f32(), g_.in_channels, g_.in_h, g_.in_w, *r.blocks, patch_, 0.0f, stacked, r.threads);
    auto t1 = Clock::now();
    r.times->gather_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();

    Window w;
    w.in = {1, n * patch_.pitch_h, patch_.patch_w};
    w.out = {1, (n * patch_.pitch_h - keff_h_) / g_.stride_h + 1, out_.cell_w};
    w.kernel = {1, g_.kernel_h, g_.kernel_w};
    w.stride = {1, g_.stride_h, g_.stride_w};
    w.dilation = {1, g_.dilation_h, g_.dilation_w};
    float* result = buffer_floats(*r.results, g_.out_channels * w.out_size());
    if (depthwise_) {
      float* scratch = nullptr;
      if (int64_t need = depthwise_scratch_floats(w, r.threads); need > 0)
        scratch = r.scratch->floats(static_cast<size_t>(need));
      depthwise_conv_image(stacked, weight_, bias_, result, g_.in_channels, g_.out_channels / g_.in_channels, w, act_,
                           r.threads, scratch);
    } else {
      ConvGemmShape s;
      s.window = w;
      s.groups = g_.group;
      s.in_channels = g_.in_channels;
      s.out_channels = g_.out_channels;
      s.packed = packed_;
      float* scratch = nullptr;
      if (int64_t need = conv_gemm_scratch_floats(s, r.threads); need > 0)
        scratch = r.scratch->floats(static_cast<size_t>(need));
      conv_gemm_image(stacked, weight_, bias_, result, s, act_, r.threads, scratch);
    }
    auto t2 = Clock::now();
    r.times->gemm_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    scatter_cells(result, w.out[1], g_.out_channels, g_.out_h, g_.out_w, *r.blocks, out_.cell_h, out_.cell_w,
                  patch_.pitch_h / g_.stride_h, outputs[0]->f32(), r.threads);
    r.times->update_ms += ms_since(t2);
  }

 private:
  ConvGeometry g_;
  const float* weight_;
  const float* bias_;
  Activation act_;
  CellLayout out_;
  const PackedWeights* packed_;
  bool depthwise_ = false;
  PatchGeometry patch_;
  int64_t keff_h_ = 1;
};

}  // namespace

float* buffer_floats(FloatBuffer& buffer, int64_t count) {
  if (buffer.size() < static_cast<size_t>(count)) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

std::unique_ptr<BlockKernel> make_block_conv(const BlockLayer& layer) {
  const Node& node = *layer.info.node;
  if (node.op_type != "Conv" || layer.inputs.size() < 2 || layer.outputs.size() != 1 || !layer.outputs[0])
    return nullptr;
  const Tensor* x = layer.inputs[0];
  const Tensor* w = layer.inputs[1];
  const Tensor* b = layer.inputs.size() > 2 ? layer.inputs[2] : nullptr;
  if (!x || x->has_data() || x->dtype() != DType::Float32 || !layer.input_layouts[0].blocked) return nullptr;
  if (!layer.output_layouts[0].blocked) return nullptr;
  if (!w || !w->has_data() || w->rank() != 4 || (b && !b->has_data())) return nullptr;
  const int64_t group = node.attr_int("group", 1);
  ConvGeometry g;
  try {
    g = resolve_window_2d(node, x->shape(), w->dim(0), w->dim(2), w->dim(3), group);
  } catch (const Error&) {
    return nullptr;
  }
  // Only when our geometry agrees with the operator's own inference.
  if (layer.outputs[0]->shape() != Shape{g.batch, g.out_channels, g.out_h, g.out_w}) return nullptr;
  if (w->dim(1) * group != g.in_channels) return nullptr;
  return std::make_unique<BlockConv>(layer, g);
}

}  // namespace sparseinfer

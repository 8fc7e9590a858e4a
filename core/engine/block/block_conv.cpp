// Conv on executed blocks: each block's output cell needs an input patch of
// (cell - 1) * stride + dilated kernel pixels per side; the patches are laid
// side by side, each padded to a multiple of the stride so the columns of
// one patch's outputs start where the patch does, and the dense kernel runs
// once over the row of patches without padding (the pads are in the patches).
#include <chrono>

#include "cpu/conv_gemm.h"
#include "cpu/depthwise.h"
#include "cpu/packed_gemm.h"
#include "engine/block/block_depthwise.h"
#include "engine/block/block_kernel.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

namespace sparseinfer {

namespace {

using Clock = std::chrono::steady_clock;
// Smallest output cell a spatial conv runs on blocks; below it the layer runs
// whole. Measured on SSDLite MobileNetV2 at 768x576, 32-px blocks, 18% of
// them executed: 1 -> 4 took a frame from 481 to 315 ms (loaded 2-core
// machine, same run as dense 626 / 498 ms), 8 gave 321 ms.
constexpr int64_t kMinSpatialCell = 4;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// [C, rows, width] with block j's `cell` columns at j * pitch -> [C, rows, n * cell].
void compact_cells(const float* from, int64_t width, int64_t channels, int64_t rows, int64_t n, int64_t cell,
                   int64_t pitch, float* to) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < rows; ++y) {
      const float* src = from + (c * rows + y) * width;
      float* dst = to + (c * rows + y) * n * cell;
      for (int64_t j = 0; j < n; ++j)
        for (int64_t x = 0; x < cell; ++x) dst[j * cell + x] = src[j * pitch + x];
    }
}

// Depthwise with channel multiplier 1 and strides up to 2: block_depthwise.
bool reads_map_directly(const ConvGeometry& g, const Tensor& weight) {
  return g.group > 1 && g.group == g.in_channels && g.out_channels == g.in_channels && weight.dim(1) == 1 &&
         g.stride_h <= 2 && g.stride_w <= 2;
}

class BlockConv : public BlockKernel {
 public:
  BlockConv(const BlockLayer& layer, ConvGeometry g)
      : g_(g),
        weight_(layer.inputs[1]->f32()),
        bias_(layer.inputs.size() > 2 && layer.inputs[2] ? layer.inputs[2]->f32() : nullptr),
        act_(fused_activation(*layer.info.node)),
        out_(layer.output_layouts[0]),
        packed_(nullptr),
        in_id_(layer.input_ids[0]),
        out_id_(layer.output_ids[0]),
        out_needs_map_(layer.output_needs_map[0]) {
    depthwise_ = g_.group == g_.in_channels && layer.inputs[1]->dim(1) == 1 && g_.group > 1;
    direct_depthwise_ = reads_map_directly(g_, *layer.inputs[1]);
    // The dense Conv's packed implicit GEMM (AVX-512 or AVX2): OpenBLAS would
    // repack the weights on every call, once per layer per frame.
    if (!depthwise_ && packed_conv_tile_supported()) {
      pack_weights(weight_, g_.group, g_.out_channels / g_.group,
                   (g_.in_channels / g_.group) * g_.kernel_h * g_.kernel_w, own_packed_);
      packed_ = &own_packed_;
    }
    const int64_t keff_h = (g_.kernel_h - 1) * g_.dilation_h + 1, keff_w = (g_.kernel_w - 1) * g_.dilation_w + 1;
    patch_.step_h = out_.cell_h * g_.stride_h;
    patch_.step_w = out_.cell_w * g_.stride_w;
    patch_.offset_h = g_.pad_top;
    patch_.offset_w = g_.pad_left;
    patch_.patch_h = (out_.cell_h - 1) * g_.stride_h + keff_h;
    patch_.patch_w = (out_.cell_w - 1) * g_.stride_w + keff_w;
    patch_.pitch_w = (patch_.patch_w + g_.stride_w - 1) / g_.stride_w * g_.stride_w;
    keff_w_ = keff_w;
    // 1x1, stride 1, no padding: the patch is the cell, and the output row of patches is compact.
    pointwise_ = g_.kernel_h == 1 && g_.kernel_w == 1 && g_.stride_h == 1 && g_.stride_w == 1 && g_.pad_top == 0 &&
                 g_.pad_left == 0 && layer.input_layouts[0].cell_h == out_.cell_h &&
                 layer.input_layouts[0].cell_w == out_.cell_w;
  }

  bool reads_stacked(size_t i) const override { return i == 0 && pointwise_; }

  void run(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, BlockRun& r) const override {
    const int64_t n = static_cast<int64_t>(r.blocks->size());
    auto t0 = Clock::now();
    if (direct_depthwise_) {
      run_depthwise(inputs, outputs, r);
      return;
    }
    const float* stacked = nullptr;
    if (pointwise_ && (*r.stacked)[static_cast<size_t>(in_id_)].valid) {
      stacked = (*r.stacked)[static_cast<size_t>(in_id_)].data.data();
    } else {
      if (r.patches->empty()) r.patches->resize(1);
      float* patches = buffer_floats((*r.patches)[0], g_.in_channels * patch_.patch_h * n * patch_.pitch_w);
      gather_patches(inputs[0]->f32(), g_.in_channels, g_.in_h, g_.in_w, *r.blocks, patch_, 0.0f, patches, r.threads);
      stacked = patches;
    }
    auto t1 = Clock::now();
    r.times->gather_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();

    Window w;
    w.in = {1, patch_.patch_h, n * patch_.pitch_w};
    w.out = {1, out_.cell_h, (n * patch_.pitch_w - keff_w_) / g_.stride_w + 1};
    w.kernel = {1, g_.kernel_h, g_.kernel_w};
    w.stride = {1, g_.stride_h, g_.stride_w};
    w.dilation = {1, g_.dilation_h, g_.dilation_w};
    // A compact output (1x1 layers) stays stacked for the layers after it.
    StackedValue& out_stack = (*r.stacked)[static_cast<size_t>(out_id_)];
    float* result = buffer_floats(pointwise_ ? out_stack.data : *r.results, g_.out_channels * w.out_size());
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
    if (!pointwise_) {
      // Each block's cell starts at column j * pitch_w / stride of the result;
      // laid compactly, it stays stacked for the 1x1 and element-wise layers
      // after it, which then gather nothing (a depthwise output is read by
      // its projection only).
      compact_cells(result, w.out[2], g_.out_channels, out_.cell_h, n, out_.cell_w, patch_.pitch_w / g_.stride_w,
                    buffer_floats(out_stack.data, g_.out_channels * out_.cell_h * n * out_.cell_w));
      result = out_stack.data.data();
    }
    out_stack.valid = true;
    if (out_needs_map_)
      scatter_cells(result, n * out_.cell_w, g_.out_channels, g_.out_h, g_.out_w, *r.blocks, out_.cell_h, out_.cell_w,
                    out_.cell_w, outputs[0]->f32(), r.threads);
    r.times->update_ms += ms_since(t2);
  }

 private:
  // Depthwise: read the stored map directly, write the stacked cells (block_depthwise.h).
  void run_depthwise(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, BlockRun& r) const {
    const int64_t n = static_cast<int64_t>(r.blocks->size());
    auto t0 = Clock::now();
    StackedValue& out_stack = (*r.stacked)[static_cast<size_t>(out_id_)];
    float* result = buffer_floats(out_stack.data, g_.out_channels * out_.cell_h * n * out_.cell_w);
    block_depthwise(inputs[0]->f32(), g_, *r.blocks, out_.cell_h, out_.cell_w, weight_, bias_, act_, result, r.threads);
    auto t1 = Clock::now();
    r.times->gemm_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    out_stack.valid = true;
    if (out_needs_map_)
      scatter_cells(result, n * out_.cell_w, g_.out_channels, g_.out_h, g_.out_w, *r.blocks, out_.cell_h, out_.cell_w,
                    out_.cell_w, outputs[0]->f32(), r.threads);
    r.times->update_ms += ms_since(t1);
  }

  ConvGeometry g_;
  const float* weight_;
  const float* bias_;
  Activation act_;
  CellLayout out_;
  const PackedWeights* packed_;
  PackedWeights own_packed_;
  bool depthwise_ = false;
  bool direct_depthwise_ = false;
  int in_id_, out_id_;
  bool out_needs_map_;
  bool pointwise_ = false;
  PatchGeometry patch_;
  int64_t keff_w_ = 1;
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
  // A spatial kernel on small cells reads (cell - 1) * stride + k pixels per
  // cell pixel: at cells under kMinSpatialCell the patches outweigh the whole
  // map, so the layer runs whole on the stored map (deep, small layers).
  // Depthwise layers read the map directly (block_depthwise.h) and have no
  // such floor: per cell pixel they read the taps, as dense does.
  const bool spatial = g.kernel_h > 1 || g.kernel_w > 1 || g.stride_h > 1 || g.stride_w > 1;
  if (spatial && !reads_map_directly(g, *w) &&
      (layer.output_layouts[0].cell_w < kMinSpatialCell || layer.output_layouts[0].cell_h < kMinSpatialCell))
    return nullptr;
  return std::make_unique<BlockConv>(layer, g);
}

}  // namespace sparseinfer

// Resize (linear, half-pixel, integer factors: FPN and U-Net upsampling) on
// executed blocks: each output pixel of an executed cell is interpolated
// straight from the stored input map, so the halo (one input pixel) comes
// from neighbouring blocks as it is. Same taps and summation order as the
// reference operator (ops/resize.cpp), so the result is identical.
#include <chrono>
#include <cmath>

#include "engine/block/block_kernel.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

struct Taps {
  std::vector<int64_t> index;  // two per output position
  std::vector<float> weight;
};

Taps half_pixel_linear_taps(int64_t in_len, int64_t out_len) {
  const double scale = static_cast<double>(out_len) / static_cast<double>(in_len);
  Taps t;
  t.index.resize(static_cast<size_t>(out_len) * 2);
  t.weight.resize(static_cast<size_t>(out_len) * 2);
  auto clamp = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), in_len - 1); };
  for (int64_t o = 0; o < out_len; ++o) {
    const double xo = (static_cast<double>(o) + 0.5) / scale - 0.5;
    const double lower = std::floor(xo);
    const double r = xo - lower;
    const int64_t base = static_cast<int64_t>(lower);
    t.index[static_cast<size_t>(2 * o)] = clamp(base);
    t.index[static_cast<size_t>(2 * o + 1)] = clamp(base + 1);
    t.weight[static_cast<size_t>(2 * o)] = static_cast<float>(1.0 - r);
    t.weight[static_cast<size_t>(2 * o + 1)] = static_cast<float>(r);
  }
  return t;
}

class BlockResize : public BlockKernel {
 public:
  BlockResize(const CellLayout& in, const CellLayout& out)
      : in_(in),
        out_(out),
        ty_(half_pixel_linear_taps(in.height, out.height)),
        tx_(half_pixel_linear_taps(in.width, out.width)) {}

  bool reads_stacked(size_t) const override { return false; }

  void run(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, BlockRun& r) const override {
    auto t0 = std::chrono::steady_clock::now();
    const float* src_all = inputs[0]->f32();
    float* dst_all = outputs[0]->f32();
    const std::vector<BlockRef>& blocks = *r.blocks;
    const int64_t work = out_.channels * static_cast<int64_t>(blocks.size()) * out_.cell_h * out_.cell_w;
    parallel_for(out_.channels, work < 32768 ? 1 : r.threads, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const float* src = src_all + c * in_.height * in_.width;
        float* dst = dst_all + c * out_.height * out_.width;
        for (const BlockRef& b : blocks) {
          const int64_t y0 = b.row * out_.cell_h, x0 = b.col * out_.cell_w;
          const int64_t y1 = std::min(out_.height, y0 + out_.cell_h), x1 = std::min(out_.width, x0 + out_.cell_w);
          for (int64_t oy = y0; oy < y1; ++oy) {
            const int64_t* iy = &ty_.index[static_cast<size_t>(2 * oy)];
            const float* wy = &ty_.weight[static_cast<size_t>(2 * oy)];
            const float* r0 = src + iy[0] * in_.width;
            const float* r1 = src + iy[1] * in_.width;
            float* drow = dst + oy * out_.width;
            for (int64_t ox = x0; ox < x1; ++ox) {
              const int64_t* ix = &tx_.index[static_cast<size_t>(2 * ox)];
              const float* wx = &tx_.weight[static_cast<size_t>(2 * ox)];
              float line0 = 0.0f, line1 = 0.0f, sum = 0.0f;
              line0 += wx[0] * r0[ix[0]];
              line0 += wx[1] * r0[ix[1]];
              sum += wy[0] * line0;
              line1 += wx[0] * r1[ix[0]];
              line1 += wx[1] * r1[ix[1]];
              sum += wy[1] * line1;
              drow[ox] = sum;
            }
          }
        }
      }
    });
    r.times->other_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }

 private:
  CellLayout in_, out_;
  Taps ty_, tx_;
};

}  // namespace

std::unique_ptr<BlockKernel> make_block_resize(const BlockLayer& layer) {
  const Node& node = *layer.info.node;
  if (node.op_type != "Resize" || layer.outputs.size() != 1 || !layer.outputs[0] || layer.inputs.empty())
    return nullptr;
  if (node.attr_string("mode", "nearest") != "linear") return nullptr;
  if (node.attr_string("coordinate_transformation_mode", "half_pixel") != "half_pixel") return nullptr;
  const CellLayout& in = layer.input_layouts[0];
  const CellLayout& out = layer.output_layouts[0];
  if (!in.blocked || !out.blocked || in.channels != out.channels) return nullptr;
  if (out.height % in.height != 0 || out.width % in.width != 0) return nullptr;
  // The factors the operator uses must be the size ratio itself.
  if (layer.inputs.size() > 2 && layer.inputs[2] && layer.inputs[2]->numel() == 4) {
    const Tensor& scales = *layer.inputs[2];
    if (!scales.has_data() || scales.dtype() != DType::Float32) return nullptr;
    const float* s = scales.f32();
    if (s[0] != 1.0f || s[1] != 1.0f || double(s[2]) != double(out.height / in.height) ||
        double(s[3]) != double(out.width / in.width))
      return nullptr;
  }
  return std::make_unique<BlockResize>(in, out);
}

}  // namespace sparseinfer

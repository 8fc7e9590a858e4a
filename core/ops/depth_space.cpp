// DepthToSpace and SpaceToDepth: move blocksize x blocksize pixel blocks
// between the channel axis and the spatial axes of an N x C x H x W tensor
// (sub-pixel convolution upsampling, space-to-depth stems). DepthToSpace
// reads channels depth-column-row (DCR, the default) or column-row-depth
// (CRD, PyTorch's pixel_shuffle).
#include <cstdint>
#include <string>

#include "ops/op.h"

namespace sparseinfer {

namespace {

class DepthSpaceOp : public Op {
 public:
  DepthSpaceOp(const OpInfo& info, bool to_space) : info_(info), to_space_(to_space) {
    if (!info.node->has_attr("blocksize")) op_fail(info, "missing required attribute 'blocksize'");
    block_ = info.node->attr_int("blocksize", 0);
    if (block_ < 1) op_fail(info, "blocksize must be positive, got " + std::to_string(block_));
    if (to_space) {
      std::string mode = info.node->attr_string("mode", "DCR");
      if (mode != "DCR" && mode != "CRD") op_fail(info, "mode '" + mode + "' is not supported (DCR and CRD are)");
      crd_ = mode == "CRD";
    }
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input");
    const Tensor& x = *inputs[0];
    if (x.rank() != 4) op_fail(info_, "input must be N x C x H x W, got shape " + shape_str(x.shape()));
    const int64_t b = block_, bb = block_ * block_;
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    if (to_space_) {
      if (c % bb != 0)
        op_fail(info_, std::to_string(c) + " channels do not divide by blocksize^2 = " + std::to_string(bb));
      return {Tensor::descriptor(x.dtype(), {n, c / bb, h * b, w * b})};
    }
    if (h % b != 0 || w % b != 0)
      op_fail(info_, "spatial size " + std::to_string(h) + "x" + std::to_string(w) + " does not divide by blocksize " +
                         std::to_string(b));
    return {Tensor::descriptor(x.dtype(), {n, c * bb, h / b, w / b})};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    if (x.dtype() == DType::Float32)
      rearrange(x.f32(), outputs[0]->f32(), to_space_ ? *outputs[0] : x);
    else
      rearrange(x.i64(), outputs[0]->i64(), to_space_ ? *outputs[0] : x);
  }

 private:
  // `space` is the tensor with the large spatial grid (DepthToSpace's output,
  // SpaceToDepth's input); (c, i, j) names the depth channel that holds
  // block offset (i, j) of space channel c.
  template <typename T>
  void rearrange(const T* in, T* out, const Tensor& space) const {
    const int64_t b = block_, bb = block_ * block_;
    const int64_t n = space.dim(0), c = space.dim(1), h = space.dim(2) / b, w = space.dim(3) / b;
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t i = 0; i < b; ++i)
          for (int64_t j = 0; j < b; ++j) {
            const int64_t depth_c = crd_ ? ci * bb + i * b + j : (i * b + j) * c + ci;
            const int64_t depth_base = (ni * c * bb + depth_c) * h * w;
            const int64_t space_base = (ni * c + ci) * h * b * w * b;
            for (int64_t y = 0; y < h; ++y)
              for (int64_t x = 0; x < w; ++x) {
                const int64_t d = depth_base + y * w + x;
                const int64_t s = space_base + (y * b + i) * w * b + x * b + j;
                if (to_space_)
                  out[s] = in[d];
                else
                  out[d] = in[s];
              }
          }
  }

  OpInfo info_;
  bool to_space_;
  bool crd_ = false;
  int64_t block_ = 1;
};

}  // namespace

void register_depth_space_ops(OpTable& table) {
  table["DepthToSpace"] = [](const OpInfo& info) -> std::unique_ptr<Op> {
    return std::make_unique<DepthSpaceOp>(info, true);
  };
  table["SpaceToDepth"] = [](const OpInfo& info) -> std::unique_ptr<Op> {
    return std::make_unique<DepthSpaceOp>(info, false);
  };
}

}  // namespace sparseinfer

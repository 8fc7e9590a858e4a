// Softmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1)
// and normalized over the flattened trailing block; from opset 13 it is
// normalized along the single dimension `axis` (default -1).
#include <algorithm>
#include <cmath>

#include "ops/op.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

class SoftmaxOp : public Op {
 public:
  explicit SoftmaxOp(const OpInfo& info) : info_(info) {
    axis_ = info.node->attr_int("axis", info.opset >= 13 ? -1 : 1);
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input");
    const Tensor& x = *inputs[0];
    if (x.dtype() != DType::Float32) op_fail(info_, "only float32 input is supported");
    int64_t rank = x.rank();
    int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    // Opset < 13 allows axis == rank (an empty trailing block).
    int64_t limit = info_.opset >= 13 ? rank - 1 : rank;
    if (axis < 0 || axis > limit || (rank == 0 && info_.opset >= 13))
      op_fail(info_, "axis " + std::to_string(axis_) + " is out of range for rank " + std::to_string(rank));
    const Shape& s = x.shape();
    outer_ = 1;
    for (int64_t i = 0; i < axis; ++i) outer_ *= s[i];
    if (info_.opset >= 13) {
      length_ = s[axis];
      inner_ = 1;
      for (int64_t i = axis + 1; i < rank; ++i) inner_ *= s[i];
    } else {
      length_ = 1;
      for (int64_t i = axis; i < rank; ++i) length_ *= s[i];
      inner_ = 1;
    }
    return {Tensor::descriptor(DType::Float32, s)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const float* in = inputs[0]->f32();
    float* out = outputs[0]->f32();
    const int64_t length = length_, inner = inner_;
    int threads = inputs[0]->numel() >= (1 << 15) ? ctx.threads : 1;
    // One slice = `length` values `inner` apart.
    parallel_for(outer_ * inner, threads, [&](int64_t begin, int64_t end) {
      for (int64_t s = begin; s < end; ++s) {
        const float* src = in + (s / inner) * length * inner + s % inner;
        float* dst = out + (s / inner) * length * inner + s % inner;
        float peak = -INFINITY;
        for (int64_t i = 0; i < length; ++i) peak = std::max(peak, src[i * inner]);
        float sum = 0.0f;
        for (int64_t i = 0; i < length; ++i) {
          float e = std::exp(src[i * inner] - peak);
          dst[i * inner] = e;
          sum += e;
        }
        float inv = 1.0f / sum;
        for (int64_t i = 0; i < length; ++i) dst[i * inner] *= inv;
      }
    });
  }

 private:
  OpInfo info_;
  int64_t axis_ = -1;
  int64_t outer_ = 1, length_ = 1, inner_ = 1;
};

}  // namespace

void register_softmax_ops(OpTable& table) {
  table["Softmax"] = [](const OpInfo& info) { return std::make_unique<SoftmaxOp>(info); };
}

}  // namespace sparseinfer

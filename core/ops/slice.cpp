// Slice: a strided window of the input along some axes, with negative
// indices counting from the end and clamped bounds (numpy basic slicing).
// Since opset 10 starts, ends, axes and steps are constant int64 inputs;
// before that starts, ends and axes are attributes.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ops/op.h"
#include "ops/op_params.h"

namespace sparseinfer {

namespace {

class SliceOp : public Op {
 public:
  explicit SliceOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input 'data'");
    const Tensor& x = *inputs[0];
    const int64_t rank = x.rank();
    std::vector<int64_t> starts, ends, axes, steps;
    if (info_.opset < 10) {
      starts = info_.node->attr_ints("starts", {});
      ends = info_.node->attr_ints("ends", {});
      axes = info_.node->attr_ints("axes", {});
    } else {
      const Tensor* s = optional_input(inputs, 1);
      const Tensor* e = optional_input(inputs, 2);
      if (!s || !e) op_fail(info_, "missing input 'starts' or 'ends'");
      starts = constant_ints(info_, *s, "starts");
      ends = constant_ints(info_, *e, "ends");
      if (const Tensor* a = optional_input(inputs, 3)) axes = constant_ints(info_, *a, "axes");
      if (const Tensor* st = optional_input(inputs, 4)) steps = constant_ints(info_, *st, "steps");
    }
    if (starts.size() != ends.size())
      op_fail(info_, "'starts' has " + std::to_string(starts.size()) + " values but 'ends' has " +
                         std::to_string(ends.size()));
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
      op_fail(info_, "'starts', 'ends', 'axes' and 'steps' must have the same length");

    start_.assign(static_cast<size_t>(rank), 0);
    step_.assign(static_cast<size_t>(rank), 1);
    Shape out = x.shape();
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (size_t i = 0; i < starts.size(); ++i) {
      const int64_t axis = normalized_axis(info_, axes[i], rank);
      const size_t k = static_cast<size_t>(axis);
      if (seen[k]) op_fail(info_, "axis " + std::to_string(axes[i]) + " is repeated");
      seen[k] = true;
      const int64_t dim = x.dim(static_cast<int>(axis)), step = steps[i];
      if (step == 0) op_fail(info_, "a step of 0 is not allowed");
      int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
      int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
      if (dim == 0) {
        start = end = 0;
      } else if (step > 0) {
        start = std::clamp<int64_t>(start, 0, dim);
        end = std::clamp<int64_t>(end, 0, dim);
      } else {
        start = std::clamp<int64_t>(start, 0, dim - 1);
        end = std::clamp<int64_t>(end, -1, dim - 1);
      }
      // ceil((end - start) / step) elements, none when the range is empty.
      int64_t count = 0;
      // (written so that a huge step cannot overflow)
      if (step > 0 && end > start) count = (end - start - 1) / step + 1;
      if (step < 0 && end < start)
        count = static_cast<int64_t>(static_cast<uint64_t>(start - end - 1) / (0 - static_cast<uint64_t>(step))) + 1;
      start_[k] = count ? start : 0;
      step_[k] = count > 1 ? step : 1;  // a single element needs no stride (nor a huge one)
      out[k] = count;
    }
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    if (x.dtype() == DType::Float32)
      copy(x, x.f32(), y.f32(), y.shape());
    else
      copy(x, x.i64(), y.i64(), y.shape());
  }

 private:
  // Walks the output in order with an odometer over the input offset.
  template <typename T>
  void copy(const Tensor& x, const T* in, T* out, const Shape& out_shape) const {
    const int64_t n = shape_numel(out_shape);
    if (n == 0) return;
    const size_t rank = out_shape.size();
    if (rank == 0) {
      out[0] = in[0];
      return;
    }
    const std::vector<int64_t> in_strides = row_major_strides(x.shape());
    std::vector<int64_t> stride(rank);
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) {
      stride[d] = step_[d] * in_strides[d];
      src += start_[d] * in_strides[d];
    }
    std::vector<int64_t> counter(rank, 0);
    const int64_t last = out_shape[rank - 1], last_stride = stride[rank - 1];
    for (int64_t o = 0; o < n; o += last) {
      if (last_stride == 1)
        std::memcpy(out + o, in + src, static_cast<size_t>(last) * sizeof(T));
      else
        for (int64_t i = 0; i < last; ++i) out[o + i] = in[src + i * last_stride];
      for (size_t d = rank - 1; d-- > 0;) {
        src += stride[d];
        if (++counter[d] < out_shape[d]) break;
        src -= stride[d] * out_shape[d];
        counter[d] = 0;
      }
    }
  }

  OpInfo info_;
  std::vector<int64_t> start_, step_;  // per input axis, after clamping
};

}  // namespace

void register_slice_ops(OpTable& table) {
  table["Slice"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<SliceOp>(info); };
}

}  // namespace sparseinfer

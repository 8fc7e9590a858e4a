// ReduceMean, ReduceMax, ReduceSum over a set of axes, keeping the reduced
// axes as size 1 (keepdims=1, the default) or dropping them. The axes come
// from the attribute in older opsets and from a constant int64 input since
// opset 13 (ReduceSum) or 18 (ReduceMean, ReduceMax).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "ops/op.h"
#include "ops/op_params.h"

namespace sparseinfer {

namespace {

enum class ReduceKind { Mean, Max, Sum };

class ReduceOp : public Op {
 public:
  ReduceOp(const OpInfo& info, ReduceKind kind, int64_t axes_input_since)
      : info_(info), kind_(kind), axes_as_input_(info.opset >= axes_input_since) {
    if (axes_as_input_ && info.node->has_attr("axes"))
      op_fail(info, "opset " + std::to_string(info.opset) + " takes 'axes' as an input, not an attribute");
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input 'data'");
    const Tensor& x = *inputs[0];
    const int64_t rank = x.rank();
    std::vector<int64_t> axes;
    if (axes_as_input_) {
      if (const Tensor* t = optional_input(inputs, 1)) axes = constant_ints(info_, *t, "axes");
    } else {
      axes = info_.node->attr_ints("axes", {});
    }
    const bool keepdims = info_.node->attr_int("keepdims", 1) != 0;
    const bool noop_if_empty = info_.node->attr_int("noop_with_empty_axes", 0) != 0;
    reduced_.assign(static_cast<size_t>(rank), axes.empty() && !noop_if_empty);
    for (int64_t a : axes) {
      int64_t r = normalized_axis(info_, a, rank);
      if (reduced_[static_cast<size_t>(r)]) op_fail(info_, "axis " + std::to_string(a) + " is repeated");
      reduced_[static_cast<size_t>(r)] = true;
    }
    if (kind_ == ReduceKind::Max)
      for (int64_t d = 0; d < rank; ++d)
        if (reduced_[static_cast<size_t>(d)] && x.dim(static_cast<int>(d)) == 0 && x.dtype() == DType::Int64)
          op_fail(info_, "ReduceMax of an empty int64 axis has no value");
    // The output indexed with the input's rank: reduced axes have size 1.
    kept_shape_ = x.shape();
    Shape out;
    for (int64_t d = 0; d < rank; ++d) {
      if (reduced_[static_cast<size_t>(d)]) {
        kept_shape_[static_cast<size_t>(d)] = 1;
        if (keepdims) out.push_back(1);
      } else {
        out.push_back(x.dim(static_cast<int>(d)));
      }
    }
    out_strides_ = row_major_strides(kept_shape_);
    for (int64_t d = 0; d < rank; ++d)
      if (reduced_[static_cast<size_t>(d)]) out_strides_[static_cast<size_t>(d)] = 0;
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& x = *inputs[0];
    // 8-byte accumulators in the (64-byte aligned) float scratch.
    void* acc = ctx.scratch->floats(2 * static_cast<size_t>(std::max<int64_t>(shape_numel(kept_shape_), 1)));
    if (x.dtype() == DType::Float32)
      reduce(x, x.f32(), outputs[0]->f32(), static_cast<double*>(acc));
    else
      reduce(x, x.i64(), outputs[0]->i64(), static_cast<int64_t*>(acc));
  }

 private:
  // Walks the input in order, adding each element to the output element it
  // reduces into; the output offset advances with the output strides of the
  // kept axes (0 for reduced ones). Sums accumulate in Acc (double for float).
  template <typename T, typename Acc>
  void reduce(const Tensor& x, const T* in, T* out, Acc* acc) const {
    const int rank = x.rank();
    const int64_t out_n = shape_numel(kept_shape_);
    const int64_t n = x.numel();
    Acc start = Acc(0);
    if (kind_ == ReduceKind::Max)
      start = std::numeric_limits<T>::has_infinity ? -static_cast<Acc>(std::numeric_limits<T>::infinity())
                                                   : static_cast<Acc>(std::numeric_limits<T>::lowest());
    std::fill(acc, acc + out_n, start);
    const std::vector<int64_t>& out_strides = out_strides_;
    std::vector<int64_t> counter(static_cast<size_t>(rank), 0);
    int64_t o = 0;
    for (int64_t i = 0; i < n; ++i) {
      const Acc v = static_cast<Acc>(in[i]);
      Acc& a = acc[o];
      if (kind_ == ReduceKind::Max)
        a = (v > a || v != v) ? v : a;  // NaN wins, as in numpy
      else
        a += v;
      for (int d = rank - 1; d >= 0; --d) {
        const size_t k = static_cast<size_t>(d);
        o += out_strides[k];
        if (++counter[k] < x.dim(d)) break;
        o -= out_strides[k] * x.dim(d);
        counter[k] = 0;
      }
    }
    const int64_t count = out_n ? n / out_n : 0;
    for (int64_t j = 0; j < out_n; ++j) {
      Acc a = acc[j];
      if (kind_ == ReduceKind::Mean) {
        // An empty reduction's mean is NaN (0/0) for float; int64 gives 0.
        if (count == 0)
          a = std::numeric_limits<Acc>::has_quiet_NaN ? std::numeric_limits<Acc>::quiet_NaN() : Acc(0);
        else
          a = a / static_cast<Acc>(count);
      }
      out[j] = static_cast<T>(a);
    }
  }

  OpInfo info_;
  ReduceKind kind_;
  bool axes_as_input_;
  std::vector<bool> reduced_;
  Shape kept_shape_;
  std::vector<int64_t> out_strides_;  // per input axis; 0 for reduced axes
};

}  // namespace

void register_reduce_ops(OpTable& table) {
  table["ReduceMean"] = [](const OpInfo& info) -> std::unique_ptr<Op> {
    return std::make_unique<ReduceOp>(info, ReduceKind::Mean, 18);
  };
  table["ReduceMax"] = [](const OpInfo& info) -> std::unique_ptr<Op> {
    return std::make_unique<ReduceOp>(info, ReduceKind::Max, 18);
  };
  table["ReduceSum"] = [](const OpInfo& info) -> std::unique_ptr<Op> {
    return std::make_unique<ReduceOp>(info, ReduceKind::Sum, 13);
  };
}

}  // namespace sparseinfer

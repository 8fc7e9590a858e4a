// Pad: constant, reflect and edge modes; negative pads crop. Opset 2 takes
// pads/value attributes, opset 11 on takes them as (constant) inputs.
#include <cstring>

#include "ops/op.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

enum class PadMode { Constant, Reflect, Edge };

class PadOp : public Op {
 public:
  explicit PadOp(const OpInfo& info) : info_(info) {
    std::string mode = info.node->attr_string("mode", "constant");
    if (mode == "constant")
      mode_ = PadMode::Constant;
    else if (mode == "reflect")
      mode_ = PadMode::Reflect;
    else if (mode == "edge")
      mode_ = PadMode::Edge;
    else
      op_fail(info, "unsupported mode '" + mode + "' (constant, reflect, edge are)");
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input");
    const Tensor& x = *inputs[0];
    const int rank = x.rank();
    std::vector<int64_t> pads;
    if (info_.opset < 11) {
      pads = info_.node->attr_ints(info_.opset < 2 ? "paddings" : "pads", {});
      value_ = info_.node->attr_float("value", 0.0f);
    } else {
      const Tensor* p = inputs.size() > 1 ? inputs[1] : nullptr;
      if (!p) op_fail(info_, "missing 'pads' input");
      if (p->dtype() != DType::Int64) op_fail(info_, "'pads' must be int64");
      if (!p->has_data()) op_fail(info_, "'pads' must be a constant (initializer or computable from shapes)");
      pads = p->to_i64_vector();
      const Tensor* v = inputs.size() > 2 ? inputs[2] : nullptr;
      value_ = 0.0f;
      if (v) {
        if (v->dtype() != x.dtype()) op_fail(info_, "'constant_value' must have the type of the input");
        if (v->numel() != 1) op_fail(info_, "'constant_value' must be a scalar");
        if (!v->has_data()) op_fail(info_, "'constant_value' must be a constant");
        value_ = v->to_f32_vector()[0];
        value_i64_ = v->to_i64_vector()[0];
      }
      if (inputs.size() > 3 && inputs[3]) op_fail(info_, "the 'axes' input (opset 18) is not supported");
    }
    if (info_.opset < 11 || inputs.size() < 3 || !inputs[2]) value_i64_ = static_cast<int64_t>(value_);
    if (static_cast<int>(pads.size()) != 2 * rank)
      op_fail(info_, "expected " + std::to_string(2 * rank) + " pads for rank " + std::to_string(rank) + ", got " +
                         std::to_string(pads.size()));
    Shape out(static_cast<size_t>(rank));
    source_.assign(static_cast<size_t>(rank), {});
    for (int a = 0; a < rank; ++a) {
      const int64_t n = x.dim(a), before = pads[static_cast<size_t>(a)], after = pads[static_cast<size_t>(a + rank)];
      const int64_t m = n + before + after;
      if (m < 0)
        op_fail(info_, "pads crop axis " + std::to_string(a) + " of size " + std::to_string(n) + " below zero");
      if (n == 0 && m > 0 && mode_ != PadMode::Constant) op_fail(info_, "cannot reflect or extend an empty axis");
      out[static_cast<size_t>(a)] = m;
      auto& src = source_[static_cast<size_t>(a)];
      src.resize(static_cast<size_t>(m));
      for (int64_t o = 0; o < m; ++o) src[static_cast<size_t>(o)] = source_index(o - before, n);
    }
    in_strides_.assign(static_cast<size_t>(rank), 1);
    for (int a = rank - 1; a > 0; --a)
      in_strides_[static_cast<size_t>(a - 1)] = in_strides_[static_cast<size_t>(a)] * x.dim(a);
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    if (x.dtype() == DType::Float32)
      pad(x.f32(), y.f32(), x.shape(), y.shape(), value_, ctx.threads);
    else
      pad(x.i64(), y.i64(), x.shape(), y.shape(), value_i64_, ctx.threads);
  }

 private:
  // Input index feeding output position i (relative to the input's start), or
  // -1 for the constant value.
  int64_t source_index(int64_t i, int64_t n) const {
    if (i >= 0 && i < n) return i;
    switch (mode_) {
      case PadMode::Constant:
        return -1;
      case PadMode::Edge:
        return i < 0 ? 0 : n - 1;
      case PadMode::Reflect: {
        if (n == 1) return 0;
        // Reflection without repeating the edge has period 2(n-1).
        const int64_t period = 2 * (n - 1);
        int64_t r = i % period;
        if (r < 0) r += period;
        return r < n ? r : period - r;
      }
    }
    return -1;
  }

  template <typename T>
  void pad(const T* in, T* out, const Shape& in_shape, const Shape& out_shape, T value, int threads) const {
    const size_t rank = in_shape.size();
    const int64_t total = shape_numel(out_shape);
    if (total == 0) return;
    if (rank == 0) {
      out[0] = in[0];
      return;
    }
    const int64_t width = out_shape[rank - 1];
    const int64_t rows = total / width;
    const std::vector<int64_t>& last = source_[rank - 1];
    const std::vector<int64_t>& in_strides = in_strides_;
    parallel_for(rows, total >= (1 << 15) ? threads : 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        T* dst = out + r * width;
        // Locate the source row; a padded position on any outer axis makes the whole row constant.
        int64_t src = 0, rem = r;
        bool constant_row = false;
        for (size_t d = rank - 1; d-- > 0;) {
          int64_t o = rem % out_shape[d];
          rem /= out_shape[d];
          int64_t s = source_[d][static_cast<size_t>(o)];
          if (s < 0) constant_row = true;
          src += s * in_strides[d];
        }
        if (constant_row) {
          for (int64_t i = 0; i < width; ++i) dst[i] = value;
          continue;
        }
        const T* row = in + src;
        for (int64_t i = 0; i < width; ++i) {
          int64_t s = last[static_cast<size_t>(i)];
          dst[i] = s < 0 ? value : row[s];
        }
      }
    });
  }

  OpInfo info_;
  PadMode mode_ = PadMode::Constant;
  float value_ = 0.0f;
  int64_t value_i64_ = 0;
  std::vector<int64_t> in_strides_;
  std::vector<std::vector<int64_t>> source_;  // per axis: input index for each output index
};

}  // namespace

void register_pad_ops(OpTable& table) {
  table["Pad"] = [](const OpInfo& info) { return std::make_unique<PadOp>(info); };
}

}  // namespace sparseinfer

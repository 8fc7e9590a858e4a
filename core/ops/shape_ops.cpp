// Operators that move or relabel data without arithmetic: Shape, Gather,
// Unsqueeze, Squeeze, Concat, Flatten, Reshape, Transpose, Identity, Dropout,
// Constant. They handle float32 and int64 alike (shape chains are int64).
#include <algorithm>
#include <array>
#include <cstring>
#include <set>

#include "ops/op.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

size_t element_size(DType t) {
  return t == DType::Float32 ? sizeof(float) : sizeof(int64_t);
}

const char* raw_data(const Tensor& t) {
  return t.dtype() == DType::Float32 ? reinterpret_cast<const char*>(t.f32()) : reinterpret_cast<const char*>(t.i64());
}

char* raw_data(Tensor& t) {
  return t.dtype() == DType::Float32 ? reinterpret_cast<char*>(t.f32()) : reinterpret_cast<char*>(t.i64());
}

// Resolves a possibly negative axis against `rank`; fails outside [-rank, rank).
int64_t resolve_axis(const OpInfo& info, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    op_fail(info, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

const Tensor& first_input(const OpInfo& info, const std::vector<const Tensor*>& inputs) {
  if (inputs.empty() || !inputs[0]) op_fail(info, "missing input");
  return *inputs[0];
}

// Axes from the attribute (older opsets) or from a constant int64 input.
std::vector<int64_t> axes_argument(const OpInfo& info, const std::vector<const Tensor*>& inputs, bool required) {
  if (info.node->has_attr("axes")) return info.node->attr_ints("axes", {});
  const Tensor* axes = inputs.size() > 1 ? inputs[1] : nullptr;
  if (!axes) {
    if (required) op_fail(info, "missing 'axes'");
    return {};
  }
  if (axes->dtype() != DType::Int64) op_fail(info, "'axes' must be int64");
  if (!axes->has_data()) op_fail(info, "'axes' must be a constant (initializer or computable from shapes)");
  return axes->to_i64_vector();
}

// Base of the operators whose output holds the input's elements in the same
// order under another shape; forward() is a plain copy.
class CopyOp : public Op {
 public:
  explicit CopyOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    const Tensor& x = first_input(info_, inputs);
    Shape out = output_shape(x, inputs);
    if (shape_numel(out) != x.numel())
      op_fail(info_, "cannot reshape " + shape_str(x.shape()) + " to " + shape_str(out));
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    size_t bytes = static_cast<size_t>(x.numel()) * element_size(x.dtype());
    if (bytes) std::memcpy(raw_data(y), raw_data(x), bytes);
  }

 protected:
  virtual Shape output_shape(const Tensor& x, const std::vector<const Tensor*>& inputs) = 0;
  OpInfo info_;
};

class IdentityOp : public CopyOp {
 public:
  using CopyOp::CopyOp;

 protected:
  Shape output_shape(const Tensor& x, const std::vector<const Tensor*>&) override { return x.shape(); }
};

// Inference-mode Dropout is the identity.
class DropoutOp : public CopyOp {
 public:
  explicit DropoutOp(const OpInfo& info) : CopyOp(info) {
    if (info.node->outputs.size() > 1 && !info.node->outputs[1].empty())
      op_fail(info, "bool mask output not supported");
  }

 protected:
  Shape output_shape(const Tensor& x, const std::vector<const Tensor*>& inputs) override {
    const Tensor* training = inputs.size() > 2 ? inputs[2] : nullptr;
    if (training) {
      if (!training->has_data()) op_fail(info_, "'training_mode' must be a constant");
      if (training->numel() != 1) op_fail(info_, "'training_mode' must be a scalar");
      if (training->to_i64_vector()[0] != 0) op_fail(info_, "training_mode=true is not supported (inference only)");
    }
    return x.shape();
  }
};

class FlattenOp : public CopyOp {
 public:
  using CopyOp::CopyOp;

 protected:
  Shape output_shape(const Tensor& x, const std::vector<const Tensor*>&) override {
    int64_t rank = x.rank();
    int64_t axis = info_.node->attr_int("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank)
      op_fail(info_, "axis " + std::to_string(info_.node->attr_int("axis", 1)) + " is out of range for rank " +
                         std::to_string(rank));
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x.dim(static_cast<int>(i));
    return {outer, inner};
  }
};

class ReshapeOp : public CopyOp {
 public:
  using CopyOp::CopyOp;

 protected:
  Shape output_shape(const Tensor& x, const std::vector<const Tensor*>& inputs) override {
    std::vector<int64_t> target;
    if (info_.opset < 5) {
      target = info_.node->attr_ints("shape", {});
    } else {
      const Tensor* shape = inputs.size() > 1 ? inputs[1] : nullptr;
      if (!shape) op_fail(info_, "missing 'shape' input");
      if (shape->dtype() != DType::Int64) op_fail(info_, "'shape' must be int64");
      if (!shape->has_data()) op_fail(info_, "'shape' must be a constant (initializer or computable from shapes)");
      target = shape->to_i64_vector();
    }
    bool allow_zero = info_.node->attr_int("allowzero", 0) != 0;
    Shape out(target.size());
    int infer_at = -1;
    int64_t known = 1;
    for (size_t i = 0; i < target.size(); ++i) {
      int64_t d = target[i];
      if (d == -1) {
        if (infer_at >= 0) op_fail(info_, "more than one -1 in the target shape");
        infer_at = static_cast<int>(i);
        continue;
      }
      if (d == 0 && !allow_zero) {
        if (static_cast<int>(i) >= x.rank())
          op_fail(info_, "target shape copies dimension " + std::to_string(i) + " (0) that input " +
                             shape_str(x.shape()) + " does not have");
        d = x.dim(static_cast<int>(i));
      }
      if (d < 0) op_fail(info_, "invalid dimension " + std::to_string(d) + " in the target shape");
      out[i] = d;
      known *= d;
    }
    if (infer_at >= 0) {
      if (known == 0 || x.numel() % known != 0)
        op_fail(info_, "cannot infer the -1 dimension reshaping " + shape_str(x.shape()) + " to " +
                           shape_str(Shape(target.begin(), target.end())));
      out[static_cast<size_t>(infer_at)] = x.numel() / known;
    }
    return out;
  }
};

class UnsqueezeOp : public CopyOp {
 public:
  using CopyOp::CopyOp;

 protected:
  Shape output_shape(const Tensor& x, const std::vector<const Tensor*>& inputs) override {
    std::vector<int64_t> axes = axes_argument(info_, inputs, true);
    int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> inserted(static_cast<size_t>(rank), false);
    for (int64_t a : axes) {
      int64_t r = resolve_axis(info_, a, rank);
      if (inserted[static_cast<size_t>(r)]) op_fail(info_, "axis " + std::to_string(a) + " is repeated");
      inserted[static_cast<size_t>(r)] = true;
    }
    Shape out;
    int src = 0;
    for (int64_t i = 0; i < rank; ++i) out.push_back(inserted[static_cast<size_t>(i)] ? 1 : x.dim(src++));
    return out;
  }
};

class SqueezeOp : public CopyOp {
 public:
  using CopyOp::CopyOp;

 protected:
  Shape output_shape(const Tensor& x, const std::vector<const Tensor*>& inputs) override {
    std::vector<int64_t> axes = axes_argument(info_, inputs, false);
    std::vector<bool> removed(static_cast<size_t>(x.rank()), false);
    if (axes.empty()) {
      for (int i = 0; i < x.rank(); ++i) removed[static_cast<size_t>(i)] = x.dim(i) == 1;
    }
    for (int64_t a : axes) {
      int64_t r = resolve_axis(info_, a, x.rank());
      if (x.dim(static_cast<int>(r)) != 1)
        op_fail(info_, "cannot squeeze axis " + std::to_string(a) + " of size " +
                           std::to_string(x.dim(static_cast<int>(r))) + " in shape " + shape_str(x.shape()));
      removed[static_cast<size_t>(r)] = true;
    }
    Shape out;
    for (int i = 0; i < x.rank(); ++i)
      if (!removed[static_cast<size_t>(i)]) out.push_back(x.dim(i));
    return out;
  }
};

// Shape: the input's dimensions [start, end) as int64 (slicing from opset 15).
class ShapeOp : public Op {
 public:
  explicit ShapeOp(const OpInfo& info) : info_(info) {}
  bool shape_only() const override { return true; }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    const Tensor& x = first_input(info_, inputs);
    range(x, begin_, end_);
    return {Tensor::descriptor(DType::Int64, {end_ - begin_})};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    int64_t* y = outputs[0]->i64();
    for (int64_t i = begin_; i < end_; ++i) y[i - begin_] = x.dim(static_cast<int>(i));
  }

 private:
  void range(const Tensor& x, int64_t& begin, int64_t& end) const {
    int64_t rank = x.rank();
    auto clamp = [&](int64_t v) {
      if (v < 0) v += rank;
      return std::min(std::max<int64_t>(v, 0), rank);
    };
    begin = clamp(info_.node->attr_int("start", 0));
    end = clamp(info_.node->attr_int("end", rank));
    if (end < begin) end = begin;
  }

  OpInfo info_;
  int64_t begin_ = 0, end_ = 0;
};

// Gather along `axis` with int64 indices, negative ones counting from the end.
class GatherOp : public Op {
 public:
  explicit GatherOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.size() != 2 || !inputs[0] || !inputs[1]) op_fail(info_, "expects inputs data and indices");
    const Tensor& data = *inputs[0];
    const Tensor& indices = *inputs[1];
    if (indices.dtype() != DType::Int64) op_fail(info_, "indices must be int64");
    if (data.rank() == 0) op_fail(info_, "data must have at least one dimension");
    axis_ = resolve_axis(info_, info_.node->attr_int("axis", 0), data.rank());
    if (indices.has_data()) check_indices(indices, data.dim(static_cast<int>(axis_)));
    Shape out(data.shape().begin(), data.shape().begin() + axis_);
    out.insert(out.end(), indices.shape().begin(), indices.shape().end());
    out.insert(out.end(), data.shape().begin() + axis_ + 1, data.shape().end());
    return {Tensor::descriptor(data.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& data = *inputs[0];
    const Tensor& indices = *inputs[1];
    const int64_t axis_len = data.dim(static_cast<int>(axis_));
    check_indices(indices, axis_len);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < data.rank(); ++i) {
      if (i < axis_) outer *= data.dim(i);
      if (i > axis_) inner *= data.dim(i);
    }
    const size_t block = static_cast<size_t>(inner) * element_size(data.dtype());
    const char* src = raw_data(data);
    char* dst = raw_data(*outputs[0]);
    const int64_t* idx = indices.i64();
    const int64_t count = indices.numel();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < count; ++k) {
        int64_t i = idx[k] < 0 ? idx[k] + axis_len : idx[k];
        std::memcpy(dst + (o * count + k) * block, src + (o * axis_len + i) * block, block);
      }
  }

 private:
  void check_indices(const Tensor& indices, int64_t axis_len) const {
    const int64_t* idx = indices.i64();
    for (int64_t k = 0; k < indices.numel(); ++k)
      if (idx[k] < -axis_len || idx[k] >= axis_len)
        op_fail(info_,
                "index " + std::to_string(idx[k]) + " is out of range for an axis of size " + std::to_string(axis_len));
  }

  OpInfo info_;
  int64_t axis_ = 0;
};

class ConcatOp : public Op {
 public:
  explicit ConcatOp(const OpInfo& info) : info_(info) {
    if (!info.node->has_attr("axis") && info.opset >= 4) op_fail(info, "missing required attribute 'axis'");
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty()) op_fail(info_, "expects at least one input");
    for (const Tensor* t : inputs)
      if (!t) op_fail(info_, "inputs cannot be omitted");
    const Tensor& first = *inputs[0];
    if (first.rank() == 0) op_fail(info_, "inputs must have at least one dimension");
    axis_ = resolve_axis(info_, info_.node->attr_int("axis", 1), first.rank());
    Shape out = first.shape();
    out[static_cast<size_t>(axis_)] = 0;
    for (const Tensor* t : inputs) {
      if (t->dtype() != first.dtype()) op_fail(info_, "inputs have different types");
      bool same = t->rank() == first.rank();
      for (int i = 0; same && i < first.rank(); ++i) same = i == axis_ || t->dim(i) == first.dim(i);
      if (!same)
        op_fail(info_, "input shapes " + shape_str(first.shape()) + " and " + shape_str(t->shape()) +
                           " differ outside axis " + std::to_string(axis_));
      out[static_cast<size_t>(axis_)] += t->dim(static_cast<int>(axis_));
    }
    return {Tensor::descriptor(first.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    Tensor& y = *outputs[0];
    const size_t elem = element_size(y.dtype());
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < y.rank(); ++i) {
      if (i < axis_) outer *= y.dim(i);
      if (i > axis_) inner *= y.dim(i);
    }
    const size_t out_row = static_cast<size_t>(y.dim(static_cast<int>(axis_)) * inner) * elem;
    char* dst = raw_data(y);
    int threads = y.numel() >= (1 << 15) ? ctx.threads : 1;
    size_t offset = 0;
    for (const Tensor* t : inputs) {
      const size_t row = static_cast<size_t>(t->dim(static_cast<int>(axis_)) * inner) * elem;
      const char* src = raw_data(*t);
      if (row) {
        if (outer == 1) {
          parallel_for(static_cast<int64_t>(row), threads, [&](int64_t b, int64_t e) {
            std::memcpy(dst + offset + b, src + b, static_cast<size_t>(e - b));
          });
        } else {
          parallel_for(outer, threads, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) std::memcpy(dst + o * out_row + offset, src + o * row, row);
          });
        }
      }
      offset += row;
    }
  }

 private:
  OpInfo info_;
  int64_t axis_ = 0;
};

class TransposeOp : public Op {
 public:
  explicit TransposeOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    const Tensor& x = first_input(info_, inputs);
    const int rank = x.rank();
    std::vector<int64_t> perm = info_.node->attr_ints("perm", {});
    if (perm.empty())
      for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
    if (static_cast<int>(perm.size()) != rank)
      op_fail(info_, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) op_fail(info_, "perm is not a permutation");
      seen[static_cast<size_t>(p)] = true;
    }
    if (rank > kMaxRank)
      op_fail(info_, "rank " + std::to_string(rank) + " is above the supported " + std::to_string(kMaxRank));
    perm_ = perm;
    std::vector<int64_t> in_strides(static_cast<size_t>(rank), 1);
    for (int i = rank - 1; i > 0; --i)
      in_strides[static_cast<size_t>(i - 1)] = in_strides[static_cast<size_t>(i)] * x.dim(i);
    out_dims_.clear();
    in_strides_permuted_.clear();
    for (int64_t p : perm) {
      out_dims_.push_back(x.dim(static_cast<int>(p)));
      in_strides_permuted_.push_back(in_strides[static_cast<size_t>(p)]);
    }
    Shape out;
    for (int64_t p : perm) out.push_back(x.dim(static_cast<int>(p)));
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    if (x.dtype() == DType::Float32)
      transpose(x.f32(), outputs[0]->f32(), x.shape());
    else
      transpose(x.i64(), outputs[0]->i64(), x.shape());
  }

 private:
  template <typename T>
  void transpose(const T* in, T* out, const Shape& in_shape) const {
    const size_t rank = perm_.size();
    const int64_t n = shape_numel(in_shape);
    if (n == 0) return;
    if (rank == 0) {
      out[0] = in[0];
      return;
    }
    const std::vector<int64_t>& out_dims = out_dims_;
    const std::vector<int64_t>& strides = in_strides_permuted_;
    // Walk the output in order with an odometer over the input offset.
    std::array<int64_t, kMaxRank> counter{};
    const int64_t last_dim = out_dims[rank - 1], last_stride = strides[rank - 1];
    int64_t src = 0;
    for (int64_t o = 0; o < n; o += last_dim) {
      for (int64_t i = 0; i < last_dim; ++i) out[o + i] = in[src + i * last_stride];
      for (size_t d = rank - 1; d-- > 0;) {
        src += strides[d];
        if (++counter[d] < out_dims[d]) break;
        src -= strides[d] * out_dims[d];
        counter[d] = 0;
      }
    }
  }

  static constexpr int kMaxRank = 16;
  OpInfo info_;
  std::vector<int64_t> perm_;
  std::vector<int64_t> out_dims_, in_strides_permuted_;  // per output axis
};

class ConstantOp : public Op {
 public:
  explicit ConstantOp(const OpInfo& info) : info_(info) {
    const Node& node = *info.node;
    if (const Tensor* t = node.attr_tensor("value")) {
      value_ = *t;
    } else if (node.has_attr("value_float")) {
      value_ = Tensor::scalar_f32(node.attr_float("value_float", 0.0f));
    } else if (node.has_attr("value_floats")) {
      std::vector<float> v = node.attr_floats("value_floats", {});
      value_ = Tensor::from_f32({static_cast<int64_t>(v.size())}, v);
    } else if (node.has_attr("value_int")) {
      value_ = Tensor::from_i64({}, {node.attr_int("value_int", 0)});
    } else if (node.has_attr("value_ints")) {
      std::vector<int64_t> v = node.attr_ints("value_ints", {});
      value_ = Tensor::from_i64({static_cast<int64_t>(v.size())}, v);
    } else if (node.has_attr("sparse_value") || node.has_attr("value_string") || node.has_attr("value_strings")) {
      op_fail(info, "sparse and string constants are not supported");
    } else {
      op_fail(info, "no value attribute");
    }
    if (!value_.has_data()) op_fail(info, "the value attribute holds no data");
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>&) override {
    return {Tensor::descriptor(value_.dtype(), value_.shape())};
  }

  void forward(const std::vector<const Tensor*>&, const std::vector<Tensor*>& outputs, ExecContext&) override {
    size_t bytes = static_cast<size_t>(value_.numel()) * element_size(value_.dtype());
    if (bytes) std::memcpy(raw_data(*outputs[0]), raw_data(value_), bytes);
  }

 private:
  OpInfo info_;
  Tensor value_;
};

template <typename T>
OpFactory factory() {
  return [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<T>(info); };
}

}  // namespace

void register_shape_ops(OpTable& table) {
  table["Shape"] = factory<ShapeOp>();
  table["Gather"] = factory<GatherOp>();
  table["Unsqueeze"] = factory<UnsqueezeOp>();
  table["Squeeze"] = factory<SqueezeOp>();
  table["Concat"] = factory<ConcatOp>();
  table["Flatten"] = factory<FlattenOp>();
  table["Reshape"] = factory<ReshapeOp>();
  table["Transpose"] = factory<TransposeOp>();
  table["Identity"] = factory<IdentityOp>();
  table["Dropout"] = factory<DropoutOp>();
  table["Constant"] = factory<ConstantOp>();
}

}  // namespace sparseinfer

// Gemm and MatMul reference: shape logic and plain triple loops. The CPU
// backend's SGEMM versions are core/cpu/matmul_cpu.cpp.
#include "ops/matmul.h"

#include <algorithm>

namespace sparseinfer {

namespace {

void require_f32(const OpInfo& info, const Tensor& t, const char* name) {
  if (t.dtype() != DType::Float32)
    op_fail(info, std::string("input ") + name + " is " + dtype_name(t.dtype()) + ", only float32 is supported");
}

}  // namespace

GemmOp::GemmOp(const OpInfo& info) : info_(info) {
  const Node& n = *info.node;
  trans_a_ = n.attr_int("transA", 0) != 0;
  trans_b_ = n.attr_int("transB", 0) != 0;
  alpha_ = n.attr_float("alpha", 1.0f);
  beta_ = n.attr_float("beta", 1.0f);
  act_ = fused_activation(n);
}

std::vector<Tensor> GemmOp::infer(const std::vector<const Tensor*>& inputs) {
  if (inputs.size() < 2 || !inputs[0] || !inputs[1]) op_fail(info_, "needs inputs A and B");
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  require_f32(info_, a, "A");
  require_f32(info_, b, "B");
  if (a.rank() != 2 || b.rank() != 2)
    op_fail(info_, "A " + shape_str(a.shape()) + " and B " + shape_str(b.shape()) + " must be matrices");
  m_ = trans_a_ ? a.dim(1) : a.dim(0);
  k_ = trans_a_ ? a.dim(0) : a.dim(1);
  n_ = trans_b_ ? b.dim(0) : b.dim(1);
  const int64_t kb = trans_b_ ? b.dim(1) : b.dim(0);
  if (kb != k_)
    op_fail(info_, "inner dimensions differ: A " + shape_str(a.shape()) + (trans_a_ ? " (transposed)" : "") + ", B " +
                       shape_str(b.shape()) + (trans_b_ ? " (transposed)" : ""));
  c_rows_ = c_cols_ = 0;
  if (inputs.size() > 2 && inputs[2]) {
    const Tensor& c = *inputs[2];
    require_f32(info_, c, "C");
    if (c.rank() > 2) op_fail(info_, "C has shape " + shape_str(c.shape()) + ", expected rank 0 to 2");
    // Unidirectional broadcast of C to [M, N], numpy-aligned from the right.
    c_cols_ = c.rank() >= 1 ? c.dim(c.rank() - 1) : 1;
    c_rows_ = c.rank() == 2 ? c.dim(0) : 1;
    if ((c_cols_ != 1 && c_cols_ != n_) || (c_rows_ != 1 && c_rows_ != m_))
      op_fail(info_, "C of shape " + shape_str(c.shape()) + " does not broadcast to [" + std::to_string(m_) + "," +
                         std::to_string(n_) + "]");
  }
  return {Tensor::descriptor(DType::Float32, {m_, n_})};
}

void GemmOp::forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  const Tensor* c = inputs.size() > 2 ? inputs[2] : nullptr;
  const int64_t lda = a.dim(1), ldb = b.dim(1);
  float* y = outputs[0]->f32();
  for (int64_t i = 0; i < m_; ++i)
    for (int64_t j = 0; j < n_; ++j) {
      float sum = 0.0f;
      for (int64_t p = 0; p < k_; ++p) {
        const float av = trans_a_ ? a.f32()[p * lda + i] : a.f32()[i * lda + p];
        const float bv = trans_b_ ? b.f32()[j * ldb + p] : b.f32()[p * ldb + j];
        sum += av * bv;
      }
      float value = alpha_ * sum;
      if (c && beta_ != 0.0f) value += beta_ * c->f32()[(c_rows_ == 1 ? 0 : i) * c_cols_ + (c_cols_ == 1 ? 0 : j)];
      y[i * n_ + j] = act_.apply(value);
    }
}

int64_t GemmOp::macs(const std::vector<const Tensor*>&, const std::vector<const Tensor*>&) const {
  return m_ * n_ * k_;
}

MatMulOp::MatMulOp(const OpInfo& info) : info_(info) {}

std::vector<Tensor> MatMulOp::infer(const std::vector<const Tensor*>& inputs) {
  if (inputs.size() < 2 || !inputs[0] || !inputs[1]) op_fail(info_, "needs inputs A and B");
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  require_f32(info_, a, "A");
  require_f32(info_, b, "B");
  if (a.rank() < 1 || b.rank() < 1) op_fail(info_, "MatMul of a scalar is not defined");
  // numpy: a 1-D A is a row vector, a 1-D B a column vector; that axis is dropped from the result.
  Shape as = a.shape(), bs = b.shape();
  if (a.rank() == 1) as.insert(as.begin(), 1);
  if (b.rank() == 1) bs.push_back(1);
  m_ = as[as.size() - 2];
  k_ = as.back();
  n_ = bs.back();
  if (bs[bs.size() - 2] != k_)
    op_fail(info_, "inner dimensions differ: A " + shape_str(a.shape()) + ", B " + shape_str(b.shape()));
  Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  a_batch.insert(a_batch.begin(), rank - a_batch.size(), 1);
  b_batch.insert(b_batch.begin(), rank - b_batch.size(), 1);
  batch_.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    if (a_batch[i] != b_batch[i] && a_batch[i] != 1 && b_batch[i] != 1)
      op_fail(info_,
              "batch dimensions of A " + shape_str(a.shape()) + " and B " + shape_str(b.shape()) + " do not broadcast");
    batch_[i] = std::max(a_batch[i], b_batch[i]);
  }
  // Per batch dimension, the stride (in matrices) into A and B; 0 where broadcast.
  a_stride_.assign(rank, 0);
  b_stride_.assign(rank, 0);
  int64_t sa = 1, sb = 1;
  for (size_t i = rank; i-- > 0;) {
    a_stride_[i] = a_batch[i] == 1 ? 0 : sa;
    b_stride_[i] = b_batch[i] == 1 ? 0 : sb;
    sa *= a_batch[i];
    sb *= b_batch[i];
  }
  // B shared by every batch: fold A's batch into M for one large GEMM.
  fold_batch_ = sb == 1 && rank > 0;
  Shape out = batch_;
  if (a.rank() > 1) out.push_back(m_);
  if (b.rank() > 1) out.push_back(n_);
  return {Tensor::descriptor(DType::Float32, out)};
}

int64_t MatMulOp::a_offset(int64_t i) const {
  int64_t offset = 0;
  for (size_t d = batch_.size(); d-- > 0; i /= batch_[d]) offset += i % batch_[d] * a_stride_[d];
  return offset * m_ * k_;
}

int64_t MatMulOp::b_offset(int64_t i) const {
  int64_t offset = 0;
  for (size_t d = batch_.size(); d-- > 0; i /= batch_[d]) offset += i % batch_[d] * b_stride_[d];
  return offset * k_ * n_;
}

void MatMulOp::forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) {
  float* y = outputs[0]->f32();
  for (int64_t batch = 0; batch < shape_numel(batch_); ++batch) {
    const float* a = inputs[0]->f32() + a_offset(batch);
    const float* b = inputs[1]->f32() + b_offset(batch);
    float* y_batch = y + batch * m_ * n_;
    for (int64_t i = 0; i < m_; ++i)
      for (int64_t j = 0; j < n_; ++j) {
        float sum = 0.0f;
        for (int64_t p = 0; p < k_; ++p) sum += a[i * k_ + p] * b[p * n_ + j];
        y_batch[i * n_ + j] = sum;
      }
  }
}

int64_t MatMulOp::macs(const std::vector<const Tensor*>&, const std::vector<const Tensor*>&) const {
  return shape_numel(batch_) * m_ * n_ * k_;
}

void register_matmul_ops(OpTable& table) {
  table["Gemm"] = [](const OpInfo& info) { return std::make_unique<GemmOp>(info); };
  table["MatMul"] = [](const OpInfo& info) { return std::make_unique<MatMulOp>(info); };
}

}  // namespace sparseinfer

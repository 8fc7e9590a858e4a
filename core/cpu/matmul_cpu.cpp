// The CPU backend's Gemm and MatMul on SGEMM (OpenBLAS by default). Shape
// logic is the reference's (ops/matmul.cpp).
#include <algorithm>
#include <cstring>

#include "cpu/cpu_ops.h"
#include "cpu/sgemm.h"
#include "ops/matmul.h"

namespace sparseinfer {

namespace {

// BLAS threads for a GEMM of this size: small ones stay on the caller's
// thread, since waking OpenBLAS's own pool costs more than it saves and its
// spinning workers then compete with the OpenMP threads of the next operators.
int gemm_threads(int64_t macs, int threads) {
  return macs < (int64_t(8) << 20) ? 1 : std::max(threads, 1);
}

class GemmCpu : public GemmOp {
 public:
  using GemmOp::GemmOp;

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const Tensor* c = inputs.size() > 2 ? inputs[2] : nullptr;
    float* y = outputs[0]->f32();
    float beta = 0.0f;
    if (c && beta_ != 0.0f) {
      // Y starts as C broadcast to [M, N]; SGEMM then accumulates into it with beta.
      const float* cv = c->f32();
      for (int64_t i = 0; i < m_; ++i) {
        const float* crow = cv + (c_rows_ == 1 ? 0 : i) * c_cols_;
        float* yrow = y + i * n_;
        if (c_cols_ == 1)
          std::fill(yrow, yrow + n_, crow[0]);
        else
          std::memcpy(yrow, crow, sizeof(float) * n_);
      }
      beta = beta_;
    }
    const Tensor& a = *inputs[0];
    const Tensor& b = *inputs[1];
    sgemm(trans_a_, trans_b_, m_, n_, k_, alpha_, a.f32(), a.dim(1), b.f32(), b.dim(1), beta, y, n_,
          gemm_threads(m_ * n_ * k_, ctx.threads));
    if (act_.kind != ActivationKind::None) act_.apply_inplace(y, m_ * n_);
  }
};

class MatMulCpu : public MatMulOp {
 public:
  using MatMulOp::MatMulOp;

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const float* a = inputs[0]->f32();
    const float* b = inputs[1]->f32();
    float* y = outputs[0]->f32();
    const int64_t batches = shape_numel(batch_);
    const int threads = gemm_threads(batches * m_ * n_ * k_, ctx.threads);
    // B shared by every batch: fold A's batch into M for one large GEMM.
    if (fold_batch_ || batch_.empty()) {
      sgemm(false, false, m_ * batches, n_, k_, 1.0f, a, k_, b, n_, 0.0f, y, n_, threads);
      return;
    }
    for (int64_t i = 0; i < batches; ++i)
      sgemm(false, false, m_, n_, k_, 1.0f, a + a_offset(i), k_, b + b_offset(i), n_, 0.0f, y + i * m_ * n_, n_,
            threads);
  }
};

}  // namespace

void register_matmul_cpu(OpTable& table) {
  table["Gemm"] = [](const OpInfo& info) { return std::make_unique<GemmCpu>(info); };
  table["MatMul"] = [](const OpInfo& info) { return std::make_unique<MatMulCpu>(info); };
}

}  // namespace sparseinfer

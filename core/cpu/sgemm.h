// Single-precision GEMM through the configured CBLAS (OpenBLAS by default).
#pragma once

#include <cstdint>

namespace sparseinfer {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major, with leading
// dimensions lda/ldb/ldc. `threads` caps the BLAS threads for this call.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads);

}  // namespace sparseinfer

#include "cpu/sgemm.h"

#include <cblas.h>

namespace sparseinfer {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads) {
  if (M <= 0 || N <= 0) return;
#ifdef SPARSEINFER_OPENBLAS
  // OpenBLAS keeps one global thread count; set it per call so each engine
  // gets the cores it was configured with.
  openblas_set_num_threads(threads > 0 ? threads : 1);
#else
  (void)threads;
#endif
  // One row or one column is a matrix-vector product: OpenBLAS's SGEMM would
  // still pack the whole matrix (the classifier of MobileNetV3, squeeze-excite
  // 1x1 convolutions on 1x1 maps), GEMV streams it once.
  if ((M == 1 || N == 1) && K > 0 && beta == 0.0f) {
    // BLAS may scale y by beta rather than overwrite it: leave no stale NaN there.
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = 0.0f;
  }
  if (M == 1 && K > 0) {
    const int incx = trans_a ? static_cast<int>(lda) : 1;
    if (trans_b)  // op(B) = B^T with B [N, K]: y = B x
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(N), static_cast<int>(K), alpha, B,
                  static_cast<int>(ldb), A, incx, beta, C, 1);
    else  // B [K, N]: y = B^T x
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(N), alpha, B, static_cast<int>(ldb),
                  A, incx, beta, C, 1);
    return;
  }
  if (N == 1 && K > 0) {
    const int incx = trans_b ? 1 : static_cast<int>(ldb);
    if (trans_a)  // op(A) = A^T with A [K, M]
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(M), alpha, A, static_cast<int>(lda),
                  B, incx, beta, C, static_cast<int>(ldc));
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(M), static_cast<int>(K), alpha, A,
                  static_cast<int>(lda), B, incx, beta, C, static_cast<int>(ldc));
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B,
              static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}

}  // namespace sparseinfer

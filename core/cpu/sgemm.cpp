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
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B,
              static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}

}  // namespace sparseinfer

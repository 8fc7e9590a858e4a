// The GEMM of change-based convolution on cuBLAS: weights times the patch
// matrix of the affected pixels (CBinfer §III-A).
#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"

namespace sparseinfer::cuda {

namespace {

void check_dims(int64_t m, int64_t n, int64_t k) {
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
    throw Error("GEMM of " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                " exceeds cuBLAS int dimensions");
}

}  // namespace

// Row-major Y[m x n] is column-major Y^T[n x m] = P[n x k] * W^T[k x m]; the
// column-major views of row-major P and W are P^T (ld k) and W^T (ld k).
void gemm_weights_patches(const CudaContext& ctx, int64_t m, int64_t n, int64_t k, const float* W, const float* P,
                          float* Y) {
  if (m <= 0 || n <= 0) return;
  check_dims(m, n, k);
  const float one = 1.0f, zero = 0.0f;
  check_cublas(
      cublasSgemm(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k),
                  &one, P, static_cast<int>(k), W, static_cast<int>(k), &zero, Y, static_cast<int>(n)),
      "cublasSgemm");
}

void gemm_weights_patches_f16(const CudaContext& ctx, int64_t m, int64_t n, int64_t k, const uint16_t* W,
                              const uint16_t* P, float* Y) {
  if (m <= 0 || n <= 0) return;
  check_dims(m, n, k);
  const float one = 1.0f, zero = 0.0f;
  check_cublas(
      cublasGemmEx(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                   static_cast<int>(k), &one, P, CUDA_R_16F, static_cast<int>(k), W, CUDA_R_16F, static_cast<int>(k),
                   &zero, Y, CUDA_R_32F, static_cast<int>(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      "cublasGemmEx (fp16 inputs, fp32 accumulation)");
}

}  // namespace sparseinfer::cuda

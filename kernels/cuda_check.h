// Turns CUDA runtime and cuBLAS status codes into sparseinfer::Error, so no
// GPU failure aborts the process. Internal to kernels/.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "sparseinfer/error.h"

namespace sparseinfer::cuda {

inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw Error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(status) + " (" +
                cudaGetErrorString(status) + ")");
}

inline void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuBLAS error in ") + what + ": " + cublasGetStatusName(status) + " (" +
                cublasGetStatusString(status) + ")");
}

// Blocks of this many threads for the element-wise kernels.
constexpr int kBlock = 256;

inline unsigned blocks_for(int64_t count) {
  return static_cast<unsigned>((count + kBlock - 1) / kBlock);
}

}  // namespace sparseinfer::cuda

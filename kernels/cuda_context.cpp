#include "cuda_context.h"

#include "cuda_check.h"

namespace sparseinfer::cuda {

int device_count(std::string* why) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    cudaGetLastError();  // clear the error so later runtime calls start clean
    return 0;
  }
  if (count == 0 && why) *why = "the CUDA runtime reports no device";
  return count;
}

CudaContext::CudaContext(int device) : device_(device) {
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  stream_ = stream;
  cublasHandle_t handle = nullptr;
  cublasStatus_t status = cublasCreate(&handle);
  if (status != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy(stream_);
    check_cublas(status, "cublasCreate");
  }
  cublas_ = handle;
  // Plain fp32 SGEMM (no TF32), so the fp32 path stays within float tolerance of the CPU.
  check_cublas(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  check_cublas(cublasSetStream(handle, stream_), "cublasSetStream");
}

CudaContext::~CudaContext() {
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaContext::synchronize() const {
  check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
}

void CudaContext::check_launch(const char* what) const {
  check_cuda(cudaGetLastError(), what);
}

}  // namespace sparseinfer::cuda

#include "device_buffer.h"

#include "cuda_check.h"
#include "cuda_context.h"

namespace sparseinfer::cuda {

void* device_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw Error("CUDA error in cudaMalloc of " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(status));
  }
  return ptr;
}

void device_free(void* ptr) noexcept {
  if (ptr) cudaFree(ptr);
}

void copy_to_device(void* dst, const void* src, size_t bytes, const CudaContext& ctx) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx.stream()), "cudaMemcpyAsync to device");
}

void copy_to_host(void* dst, const void* src, size_t bytes, const CudaContext& ctx) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx.stream()), "cudaMemcpyAsync to host");
  ctx.synchronize();
}

void copy_on_device(void* dst, const void* src, size_t bytes, const CudaContext& ctx) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream()), "cudaMemcpyAsync on device");
}

void fill_zero(void* dst, size_t bytes, const CudaContext& ctx) {
  if (bytes == 0) return;
  check_cuda(cudaMemsetAsync(dst, 0, bytes, ctx.stream()), "cudaMemsetAsync");
}

}  // namespace sparseinfer::cuda

// One CUDA stream and one cuBLAS handle per engine instance, so that engines
// never serialize on the legacy default stream and cuBLAS state is not shared
// between threads. CUDA types stay out of this header: the stream is handed
// out as the opaque CUstream_st* that cudaStream_t names.
#pragma once

#include <string>

struct CUstream_st;
struct cublasContext;

namespace sparseinfer::cuda {

// Number of usable CUDA devices; 0 (and `why` filled) when the driver or the
// runtime reports none or fails to answer.
int device_count(std::string* why = nullptr);

class CudaContext {
 public:
  // Selects `device` for the calling thread and creates the stream and handle;
  // throws sparseinfer::Error with the CUDA message on failure.
  explicit CudaContext(int device = 0);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  CUstream_st* stream() const { return stream_; }
  cublasContext* cublas() const { return cublas_; }
  // Waits for all work queued on the stream; throws on an asynchronous error.
  void synchronize() const;
  // Throws if a kernel launch on this thread failed (cudaGetLastError).
  void check_launch(const char* what) const;

 private:
  int device_ = 0;
  CUstream_st* stream_ = nullptr;
  cublasContext* cublas_ = nullptr;
};

}  // namespace sparseinfer::cuda

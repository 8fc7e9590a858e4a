// Device memory owned by one object (cudaMalloc, never managed memory).
// Buffers only grow, so after warm-up a frame allocates nothing.
#pragma once

#include <cstddef>
#include <utility>

namespace sparseinfer::cuda {

class CudaContext;

// Untyped helpers behind DeviceBuffer; all throw sparseinfer::Error on failure.
void* device_alloc(size_t bytes);
void device_free(void* ptr) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes, const CudaContext& ctx);
void copy_to_host(void* dst, const void* src, size_t bytes, const CudaContext& ctx);
void copy_on_device(void* dst, const void* src, size_t bytes, const CudaContext& ctx);
void fill_zero(void* dst, size_t bytes, const CudaContext& ctx);

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) { reserve(count); }
  ~DeviceBuffer() { device_free(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }

  // Grow-only: contents are lost when the buffer grows, kept otherwise.
  void reserve(size_t count) {
    if (count <= capacity_) return;
    T* fresh = static_cast<T*>(device_alloc(count * sizeof(T)));
    device_free(data_);
    data_ = fresh;
    capacity_ = count;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t capacity() const { return capacity_; }
  size_t bytes() const { return capacity_ * sizeof(T); }

  // Stream-ordered copies; the download waits for the stream so `host` is ready on return.
  void upload(const T* host, size_t count, const CudaContext& ctx) {
    reserve(count);
    copy_to_device(data_, host, count * sizeof(T), ctx);
  }
  void download(T* host, size_t count, const CudaContext& ctx) const {
    copy_to_host(host, data_, count * sizeof(T), ctx);
  }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace sparseinfer::cuda

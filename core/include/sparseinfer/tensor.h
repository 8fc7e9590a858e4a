// Dense N-dimensional tensor used everywhere in the core: NCHW float32 for
// activations, int64 for the shape arithmetic that exported graphs carry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparseinfer {

enum class DType : uint8_t { Float32, Int64 };

const char* dtype_name(DType t);

using Shape = std::vector<int64_t>;

// Product of the dimensions; 1 for a scalar (empty shape).
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);

// 64-byte aligned allocation so SIMD loads and BLAS packing stay on cache lines.
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n);
  void deallocate(T* p, std::size_t) noexcept;
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
};

// A tensor either owns data, or is a descriptor only (dtype and shape, no
// storage): shape inference passes descriptors for values that are not known
// until run time, and full tensors for constants.
class Tensor {
 public:
  Tensor() = default;
  // Copies own their data, also when copying a view (a view's memory belongs
  // to an engine and is overwritten on the next frame); moves keep views.
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  // Allocates zero-filled storage.
  Tensor(DType dtype, Shape shape);
  static Tensor descriptor(DType dtype, Shape shape);
  static Tensor scalar_f32(float v);
  static Tensor from_f32(Shape shape, const std::vector<float>& values);
  static Tensor from_i64(Shape shape, const std::vector<int64_t>& values);
  // A tensor over memory owned elsewhere (an engine's buffer arena). Copies of
  // a view are owning copies; allocate() turns it into an owning tensor.
  static Tensor view(DType dtype, Shape shape, void* data);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i)]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  bool has_data() const { return has_data_; }

  float* f32();
  const float* f32() const;
  int64_t* i64();
  const int64_t* i64() const;
  // The storage whatever the dtype, for copies and comparisons.
  void* raw() { return dtype_ == DType::Float32 ? static_cast<void*>(f32()) : static_cast<void*>(i64()); }
  const void* raw() const {
    return dtype_ == DType::Float32 ? static_cast<const void*>(f32()) : static_cast<const void*>(i64());
  }

  // Changes the shape keeping the element count and data.
  void reshape(Shape shape);
  // Makes this a tensor of the given type and shape with storage; reuses the
  // existing allocation when it is large enough (no allocation per frame).
  void allocate(DType dtype, Shape shape);

  // Values converted to int64 / float (for shape inputs and attributes).
  std::vector<int64_t> to_i64_vector() const;
  std::vector<float> to_f32_vector() const;

  size_t bytes() const;

 private:
  DType dtype_ = DType::Float32;
  Shape shape_;
  bool has_data_ = false;
  void* external_ = nullptr;
  std::vector<float, AlignedAllocator<float>> f32_;
  std::vector<int64_t, AlignedAllocator<int64_t>> i64_;
};

}  // namespace sparseinfer

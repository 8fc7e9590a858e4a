#include "sparseinfer/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

#include "sparseinfer/error.h"

namespace sparseinfer {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Int64: return "int64";
  }
  return "?";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? "," : "") << shape[i];
  os << "]";
  return os.str();
}

template <typename T>
T* AlignedAllocator<T>::allocate(std::size_t n) {
  if (n == 0) n = 1;
  std::size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return static_cast<T*>(p);
}

template <typename T>
void AlignedAllocator<T>::deallocate(T* p, std::size_t) noexcept {
  std::free(p);
}

template struct AlignedAllocator<float>;
template struct AlignedAllocator<int64_t>;

Tensor::Tensor(DType dtype, Shape shape) { allocate(dtype, std::move(shape)); }

Tensor::Tensor(const Tensor& other) { *this = other; }

Tensor& Tensor::operator=(const Tensor& other) {
  if (this == &other) return *this;
  if (!other.external_) {
    dtype_ = other.dtype_;
    shape_ = other.shape_;
    has_data_ = other.has_data_;
    external_ = nullptr;
    f32_ = other.f32_;
    i64_ = other.i64_;
    return *this;
  }
  allocate(other.dtype_, other.shape_);
  std::memcpy(raw(), other.raw(), other.bytes());
  return *this;
}

Tensor Tensor::descriptor(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.has_data_ = false;
  return t;
}

Tensor Tensor::scalar_f32(float v) { return from_f32({}, {v}); }

Tensor Tensor::from_f32(Shape shape, const std::vector<float>& values) {
  Tensor t(DType::Float32, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw Error("from_f32: " + std::to_string(values.size()) + " values for shape " + shape_str(t.shape()));
  std::memcpy(t.f32(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::from_i64(Shape shape, const std::vector<int64_t>& values) {
  Tensor t(DType::Int64, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw Error("from_i64: " + std::to_string(values.size()) + " values for shape " + shape_str(t.shape()));
  std::memcpy(t.i64(), values.data(), values.size() * sizeof(int64_t));
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.has_data_ = true;
  t.external_ = data;
  return t;
}

float* Tensor::f32() { return external_ ? static_cast<float*>(external_) : f32_.data(); }
const float* Tensor::f32() const { return external_ ? static_cast<const float*>(external_) : f32_.data(); }
int64_t* Tensor::i64() { return external_ ? static_cast<int64_t*>(external_) : i64_.data(); }
const int64_t* Tensor::i64() const { return external_ ? static_cast<const int64_t*>(external_) : i64_.data(); }

void Tensor::reshape(Shape shape) {
  if (shape_numel(shape) != numel())
    throw Error("reshape " + shape_str(shape_) + " to " + shape_str(shape) + " changes the element count");
  shape_ = std::move(shape);
}

void Tensor::allocate(DType dtype, Shape shape) {
  for (int64_t d : shape)
    if (d < 0) throw Error("negative dimension in shape " + shape_str(shape));
  dtype_ = dtype;
  shape_ = std::move(shape);
  external_ = nullptr;
  size_t n = static_cast<size_t>(shape_numel(shape_));
  if (dtype_ == DType::Float32) {
    f32_.assign(n, 0.0f);
    i64_.clear();
  } else {
    i64_.assign(n, 0);
    f32_.clear();
  }
  has_data_ = true;
}

std::vector<int64_t> Tensor::to_i64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  if (!has_data_) throw Error("tensor has no data");
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = dtype_ == DType::Int64 ? i64()[i] : static_cast<int64_t>(f32()[i]);
  return v;
}

std::vector<float> Tensor::to_f32_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  if (!has_data_) throw Error("tensor has no data");
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = dtype_ == DType::Float32 ? f32()[i] : static_cast<float>(i64()[i]);
  return v;
}

size_t Tensor::bytes() const {
  return has_data_ ? static_cast<size_t>(numel()) * (dtype_ == DType::Float32 ? 4 : 8) : 0;
}

}  // namespace sparseinfer

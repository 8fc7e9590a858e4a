// Reading the parameters that newer opsets pass as inputs instead of
// attributes (axes, starts, repeats, split sizes...). The core compiles them
// in, so they must be constants: initializers, folded values, or graph inputs
// bound as constants (EngineOptions::constant_inputs, `sparseinfer run`).
#pragma once

#include <string>
#include <vector>

#include "ops/op.h"

namespace sparseinfer {

// The values of an int64 parameter input; fails naming `what` when it is not
// int64 or not a constant. The "must be a constant" wording is what callers
// (the conformance runner) look for to bind such inputs.
inline std::vector<int64_t> constant_ints(const OpInfo& info, const Tensor& t, const std::string& what) {
  if (t.dtype() != DType::Int64) op_fail(info, "'" + what + "' must be int64, got " + dtype_name(t.dtype()));
  if (!t.has_data()) op_fail(info, "'" + what + "' must be a constant (initializer or computable from shapes)");
  return t.to_i64_vector();
}

// The input at `index`, or nullptr when it is absent or omitted.
inline const Tensor* optional_input(const std::vector<const Tensor*>& inputs, size_t index) {
  return index < inputs.size() ? inputs[index] : nullptr;
}

// A possibly negative axis resolved against `rank`; fails outside [-rank, rank).
inline int64_t normalized_axis(const OpInfo& info, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    op_fail(info, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

// Row-major strides of `shape`, in elements.
inline std::vector<int64_t> row_major_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

}  // namespace sparseinfer

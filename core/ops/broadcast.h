// Numpy-style broadcasting of two operands, shared by the binary operators and
// PRelu. The plan merges adjacent dimensions so that the innermost loop runs
// over one contiguous run where each operand is either contiguous or a scalar.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "sparseinfer/error.h"
#include "sparseinfer/tensor.h"
#include "util/parallel.h"

namespace sparseinfer {

// Output shape of multidirectional broadcasting; throws Error when the shapes
// are incompatible.
inline Shape broadcast_shape(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error("shapes " + shape_str(a) + " and " + shape_str(b) + " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

struct BroadcastPlan {
  // Merged dimensions of the output, outermost first; the last one is the
  // inner run. Strides are in elements, 0 where an operand is broadcast.
  std::vector<int64_t> dims;
  std::vector<int64_t> stride_a, stride_b;
  int64_t numel = 0;

  int64_t inner() const { return dims.empty() ? 1 : dims.back(); }
  int64_t rows() const { return inner() == 0 ? 0 : numel / inner(); }

  // Offsets of the operands at the start of output row `row`.
  void row_offsets(int64_t row, int64_t& off_a, int64_t& off_b) const {
    off_a = 0;
    off_b = 0;
    for (size_t d = dims.size() - 1; d-- > 0;) {
      int64_t i = row % dims[d];
      row /= dims[d];
      off_a += i * stride_a[d];
      off_b += i * stride_b[d];
    }
  }
};

// Plans broadcasting `a` and `b` to `out` (out must be broadcast_shape(a, b)).
inline BroadcastPlan plan_broadcast(const Shape& a, const Shape& b, const Shape& out) {
  size_t rank = out.size();
  auto strides_for = [&](const Shape& s) {
    std::vector<int64_t> st(rank, 0);
    int64_t step = 1;
    for (size_t i = rank; i-- > 0;) {
      size_t off = rank - s.size();
      int64_t d = i < off ? 1 : s[i - off];
      st[i] = d == 1 ? 0 : step;
      step *= d;
    }
    return st;
  };
  std::vector<int64_t> sa = strides_for(a), sb = strides_for(b);
  BroadcastPlan plan;
  plan.numel = shape_numel(out);
  for (size_t i = 0; i < rank; ++i) {
    if (out[i] == 1) continue;  // size-1 dims contribute nothing
    if (!plan.dims.empty()) {
      // Merge with the previous dim when both operands continue their pattern.
      int64_t prev = plan.dims.back();
      bool a_ok = plan.stride_a.back() == sa[i] * out[i] || (plan.stride_a.back() == 0 && sa[i] == 0);
      bool b_ok = plan.stride_b.back() == sb[i] * out[i] || (plan.stride_b.back() == 0 && sb[i] == 0);
      if (a_ok && b_ok) {
        plan.dims.back() = prev * out[i];
        plan.stride_a.back() = sa[i];
        plan.stride_b.back() = sb[i];
        continue;
      }
    }
    plan.dims.push_back(out[i]);
    plan.stride_a.push_back(sa[i]);
    plan.stride_b.push_back(sb[i]);
  }
  if (plan.dims.empty()) {
    plan.dims.push_back(1);
    plan.stride_a.push_back(0);
    plan.stride_b.push_back(0);
  }
  return plan;
}

// Runs out[i] = fn(a[ia], b[ib]) over the plan, in parallel for large outputs.
template <typename T, typename Fn>
void run_broadcast(const BroadcastPlan& plan, const T* a, const T* b, T* out, int threads, Fn fn) {
  const int64_t inner = plan.inner();
  const int64_t rows = plan.rows();
  const int64_t sa = plan.stride_a.back(), sb = plan.stride_b.back();
  auto run_span = [&](const T* pa, const T* pb, T* po, int64_t n) {
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], pb[i]);
    } else if (sa == 1) {
      const T vb = pb[0];
      for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], vb);
    } else if (sb == 1) {
      const T va = pa[0];
      for (int64_t i = 0; i < n; ++i) po[i] = fn(va, pb[i]);
    } else {
      const T v = fn(pa[0], pb[0]);
      for (int64_t i = 0; i < n; ++i) po[i] = v;
    }
  };
  constexpr int64_t kMinParallel = 1 << 15;
  if (plan.numel < kMinParallel) threads = 1;
  if (rows >= threads || rows == 0) {
    parallel_for(rows, threads, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        int64_t oa, ob;
        plan.row_offsets(r, oa, ob);
        run_span(a + oa, b + ob, out + r * inner, inner);
      }
    });
  } else {
    // Few long rows: split each row between the threads.
    for (int64_t r = 0; r < rows; ++r) {
      int64_t oa, ob;
      plan.row_offsets(r, oa, ob);
      parallel_for(inner, threads, [&](int64_t begin, int64_t end) {
        run_span(a + oa + begin * sa, b + ob + begin * sb, out + r * inner + begin, end - begin);
      });
    }
  }
}

}  // namespace sparseinfer

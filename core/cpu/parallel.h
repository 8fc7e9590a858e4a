// Parallel loops over the cores an operator was given. OpenMP underneath; the
// thread count is explicit per call so two engines never fight over a global.
#pragma once

#include <cstdint>

namespace sparseinfer {

// Calls fn(begin, end) on disjoint chunks covering [0, n), using up to
// `threads` threads. Runs inline when threads <= 1 or n is small.
template <typename Fn>
void parallel_for(int64_t n, int threads, Fn&& fn) {
  if (n <= 0) return;
  if (threads <= 1 || n == 1) {
    fn(int64_t(0), n);
    return;
  }
  int chunks = threads < n ? threads : static_cast<int>(n);
#pragma omp parallel for num_threads(chunks) schedule(static)
  for (int c = 0; c < chunks; ++c) {
    int64_t begin = n * c / chunks;
    int64_t end = n * (c + 1) / chunks;
    fn(begin, end);
  }
}

}  // namespace sparseinfer

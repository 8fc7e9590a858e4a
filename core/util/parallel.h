// Parallel loops over the cores an operator was given. The thread count is
// explicit per call so two engines never fight over a global setting.
//
// Underneath is a small worker pool whose idle threads sleep after a short
// spin. OpenMP's default of spinning until its timeout made a 2-core machine
// under load run MobileNetV3 20x slower, and libgomp reads its wait policy
// only from the environment at start-up, which a GStreamer plugin cannot set.
//
// It lives in util/, below ops/ and every backend, because it knows nothing of
// operators or devices: the reference operators without a fast path (Resize,
// Softmax, Pad, ...) keep using all cores, and cpu/ and engine/ share the pool.
#pragma once

#include <cstdint>

namespace sparseinfer {

using ChunkFn = void (*)(void* context, int chunk);

// Runs call(context, c) for every c in [0, chunks): chunk 0..k on the calling
// thread, the others on pool workers. Runs everything on the calling thread
// when nested inside another parallel region or when the pool is busy with
// another caller. `call` must not throw.
void run_chunks(int chunks, ChunkFn call, void* context);

// Calls fn(begin, end) on disjoint chunks covering [0, n), using up to
// `threads` threads. Runs inline when threads <= 1 or n == 1.
template <typename Fn>
void parallel_for(int64_t n, int threads, Fn&& fn) {
  if (n <= 0) return;
  if (threads <= 1 || n == 1) {
    fn(int64_t(0), n);
    return;
  }
  struct Context {
    Fn* fn;
    int64_t n;
    int chunks;
  } ctx{&fn, n, threads < n ? threads : static_cast<int>(n)};
  run_chunks(
      ctx.chunks,
      [](void* p, int c) {
        auto* x = static_cast<Context*>(p);
        (*x->fn)(x->n * c / x->chunks, x->n * (c + 1) / x->chunks);
      },
      &ctx);
}

}  // namespace sparseinfer

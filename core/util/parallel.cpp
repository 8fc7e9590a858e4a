#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

namespace sparseinfer {

namespace {

// Busy-waiting this long catches back-to-back layers without a sleep/wake
// round trip; past it, waiting threads block and leave the cores to others.
constexpr auto kSpin = std::chrono::microseconds(20);

thread_local bool tl_in_parallel = false;

struct Job {
  ChunkFn call;
  void* context;
  int chunks;
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<int> users{0};  // workers holding a pointer to this job
};

class WorkerPool {
 public:
  // False when another thread is using the pool.
  bool run(int chunks, ChunkFn call, void* context) {
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) return false;
    ensure_workers(chunks - 1);
    Job job{call, context, chunks};
    {
      std::lock_guard<std::mutex> lk(mutex_);
      job_ = &job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(job);
    wait_until([&] { return job.done.load(std::memory_order_acquire) == job.chunks; });
    {
      std::lock_guard<std::mutex> lk(mutex_);
      job_ = nullptr;  // no worker attaches from now on
    }
    wait_until([&] { return job.users.load(std::memory_order_acquire) == 0; });
    busy_.store(false, std::memory_order_release);
    return true;
  }

 private:
  static void work(Job& job) {
    tl_in_parallel = true;
    for (int c; (c = job.next.fetch_add(1, std::memory_order_relaxed)) < job.chunks;) {
      job.call(job.context, c);
      job.done.fetch_add(1, std::memory_order_acq_rel);
    }
    tl_in_parallel = false;
  }

  template <typename Pred>
  void wait_until(Pred ready) {
    auto until = std::chrono::steady_clock::now() + kSpin;
    while (!ready())
      if (std::chrono::steady_clock::now() > until) {
        std::unique_lock<std::mutex> lk(mutex_);
        finished_.wait(lk, ready);
        return;
      }
  }

  void ensure_workers(int count) {
    count = std::min(count, 63);
    while (static_cast<int>(workers_.size()) < count) workers_.emplace_back([this] { worker_loop(); });
  }

  void worker_loop() {
    uint64_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      auto until = std::chrono::steady_clock::now() + kSpin;
      while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
      }
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lk(mutex_);
        wake_.wait(lk, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
        if (job) job->users.fetch_add(1, std::memory_order_acq_rel);
      }
      if (!job) continue;
      work(*job);
      job->users.fetch_sub(1, std::memory_order_acq_rel);
      {
        std::lock_guard<std::mutex> lk(mutex_);
      }
      finished_.notify_all();
    }
  }

  std::atomic<bool> busy_{false};
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::atomic<uint64_t> generation_{0};
  Job* job_ = nullptr;
  std::vector<std::thread> workers_;
};

// The pool is process-wide, like OpenMP's runtime it replaces; it holds no
// state between calls besides its idle threads. It is never destroyed: joining
// workers from an exit handler hangs in a forked child (where they do not
// exist), and idle workers end with the process anyway.
WorkerPool& pool() {
  static WorkerPool* instance = new WorkerPool();
  return *instance;
}

}  // namespace

void run_chunks(int chunks, ChunkFn call, void* context) {
  // A forked child (libcheck runs each test in one) inherits the pool's state
  // but not its threads, and maybe a mutex locked at the fork: run inline there.
  static const pid_t owner = getpid();
  if (chunks <= 1 || tl_in_parallel || getpid() != owner || !pool().run(chunks, call, context))
    for (int c = 0; c < chunks; ++c) call(context, c);
}

}  // namespace sparseinfer

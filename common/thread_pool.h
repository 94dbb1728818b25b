// A fixed pool of worker threads with a blocking parallel-for.
//
//   ThreadPool pool(2);
//   pool.ParallelFor(rows, /*grain=*/16, [&](int64_t begin, int64_t end) { ... });
//
// Idle workers spin for a short while (~50 us) before sleeping, because a
// forward pass issues ParallelFor calls back to back and waking a sleeping
// thread costs more than a small matrix multiply.
//
// Thread safety: Schedule may be called from any thread. ParallelFor may be
// called from any thread that is not itself running inside this pool's
// ParallelFor body (the pool does not nest); concurrent ParallelFor calls from
// different threads are allowed and share the workers.
#ifndef TERN_COMMON_THREAD_POOL_H_
#define TERN_COMMON_THREAD_POOL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace tern {

class ThreadPool {
 public:
  // Uses `num_threads` threads for ParallelFor: `num_threads - 1` workers plus
  // the calling thread. REQUIRES: num_threads >= 1.
  explicit ThreadPool(int num_threads);
  // Finishes queued work, then joins the workers.
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Runs `task` on a worker (on the caller if the pool has no workers).
  void Schedule(absl::AnyInvocable<void()> task);

  // Calls fn(begin, end) over disjoint ranges covering [0, n), each at least
  // `grain` long except possibly the last, on the workers and the caller.
  // Returns when every range is done. n <= 0 is a no-op.
  void ParallelFor(int64_t n, int64_t grain, absl::FunctionRef<void(int64_t, int64_t)> fn);

  // The number of hardware threads this process may use (at least 1).
  static int HardwareConcurrency();

 private:
  void WorkerLoop();

  const int num_threads_;
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Mirrors tasks_.size() so idle workers can spin on it without the lock.
  std::atomic<int64_t> num_queued_{0};
  std::vector<std::thread> workers_;
};

}  // namespace tern

#endif  // TERN_COMMON_THREAD_POOL_H_

#include "common/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common/logging.h"

namespace tern {
namespace {

constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

inline void CpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads) {
  CHECK_GE(num_threads, 1);
  workers_.reserve(num_threads - 1);
  for (int i = 0; i < num_threads - 1; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Schedule(absl::AnyInvocable<void()> task) {
  if (workers_.empty()) {
    task();
    return;
  }
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  num_queued_.fetch_add(1, std::memory_order_release);
}

void ThreadPool::WorkerLoop() {
  while (true) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
    for (int i = 0; num_queued_.load(std::memory_order_acquire) == 0; ++i) {
      CpuRelax();
      if (i % 64 == 63 && std::chrono::steady_clock::now() > spin_until) break;
    }
    absl::AnyInvocable<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ThreadPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
            return pool->stopping_ || !pool->tasks_.empty();
          },
          this));
      if (tasks_.empty()) return;  // stopping_ and drained.
      task = std::move(tasks_.front());
      tasks_.pop_front();
      num_queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    task();
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             absl::FunctionRef<void(int64_t, int64_t)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  // A few chunks per thread lets fast threads take over from slow ones.
  const int64_t chunk = std::max(grain, (n + 4 * num_threads_ - 1) / (4 * num_threads_));
  const int64_t num_chunks = (n + chunk - 1) / chunk;
  const int num_helpers =
      static_cast<int>(std::min<int64_t>(static_cast<int64_t>(workers_.size()), num_chunks - 1));
  if (num_helpers == 0) {
    fn(0, n);
    return;
  }

  std::atomic<int64_t> next_chunk{0};
  std::atomic<int> helpers_left{num_helpers};
  auto run_chunks = [&] {
    for (int64_t c = next_chunk.fetch_add(1); c < num_chunks; c = next_chunk.fetch_add(1)) {
      fn(c * chunk, std::min(n, (c + 1) * chunk));
    }
  };
  {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < num_helpers; ++i) {
      tasks_.push_back([&] {
        run_chunks();
        helpers_left.fetch_sub(1, std::memory_order_acq_rel);
      });
    }
    num_queued_.fetch_add(num_helpers, std::memory_order_release);
  }
  run_chunks();
  // The helpers reference this frame, so wait for every one of them, even one
  // that starts after all chunks are taken. Spin briefly, then yield.
  for (int spins = 0; helpers_left.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4096) {
      CpuRelax();
    } else {
      sched_yield();
    }
  }
}

int ThreadPool::HardwareConcurrency() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace tern

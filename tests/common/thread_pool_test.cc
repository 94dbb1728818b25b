#include "common/thread_pool.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

TEST(ThreadPoolTest, ParallelForCoversEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {0, 1, 7, 64, 1000, 4097}) {
    std::vector<std::atomic<int>> hits(n);
    pool.ParallelFor(n, 5, [&](int64_t begin, int64_t end) {
      EXPECT_LE(begin, end);
      for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPoolTest, ParallelForRespectsGrain) {
  ThreadPool pool(4);
  std::atomic<int> short_ranges{0};
  pool.ParallelFor(100, 30, [&](int64_t begin, int64_t end) {
    if (end - begin < 30 && end != 100) short_ranges.fetch_add(1);
  });
  EXPECT_EQ(short_ranges.load(), 0);
}

TEST(ThreadPoolTest, SingleThreadPoolRunsInline) {
  ThreadPool pool(1);
  int calls = 0;
  pool.ParallelFor(10, 1, [&](int64_t begin, int64_t end) {
    ++calls;
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 10);
  });
  EXPECT_EQ(calls, 1);
  bool ran = false;
  pool.Schedule([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(ThreadPoolTest, ScheduledTasksRunOnWorkersAndDrainOnDestruction) {
  std::atomic<int> count{0};
  {
    ThreadPool pool(3);
    for (int i = 0; i < 100; ++i) pool.Schedule([&] { count.fetch_add(1); });
  }
  EXPECT_EQ(count.load(), 100);
}

TEST(ThreadPoolTest, ConcurrentParallelForCallsFromTwoThreadsBothComplete) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  absl::Notification done;
  std::thread other([&] {
    pool.ParallelFor(1000, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    done.Notify();
  });
  pool.ParallelFor(1000, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
  done.WaitForNotification();
  other.join();
  EXPECT_EQ(total.load(), 2000);
}

}  // namespace
}  // namespace tern

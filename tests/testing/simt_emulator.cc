// Fibers start on their own stacks through ucontext and then switch with
// _setjmp/_longjmp, which, unlike swapcontext, makes no system call.
#undef _FORTIFY_SOURCE  // Its longjmp check rejects jumps between stacks.

#include "tests/testing/simt_emulator.h"

#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"

namespace tern::simt {
namespace {

enum class Wait { kRunnable, kWarp, kBlock, kCluster, kDone };

struct Fiber {
  ucontext_t context;
  jmp_buf jump;
  bool started = false;
  Wait wait = Wait::kRunnable;
  Dim3 thread, block;
  int rank = 0;
  std::unique_ptr<char[]> stack;
};

constexpr size_t kStackBytes = 128 * 1024;

struct Emulation {
  int cluster_size = 0;
  int threads = 0;
  const std::vector<std::vector<Region>>* regions = nullptr;
  const std::function<void()>* body = nullptr;
  std::vector<Fiber> fibers;
  std::vector<uint64_t> warp_slots;           // 32 per warp of the cluster.
  std::vector<std::vector<size_t>> runnable;  // Per warp: fibers that may run now.
  size_t num_runnable = 0;
  std::vector<int> warp_arrived;  // Fibers waiting at each barrier.
  std::vector<int> block_arrived;
  size_t cluster_arrived = 0;
  size_t done = 0;
  jmp_buf scheduler;
  Fiber* current = nullptr;
};

Emulation* emulation = nullptr;

Fiber& Current() {
  if (emulation == nullptr || emulation->current == nullptr) {
    std::fprintf(stderr, "simt: a CUDA name was used outside RunCluster\n");
    std::abort();
  }
  return *emulation->current;
}

void Yield(Wait wait) {
  Fiber& fiber = Current();
  fiber.wait = wait;
  if (_setjmp(fiber.jump) == 0) _longjmp(emulation->scheduler, 1);
}

void FiberMain() {
  (*emulation->body)();
  emulation->current->wait = Wait::kDone;
  _longjmp(emulation->scheduler, 1);
}

void Resume(Fiber& fiber) {
  emulation->current = &fiber;
  if (_setjmp(emulation->scheduler) == 0) {
    if (!fiber.started) {
      fiber.started = true;
      setcontext(&fiber.context);
    }
    _longjmp(fiber.jump, 1);
  }
  emulation->current = nullptr;
}

std::string DescribeDeadlock(const Emulation& e) {
  const char* names[] = {"runnable", "a warp-synchronous op", "__syncthreads", "cluster.sync", "returned"};
  std::string out = "deadlock:";
  for (size_t w = 0; w < e.fibers.size(); w += 32) {
    int counts[5] = {};
    for (size_t i = w; i < w + 32; ++i) ++counts[static_cast<int>(e.fibers[i].wait)];
    if (counts[static_cast<int>(Wait::kDone)] == 32) continue;
    absl::StrAppend(&out, " [block ", e.fibers[w].rank, " warp ", (w % e.threads) / 32, ":");
    for (int k = 0; k < 5; ++k) {
      if (counts[k] > 0) absl::StrAppend(&out, " ", counts[k], " at ", names[k]);
    }
    absl::StrAppend(&out, "]");
  }
  return out;
}

void MakeRunnable(Emulation& e, size_t first, size_t count) {
  for (size_t i = first; i < first + count; ++i) {
    e.fibers[i].wait = Wait::kRunnable;
    e.runnable[i / 32].push_back(i);
  }
  e.num_runnable += count;
}

// How the next fiber is chosen: any runnable one; or the favourite block's
// until it blocks (blocks far apart); or the favourite warp's (warps far
// apart).
enum class Schedule { kAnyFiber, kBlockAtATime, kWarpAtATime };

// A random runnable fiber of the warps [first, last) (which have some),
// removed from the runnable lists.
size_t TakeRunnable(Emulation& e, size_t first_warp, size_t last_warp, std::mt19937_64& rng) {
  size_t count = 0;
  for (size_t w = first_warp; w < last_warp; ++w) count += e.runnable[w].size();
  size_t pick = std::uniform_int_distribution<size_t>(0, count - 1)(rng);
  size_t w = first_warp;
  while (pick >= e.runnable[w].size()) pick -= e.runnable[w++].size();
  std::vector<size_t>& list = e.runnable[w];
  const size_t index = list[pick];
  list[pick] = list.back();
  list.pop_back();
  --e.num_runnable;
  return index;
}

// Counts the fiber that just stopped at its barrier; releases the barrier
// once every thread it waits for is there.
void Arrive(Emulation& e, size_t index) {
  const Fiber& fiber = e.fibers[index];
  switch (fiber.wait) {
    case Wait::kWarp: {
      const size_t warp = index / 32;
      if (++e.warp_arrived[warp] == 32) {
        e.warp_arrived[warp] = 0;
        MakeRunnable(e, warp * 32, 32);
      }
      break;
    }
    case Wait::kBlock:
      if (++e.block_arrived[fiber.rank] == e.threads) {
        e.block_arrived[fiber.rank] = 0;
        MakeRunnable(e, static_cast<size_t>(fiber.rank) * e.threads, e.threads);
      }
      break;
    case Wait::kCluster:
      if (++e.cluster_arrived == e.fibers.size()) {
        e.cluster_arrived = 0;
        MakeRunnable(e, 0, e.fibers.size());
      }
      break;
    case Wait::kDone:
      ++e.done;
      break;
    case Wait::kRunnable:
      break;
  }
}

}  // namespace

std::string RunCluster(int cluster_size, int threads, unsigned first_block,
                       const std::vector<std::vector<Region>>& regions, uint64_t shuffle_seed,
                       const std::function<void()>& body) {
  if (threads % 32 != 0 || static_cast<int>(regions.size()) != cluster_size) {
    return "bad emulation setup: threads must be a multiple of 32 and every block needs regions";
  }
  Emulation e;
  e.cluster_size = cluster_size;
  e.threads = threads;
  e.regions = &regions;
  e.body = &body;
  e.fibers = std::vector<Fiber>(static_cast<size_t>(cluster_size) * threads);
  e.warp_slots.assign(e.fibers.size(), 0);
  e.warp_arrived.assign(e.fibers.size() / 32, 0);
  e.block_arrived.assign(cluster_size, 0);
  for (size_t i = 0; i < e.fibers.size(); ++i) {
    Fiber& f = e.fibers[i];
    f.rank = static_cast<int>(i / threads);
    f.thread.x = static_cast<unsigned>(i % threads);
    f.block.x = first_block + static_cast<unsigned>(f.rank);
    f.stack = std::make_unique_for_overwrite<char[]>(kStackBytes);
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.get();
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, FiberMain, 0);
  }
  e.runnable.resize(e.fibers.size() / 32);
  MakeRunnable(e, 0, e.fibers.size());
  emulation = &e;
  std::mt19937_64 rng(shuffle_seed);
  const Schedule schedule = static_cast<Schedule>(rng() % 3);
  const size_t warps = e.runnable.size(), warps_per_block = static_cast<size_t>(threads) / 32;
  size_t favourite = 0;  // A warp, or a block's first warp.
  while (e.num_runnable > 0) {
    size_t index;
    if (schedule == Schedule::kAnyFiber) {
      index = TakeRunnable(e, 0, warps, rng);
    } else {
      const size_t span = schedule == Schedule::kBlockAtATime ? warps_per_block : 1;
      auto has_runnable = [&](size_t first) {
        for (size_t w = first; w < first + span; ++w) {
          if (!e.runnable[w].empty()) return true;
        }
        return false;
      };
      while (!has_runnable(favourite)) {
        favourite = std::uniform_int_distribution<size_t>(0, warps / span - 1)(rng) * span;
      }
      index = TakeRunnable(e, favourite, favourite + span, rng);
    }
    Resume(e.fibers[index]);
    Arrive(e, index);
  }
  emulation = nullptr;
  return e.done == e.fibers.size() ? "" : DescribeDeadlock(e);
}

const Dim3& ThreadIdx() { return Current().thread; }
const Dim3& BlockIdx() { return Current().block; }
int ClusterSize() { return emulation->cluster_size; }
int ClusterRank() { return Current().rank; }
void SyncThreads() { Yield(Wait::kBlock); }
void SyncCluster() { Yield(Wait::kCluster); }

uint64_t ExchangeInWarp(uint64_t mine, int src) {
  const size_t index = static_cast<size_t>(&Current() - emulation->fibers.data());
  const size_t warp_base = index / 32 * 32;
  emulation->warp_slots[index] = mine;
  Yield(Wait::kWarp);
  const uint64_t value = src >= 0 && src < 32 ? emulation->warp_slots[warp_base + src] : mine;
  Yield(Wait::kWarp);  // Nobody overwrites a slot before every lane read it.
  return value;
}

unsigned BallotInWarp(bool predicate) {
  const size_t index = static_cast<size_t>(&Current() - emulation->fibers.data());
  const size_t warp_base = index / 32 * 32;
  emulation->warp_slots[index] = predicate ? 1 : 0;
  Yield(Wait::kWarp);
  unsigned ballot = 0;
  for (int lane = 0; lane < 32; ++lane) {
    ballot |= (emulation->warp_slots[warp_base + lane] != 0 ? 1u : 0u) << lane;
  }
  Yield(Wait::kWarp);
  return ballot;
}

void* MapShared(const void* local, int rank) {
  const Fiber& fiber = Current();
  const auto& mine = (*emulation->regions)[fiber.rank];
  const char* p = static_cast<const char*>(local);
  for (size_t k = 0; k < mine.size(); ++k) {
    const char* base = static_cast<const char*>(mine[k].base);
    if (p >= base && p < base + mine[k].bytes && rank >= 0 && rank < emulation->cluster_size) {
      return static_cast<char*>((*emulation->regions)[rank][k].base) + (p - base);
    }
  }
  std::fprintf(stderr, "simt: map_shared_rank of an address outside the block's shared memory, or rank %d\n",
               rank);
  std::abort();
}

}  // namespace tern::simt

// The router's decision cost: RouterCore::Route for 2k-token prompts (125
// keys at block size 16) over 64 engines and ~1M indexed blocks, as p50/p99
// latencies, beside a peer: the same number of plain lookups in a
// flat_hash_map of a million keys (the memory-bound part of any index walk).
// Also: the index's bytes per block (malloc-measured and by formula), the
// cost of forgetting one engine (a resync), and of hashing a prompt (which the
// gateway does, or the router for token-id requests).
//
// Workload: 64 system prompts of 512 tokens, each cached on 8 engines;
// conversations of 2000 tokens, each extending a system prompt and cached on
// one engine, until a million blocks are indexed. A query is a conversation
// cut at a random depth and continued with new tokens.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "benchmark/benchmark.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "router/core/router_core.h"

namespace tern {
namespace {

constexpr int kEngines = 64;
constexpr int64_t kBlockSize = 16;
constexpr int kPromptTokens = 2000;
constexpr int kSystemTokens = 512;
constexpr int64_t kTargetBlocks = 1'000'000;

int64_t HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
}

std::vector<int32_t> RandomTokens(std::mt19937& rng, int n) {
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = static_cast<int32_t>(rng() % 128000);
  return tokens;
}

LoadReport Report(std::mt19937& rng) {
  LoadReport r;
  r.num_running = rng() % 64;
  r.num_waiting = rng() % 8;
  r.waiting_prefill_tokens = r.num_waiting * 1000;
  r.prefill_tokens_per_second = 20000 + rng() % 5000;
  r.num_free_blocks = 20000;
  r.num_kv_blocks = 40000;
  return r;
}

// The populated router, built once and shared by the benchmarks.
struct World {
  std::unique_ptr<RouterCore> core;
  // Conversations are regenerated from (system prompt, seed) rather than
  // kept, so the heap measured around the build is the index's.
  std::vector<std::vector<int32_t>> systems;
  std::vector<std::pair<int, uint32_t>> conversations;
  std::vector<int> engine0_systems, engine0_conversations;  // What engine 0 holds, to restore it.
  std::vector<std::vector<BlockKey>> queries;
  int64_t index_heap_bytes = 0;
  std::vector<uint64_t> sequence = std::vector<uint64_t>(kEngines, 1);
  std::mt19937 rng{42};

  void Deliver(int engine, std::vector<KvBlockEvent> events, absl::Time now) {
    EngineStateUpdate u{1, sequence[engine]++, false, Report(rng), std::move(events)};
    CHECK(core->OnState(engine, u, now) == StateOutcome::kApplied);
  }

  std::vector<int32_t> ConversationTokens(size_t c) const {
    std::vector<int32_t> tokens = systems[conversations[c].first];
    std::mt19937 own(conversations[c].second);
    const std::vector<int32_t> rest = RandomTokens(own, kPromptTokens - kSystemTokens);
    tokens.insert(tokens.end(), rest.begin(), rest.end());
    return tokens;
  }
  std::vector<BlockKey> ConversationKeys(size_t c) const {
    return ComputeBlockKeys(ConversationTokens(c), kBlockSize, {});
  }

  // `in_flight_ttl`: RouterCoreConfig's (0: routed prompts are not claimed).
  explicit World(absl::Duration in_flight_ttl) {
    RouterCoreConfig config;
    config.in_flight_ttl = in_flight_ttl;
    config.index.max_targets = kEngines;
    config.index.max_blocks = kTargetBlocks + kTargetBlocks / 10;
    const int64_t heap_before = HeapBytes();
    core = std::make_unique<RouterCore>(config);
    const absl::Time t0 = absl::Now();
    for (int e = 0; e < kEngines; ++e) {
      core->AddTarget(absl::StrCat("10.0.0.", e, ":8100"));
      EngineDescription d;
      d.model = "m";
      d.block_size = kBlockSize;
      d.num_kv_blocks = 40000;
      d.epoch = 1;
      CHECK_OK(core->OnConnected(e, d));
      CHECK(core->OnState(e, EngineStateUpdate{1, 0, true, Report(rng), {}}, t0) == StateOutcome::kApplied);
    }
    for (int s = 0; s < 64; ++s) {
      systems.push_back(RandomTokens(rng, kSystemTokens));
      const std::vector<BlockKey> keys = ComputeBlockKeys(systems.back(), kBlockSize, {});
      for (int k = 0; k < 8; ++k) {
        const int e = static_cast<int>(rng() % kEngines);
        Deliver(e, {KvBlockEvent{KvBlockEvent::Kind::kStored, keys, std::nullopt}}, t0);
        if (e == 0) engine0_systems.push_back(s);
      }
    }
    conversations.reserve(kTargetBlocks / 64);
    engine0_conversations.reserve(kTargetBlocks / 64);
    while (core->index().num_blocks() < kTargetBlocks) {
      conversations.emplace_back(static_cast<int>(rng() % systems.size()), static_cast<uint32_t>(rng()));
      const int e = static_cast<int>(rng() % kEngines);
      Deliver(e, {KvBlockEvent{KvBlockEvent::Kind::kStored, ConversationKeys(conversations.size() - 1), std::nullopt}},
              t0);
      if (e == 0) engine0_conversations.push_back(static_cast<int>(conversations.size() - 1));
    }
    index_heap_bytes = HeapBytes() - heap_before;
    for (int q = 0; q < 2048; ++q) {
      std::vector<int32_t> tokens = ConversationTokens(rng() % conversations.size());
      const int keep = kSystemTokens / 2 + static_cast<int>(rng() % (kPromptTokens - kSystemTokens / 2));
      tokens.resize(keep);
      const std::vector<int32_t> rest = RandomTokens(rng, kPromptTokens - keep);
      tokens.insert(tokens.end(), rest.begin(), rest.end());
      queries.push_back(ComputeBlockKeys(tokens, kBlockSize, {}));
    }
  }
};

// The default configuration's world (routed prompts claimed for 1 s), or
// one without in-flight claims.
World& TheWorld(bool in_flight = true) {
  static World* with = new World(RouterCoreConfig().in_flight_ttl);
  if (in_flight) return *with;
  static World* without = new World(absl::ZeroDuration());
  return *without;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// Arg: 1 with in-flight claims (the default), 0 without.
void BM_Route(benchmark::State& state) {
  World& w = TheWorld(state.range(0) != 0);
  std::vector<double> micros;
  micros.reserve(1 << 20);
  absl::Time now = absl::Now();
  int64_t cached = 0, routes = 0;
  size_t q = 0;
  for (auto _ : state) {
    RouteQuery query;
    query.model = "m";
    query.prompt_tokens = kPromptTokens;
    query.max_tokens = 256;
    query.chains.push_back(KeyChain{kBlockSize, w.queries[q++ % w.queries.size()]});
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<RouteDecision> d = w.core->Route(query, now);
    const auto end = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    CHECK(d.ok()) << d.status();
    cached += d->cached_tokens;
    ++routes;
    now += absl::Milliseconds(1);
    if (routes % 64 == 0) {
      // Fresh reports settle the assignments, as engines would every 50 ms.
      for (int e = 0; e < kEngines; ++e) w.Deliver(e, {}, now);
    }
    query.chains.clear();
  }
  state.counters["p50_us"] = Percentile(micros, 0.5);
  state.counters["p99_us"] = Percentile(micros, 0.99);
  state.counters["cached_tokens"] = static_cast<double>(cached) / static_cast<double>(routes);
  state.counters["indexed_blocks"] = static_cast<double>(w.core->index().num_blocks());
  state.counters["in_flight_blocks"] =
      w.core->in_flight() != nullptr ? static_cast<double>(w.core->in_flight()->num_blocks()) : 0;
  state.counters["bytes_per_block_heap"] =
      static_cast<double>(w.index_heap_bytes) / static_cast<double>(w.core->index().num_blocks());
  state.counters["bytes_per_block_formula"] =
      static_cast<double>(w.core->index().MemoryBytes()) / static_cast<double>(w.core->index().num_blocks());
}
BENCHMARK(BM_Route)->Arg(1)->Arg(0)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(3);

// The peer: the same number of lookups of 8-byte keys, one after another, in
// a flat_hash_map of as many keys as the index holds (each query's hits, then
// the miss that ends its walk). Any index over a million keys pays these
// cache misses; Route adds the bitset walk, the load table and the policy.
void BM_LookupPeer(benchmark::State& state) {
  World& w = TheWorld();
  absl::flat_hash_map<uint64_t, uint32_t> map;
  std::mt19937_64 rng(1);
  std::vector<uint64_t> members;
  for (int64_t i = 0; i < w.core->index().num_blocks(); ++i) {
    members.push_back(rng());
    map.emplace(members.back(), static_cast<uint32_t>(i));
  }
  std::shuffle(members.begin(), members.end(), rng);
  TargetSet all;
  for (int e = 0; e < kEngines; ++e) all.Add(e);
  std::vector<std::vector<uint64_t>> chains;
  size_t next = 0;
  int64_t lookups = 0;
  for (const std::vector<BlockKey>& keys : w.queries) {
    PrefixMatch match;
    w.core->index().Match(keys, all, &match);
    std::vector<uint64_t> chain;
    for (size_t i = 0; i < match.entries.size(); ++i) chain.push_back(members[next++ % members.size()]);
    chain.push_back(rng());  // Absent (with probability 1 - 2^-44).
    lookups += static_cast<int64_t>(chain.size());
    chains.push_back(std::move(chain));
  }
  size_t q = 0;
  int64_t found = 0;
  for (auto _ : state) {
    for (uint64_t k : chains[q++ % chains.size()]) {
      auto it = map.find(k);
      if (it == map.end()) break;
      found += it->second;
    }
  }
  benchmark::DoNotOptimize(found);
  state.counters["lookups"] = static_cast<double>(lookups) / static_cast<double>(chains.size());
}
BENCHMARK(BM_LookupPeer)->Unit(benchmark::kMicrosecond);

// Forgetting one engine's blocks (a resync): a scan of the index's bitsets.
void BM_ForgetEngine(benchmark::State& state) {
  World& w = TheWorld();
  const int64_t held = w.core->index().num_blocks(0);
  absl::Time now = absl::Now();
  for (auto _ : state) {
    w.core->OnDisconnected(0);
    state.PauseTiming();
    EngineDescription d;
    d.model = "m";
    d.block_size = kBlockSize;
    d.num_kv_blocks = 40000;
    d.epoch = 1;
    CHECK_OK(w.core->OnConnected(0, d));
    std::vector<KvBlockEvent> events;
    for (int s : w.engine0_systems) {
      events.push_back(
          KvBlockEvent{KvBlockEvent::Kind::kStored, ComputeBlockKeys(w.systems[s], kBlockSize, {}), std::nullopt});
    }
    for (int c : w.engine0_conversations) {
      events.push_back(KvBlockEvent{KvBlockEvent::Kind::kStored, w.ConversationKeys(c), std::nullopt});
    }
    w.sequence[0] = 1;
    CHECK(w.core->OnState(0, EngineStateUpdate{1, 0, true, Report(w.rng), std::move(events)}, now) ==
          StateOutcome::kApplied);
    state.ResumeTiming();
  }
  state.counters["engine_blocks"] = static_cast<double>(held);
}
BENCHMARK(BM_ForgetEngine)->Unit(benchmark::kMillisecond)->Iterations(20);

// Hashing a 2000-token prompt into 125 keys (SHA-256 chain).
void BM_HashPrompt(benchmark::State& state) {
  std::mt19937 rng(5);
  const std::vector<int32_t> tokens = RandomTokens(rng, kPromptTokens);
  for (auto _ : state) benchmark::DoNotOptimize(ComputeBlockKeys(tokens, kBlockSize, {}));
}
BENCHMARK(BM_HashPrompt)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();

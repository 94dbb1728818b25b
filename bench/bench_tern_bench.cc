// The cost of tern-bench's client, so that a benchmark never measures the
// benchmark: how many streamed chunks one core consumes.
//   BM_ParseChunks: the per-chunk work alone on bytes already in memory (SSE
//     framing, the JSON chunk, timestamps; StreamRecorder::OnBody): the
//     ceiling, in chunks per second of CPU time.
//   BM_ClientStreams/STREAMS/TOKENS/ITL_US: the whole client (the runner, the
//     HTTP client, the recorder) on one thread, STREAMS concurrent streams of
//     TOKENS chunks each, a chunk every ITL_US per stream, from an in-process
//     fake server. chunks_per_cpu_s: chunks per second of the client thread's
//     CPU time (what one core sustains); vs_parse_only: its ratio to
//     BM_ParseChunks's rate measured in the same process; client_cpu_share:
//     the fraction of wall time the client thread was busy.
#include <time.h>

#include <chrono>

#include <boost/asio/io_context.hpp>

#include "absl/strings/str_cat.h"
#include "bench_tools/http_client.h"
#include "bench_tools/runner.h"
#include "bench_tools/stream_recorder.h"
#include "benchmark/benchmark.h"
#include "tests/testing/fake_openai_server.h"

namespace tern::bench {
namespace {

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// A completion chunk as servers stream it (the fake server's exact bytes).
std::string ChunkEvent(int i) {
  return absl::StrCat("data: {\"id\":\"cmpl-", i % 1000,
                      "\",\"object\":\"text_completion\",\"created\":0,\"model\":\"fake-model\",\"choices\":[{"
                      "\"index\":0,\"text\":\" tok\",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

// Parse-only chunks per CPU second, over `num_chunks` chunks delivered in
// reads of `per_read` chunks.
double ParseOnlyRate(int num_chunks, int per_read) {
  std::vector<std::string> reads;
  for (int i = 0; i < num_chunks; i += per_read) {
    std::string bytes;
    for (int j = i; j < std::min(num_chunks, i + per_read); ++j) bytes += ChunkEvent(j);
    reads.push_back(std::move(bytes));
  }
  int64_t chunks = 0;
  StreamRecorder recorder(RequestResult{}, Clock::now(), [&](RequestResult r) { chunks = r.num_chunks; });
  recorder.OnStatus(200, Clock::now());
  const double start = ThreadCpuSeconds();
  for (const std::string& bytes : reads) recorder.OnBody(bytes, Clock::now());
  recorder.OnEnd(absl::OkStatus(), Clock::now());
  const double seconds = ThreadCpuSeconds() - start;
  benchmark::DoNotOptimize(chunks);
  return static_cast<double>(num_chunks) / seconds;
}

void BM_ParseChunks(benchmark::State& state) {
  const int per_read = static_cast<int>(state.range(0));
  double rate = 0;
  for (auto _ : state) rate = ParseOnlyRate(200000, per_read);
  state.counters["chunks_per_cpu_s"] = rate;
}
BENCHMARK(BM_ParseChunks)->Arg(1)->Arg(16)->Iterations(3)->Unit(benchmark::kMillisecond);

void BM_ClientStreams(benchmark::State& state) {
  const int streams = static_cast<int>(state.range(0));
  const int tokens = static_cast<int>(state.range(1));
  testing::FakeOpenAiOptions fake;
  fake.itl = absl::Microseconds(state.range(2));
  auto server = testing::FakeOpenAiServer::Start(fake);
  if (!server.ok()) return state.SkipWithError(std::string(server.status().message()).c_str());
  Workload workload;
  for (int i = 0; i < streams; ++i) {
    Conversation c;
    c.turns.push_back({absl::StrCat("prompt ", i), 2, tokens});
    workload.conversations.push_back(std::move(c));
  }
  RunOptions options;
  options.body.model = "fake-model";
  const double ceiling = ParseOnlyRate(200000, 1);
  double cpu = 0, wall = 0;
  int64_t chunks = 0, failed = 0;
  for (auto _ : state) {
    boost::asio::io_context io;
    HttpClient client(io, {"127.0.0.1", (*server)->port(), ""}, {});
    if (!client.Resolve().ok()) return state.SkipWithError("resolve failed");
    const double cpu_start = ThreadCpuSeconds();
    const auto wall_start = Clock::now();
    RunResult run = BenchmarkRunner(io, client, workload, options).Run();
    cpu += ThreadCpuSeconds() - cpu_start;
    wall += std::chrono::duration<double>(Clock::now() - wall_start).count();
    for (const RequestResult& r : run.requests) {
      chunks += r.num_chunks;
      failed += r.success ? 0 : 1;
    }
  }
  if (failed > 0) state.SkipWithError(absl::StrCat(failed, " requests failed").c_str());
  state.counters["chunks"] = static_cast<double>(chunks) / static_cast<double>(state.iterations());
  state.counters["chunks_per_cpu_s"] = static_cast<double>(chunks) / cpu;
  state.counters["chunks_per_wall_s"] = static_cast<double>(chunks) / wall;
  state.counters["vs_parse_only"] = static_cast<double>(chunks) / cpu / ceiling;
  state.counters["client_cpu_share"] = cpu / wall;
}
// A burst (every chunk due at once: many chunks per read), then paced streams
// as a decoding server sends them (mostly one chunk per read).
BENCHMARK(BM_ClientStreams)
    ->Args({64, 2000, 0})
    ->Args({128, 200, 2000})
    ->Args({512, 100, 5000})
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tern::bench

BENCHMARK_MAIN();

// GPU sampling (kernels/sampling.h) for B rows of V float32 logits:
//   BM_SampleKernel/<mode>/B/V/cluster  the kernel alone, timed with CUDA
//       events (manual time), the batch planned and uploaded once;
//   BM_CudaSampler/<mode>/B/V           CudaSampler::Sample end to end (pack,
//       upload, kernel, download of the results, synchronize), host clock.
// Modes: 0 greedy; 1 temperature 0.8 + top_k 50 + top_p 0.9.
// The kernel reads each logit once, so its floor is B * V * 4 bytes over the
// memory bandwidth. Counters (per iteration, JSON with
// --benchmark_format=json): bytes = B * V * 4; bytes_per_second;
// bw_ratio = achieved bytes/s over the device-to-device copy bandwidth
// (bytes read + written) measured at start, printed as copy_GBps.
// Inputs rotate through 512 MiB of logits so that L2 never holds them.
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/logging.h"
#include "engine_svc/executor/cuda/cuda_sampler.h"
#include "engine_svc/executor/sampling_batch.h"
#include "kernels/sampling.h"

namespace tern {
namespace {

#define BENCH_CUDA(expr)                                                                      \
  do {                                                                                        \
    const cudaError_t bench_error_ = (expr);                                                  \
    CHECK_EQ(bench_error_, cudaSuccess) << #expr << ": " << cudaGetErrorString(bench_error_); \
  } while (false)

constexpr int64_t kPoolBytes = int64_t{512} << 20;

// Device memory shared by every benchmark: a pool of logits, a stream, and
// the copy bandwidth.
struct Device {
  float* pool = nullptr;
  int64_t pool_floats = kPoolBytes / 4;
  cudaStream_t stream = nullptr;
  double copy_bytes_per_second = 0;
  std::string name;

  Device() {
    cudaDeviceProp prop;
    BENCH_CUDA(cudaGetDeviceProperties(&prop, 0));
    name = prop.name;
    BENCH_CUDA(cudaStreamCreate(&stream));
    BENCH_CUDA(cudaMalloc(&pool, kPoolBytes));
    // Language-model-like rows: a gaussian floor and a few clear favourites.
    std::mt19937_64 rng(1);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    std::vector<float> chunk(int64_t{16} << 20);
    for (float& x : chunk) x = normal(rng);
    for (size_t i = 0; i < chunk.size(); i += 1 + rng() % 20000) chunk[i] += 8.0f + (rng() % 8);
    for (int64_t at = 0; at < pool_floats; at += static_cast<int64_t>(chunk.size())) {
      const int64_t n = std::min<int64_t>(static_cast<int64_t>(chunk.size()), pool_floats - at);
      BENCH_CUDA(cudaMemcpy(pool + at, chunk.data(), n * 4, cudaMemcpyHostToDevice));
    }
    copy_bytes_per_second = MeasureCopy();
    std::printf("device: %s, device-to-device copy %.0f GB/s (read + written)\n", name.c_str(),
                copy_bytes_per_second / 1e9);
  }

  double MeasureCopy() {
    const int64_t half = kPoolBytes / 2;
    cudaEvent_t start, stop;
    BENCH_CUDA(cudaEventCreate(&start));
    BENCH_CUDA(cudaEventCreate(&stop));
    float best_ms = 1e30f;
    for (int i = 0; i < 6; ++i) {
      BENCH_CUDA(cudaEventRecord(start, stream));
      BENCH_CUDA(cudaMemcpyAsync(reinterpret_cast<char*>(pool) + half, pool, half, cudaMemcpyDeviceToDevice,
                                 stream));
      BENCH_CUDA(cudaEventRecord(stop, stream));
      BENCH_CUDA(cudaEventSynchronize(stop));
      float ms = 0;
      BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
      if (i > 0) best_ms = std::min(best_ms, ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    // The copy overwrote the pool's second half with its first: still random.
    return 2.0 * half / (best_ms * 1e-3);
  }
};

Device& TheDevice() {
  static Device* device = new Device();
  return *device;
}

enum Mode { kGreedy = 0, kTopKTopP = 1 };

SamplingParams ParamsFor(int mode) {
  SamplingParams p;
  if (mode == kGreedy) {
    p.temperature = 0.0;
  } else {
    p.temperature = 0.8;
    p.top_k = 50;
    p.top_p = 0.9;
  }
  return p;
}

// The rows of one batch: B requests with short histories.
struct Batch {
  SamplingParams params;
  std::vector<int32_t> prompt = {1, 2, 3, 4};
  std::vector<SamplingRow> rows;

  Batch(int mode, int64_t num_rows) : params(ParamsFor(mode)) {
    for (int64_t i = 0; i < num_rows; ++i) {
      rows.push_back({&params, static_cast<uint64_t>(i), 5, prompt, {}, {}});
    }
  }
};

void AddCounters(benchmark::State& state, int64_t bytes) {
  const double copy = TheDevice().copy_bytes_per_second;
  state.counters["bytes"] = benchmark::Counter(static_cast<double>(bytes));
  state.counters["bytes_per_second"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bw_ratio"] =
      benchmark::Counter(bytes / copy, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["copy_GBps"] = benchmark::Counter(copy / 1e9);
}

// Args: mode, B, V, cluster size (0: the kernel's choice).
void BM_SampleKernel(benchmark::State& state) {
  Device& device = TheDevice();
  const int mode = static_cast<int>(state.range(0));
  const int64_t rows = state.range(1), vocab = state.range(2);
  Batch batch(mode, rows);
  SamplingBatch plan;
  plan.Pack(batch.rows, vocab);
  void* packed = nullptr;
  int32_t* tokens = nullptr;
  kernels::SampledLogprobs* logprobs = nullptr;
  BENCH_CUDA(cudaMalloc(&packed, plan.layout().total_bytes));
  BENCH_CUDA(cudaMalloc(&tokens, rows * sizeof(int32_t)));
  BENCH_CUDA(cudaMalloc(&logprobs, rows * sizeof(kernels::SampledLogprobs)));
  std::vector<char> host(plan.layout().total_bytes);
  plan.CopyTo(host.data());
  BENCH_CUDA(cudaMemcpy(packed, host.data(), host.size(), cudaMemcpyHostToDevice));
  kernels::SamplingArgs args;
  args.row_stride = vocab;
  args.vocab = static_cast<int32_t>(vocab);
  args.num_rows = static_cast<int32_t>(rows);
  args.batch = plan.View(packed);
  args.tokens = tokens;
  args.logprobs = logprobs;
  args.cluster_size = static_cast<int32_t>(state.range(3));
  const int64_t batch_floats = rows * vocab;
  const int64_t slots = std::max<int64_t>(1, device.pool_floats / batch_floats);
  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  int64_t slot = 0;
  for (int warm = 0; warm < 3; ++warm) {
    args.logits = device.pool;
    BENCH_CUDA(kernels::SampleRows(args, device.stream));
  }
  BENCH_CUDA(cudaStreamSynchronize(device.stream));
  for (auto _ : state) {
    args.logits = device.pool + (slot++ % slots) * batch_floats;
    BENCH_CUDA(cudaEventRecord(start, device.stream));
    BENCH_CUDA(kernels::SampleRows(args, device.stream));
    BENCH_CUDA(cudaEventRecord(stop, device.stream));
    BENCH_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms * 1e-3);
  }
  AddCounters(state, batch_floats * 4);
  int sms = 0;
  BENCH_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  state.counters["cluster"] = args.cluster_size != 0
                                  ? args.cluster_size
                                  : kernels::SamplingClusterSize(args.num_rows, args.vocab, sms);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(packed);
  cudaFree(tokens);
  cudaFree(logprobs);
}

// Args: mode, B, V.
void BM_CudaSampler(benchmark::State& state) {
  Device& device = TheDevice();
  const int mode = static_cast<int>(state.range(0));
  const int64_t rows = state.range(1), vocab = state.range(2);
  Batch batch(mode, rows);
  CudaSampler sampler(device.stream);
  std::vector<RequestResult> results;
  const int64_t batch_floats = rows * vocab;
  const int64_t slots = std::max<int64_t>(1, device.pool_floats / batch_floats);
  int64_t slot = 0;
  CHECK(sampler.Sample(device.pool, vocab, vocab, batch.rows, &results).ok());
  for (auto _ : state) {
    const float* logits = device.pool + (slot++ % slots) * batch_floats;
    const absl::Status status = sampler.Sample(logits, vocab, vocab, batch.rows, &results);
    if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
  }
  AddCounters(state, batch_floats * 4);
}

void Shapes(benchmark::internal::Benchmark* b, bool with_cluster) {
  for (int mode : {kGreedy, kTopKTopP}) {
    for (int64_t rows : {1, 64, 256}) {
      for (int64_t vocab : {32000, 128256, 151936}) {
        if (with_cluster) {
          b->Args({mode, rows, vocab, 0});
        } else {
          b->Args({mode, rows, vocab});
        }
      }
    }
  }
  if (!with_cluster) return;
  // Cluster sizes around the default, for tuning SamplingClusterSize.
  for (int mode : {kGreedy, kTopKTopP}) {
    for (int64_t rows : {1, 256}) {
      for (int cluster : {1, 2, 4, 8}) b->Args({mode, rows, 32000, cluster});
      for (int cluster : {4, 8}) b->Args({mode, rows, 151936, cluster});
    }
  }
}

BENCHMARK(BM_SampleKernel)
    ->ArgNames({"mode", "B", "V", "cluster"})
    ->Apply([](benchmark::internal::Benchmark* b) { Shapes(b, true); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

BENCHMARK(BM_CudaSampler)
    ->ArgNames({"mode", "B", "V"})
    ->Apply([](benchmark::internal::Benchmark* b) { Shapes(b, false); })
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();

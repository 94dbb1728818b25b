// The paged attention kernels against their rooflines, measured in one
// process: the decode kernel against device-to-device copy bandwidth, the
// prefill kernel in attention TFLOP/s. Shapes of a Llama-3-8B layer: 32 query
// heads, 8 KV heads, head dim 128, block size 16; block tables are random
// permutations of the cache's pages.
//
// Timing: a CUDA graph of at least 16 PagedAttention calls that cycle through
// several copies of the inputs (disjoint pages, queries and outputs; together
// at least 4x the L2 cache, so no call reads what the previous one left in
// L2), replayed after warm-up; each replay is timed with CUDA events and the
// median replay time / calls is reported.
//
// Counters (machine-readable with --benchmark_format=json):
//   us          median time of one PagedAttention call, microseconds
//   kv_GBps     decode: bytes of K and V the call reads / time
//   copy_GBps   cudaMemcpy device-to-device of 1 GiB: (bytes read + written) / time
//   vs_copy     kv_GBps / copy_GBps
//   TFLOPs      prefill: 4 * q_len * context * head_dim * heads (halved for
//               the causal part of each chunk) / time
//   splits      decode: the split count chosen for the batch (workspace > 0)
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/paged_attention.h"
#include "kernels/paged_attention_plan.h"

namespace tern {
namespace {

constexpr int kHeads = 32;
constexpr int kKvHeads = 8;
constexpr int kHeadDim = 128;
constexpr int kBlockSize = 16;
constexpr int kMinCallsPerGraph = 16;
constexpr int kReplays = 21;

// Returns "" or a message naming the failed call.
std::string Failed(cudaError_t error, const char* what) {
  return error == cudaSuccess ? "" : std::string(what) + ": " + cudaGetErrorString(error);
}
#define BENCH_RETURN_IF_CUDA_ERROR(expr)                                               \
  do {                                                                                 \
    if (std::string message = Failed((expr), #expr); !message.empty()) return message; \
  } while (0)

// Fills device memory with random bf16 values (normal, clipped to +-4),
// repeating a 16 MiB host pattern.
std::string FillRandom(void* dst, size_t bytes, std::mt19937& rng) {
  static std::vector<__nv_bfloat16>* pattern = [] {
    auto* p = new std::vector<__nv_bfloat16>(size_t{8} << 20);
    std::mt19937 seed_rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (__nv_bfloat16& x : *p) x = __float2bfloat16(std::clamp(dist(seed_rng), -4.0f, 4.0f));
    return p;
  }();
  const size_t pattern_bytes = pattern->size() * sizeof(__nv_bfloat16);
  // Start each fill at a random offset so different buffers differ.
  size_t offset = (rng() % (pattern->size() / 2)) * sizeof(__nv_bfloat16);
  for (size_t done = 0; done < bytes;) {
    const size_t n = std::min(bytes - done, pattern_bytes - offset);
    BENCH_RETURN_IF_CUDA_ERROR(cudaMemcpy(static_cast<char*>(dst) + done,
                                          reinterpret_cast<const char*>(pattern->data()) + offset, n,
                                          cudaMemcpyHostToDevice));
    done += n;
    offset = 0;
  }
  return "";
}

// Several copies ("sets") of one batch's attention inputs in device memory.
class AttentionInputs {
 public:
  AttentionInputs() = default;
  AttentionInputs(const AttentionInputs&) = delete;
  AttentionInputs& operator=(const AttentionInputs&) = delete;
  ~AttentionInputs() {
    for (void* p : allocations_) cudaFree(p);
  }

  // Sequence s has cached[s] tokens in the cache and fresh[s] query rows.
  std::string Build(const std::vector<int>& cached, const std::vector<int>& fresh) {
    const int num_seqs = static_cast<int>(cached.size());
    std::vector<int32_t> query_start = {0}, seq_lens, blocks_per_seq;
    int max_blocks = 0;
    int64_t pages_per_set = 0;
    for (int s = 0; s < num_seqs; ++s) {
      query_start.push_back(query_start.back() + fresh[s]);
      seq_lens.push_back(cached[s] + fresh[s]);
      blocks_per_seq.push_back((seq_lens.back() + kBlockSize - 1) / kBlockSize);
      max_blocks = std::max(max_blocks, blocks_per_seq.back());
      pages_per_set += blocks_per_seq.back();
      kv_bytes_per_call_ += int64_t{seq_lens.back()} * kKvHeads * kHeadDim * 2 * 2;
    }
    const int tokens = query_start.back();
    kernels::PagedAttentionPlan plan;
    kernels::PlanPagedAttention(query_start.data(), seq_lens.data(), num_seqs, &plan);

    const int64_t page_bytes = int64_t{kBlockSize} * kKvHeads * kHeadDim * 2;
    const int64_t q_row = int64_t{kHeads + 2 * kKvHeads} * kHeadDim;
    const int64_t set_bytes = 2 * pages_per_set * page_bytes + tokens * (q_row + kHeads * kHeadDim) * 2;
    int device = 0;
    cudaDeviceProp prop{};
    BENCH_RETURN_IF_CUDA_ERROR(cudaGetDevice(&device));
    BENCH_RETURN_IF_CUDA_ERROR(cudaGetDeviceProperties(&prop, device));
    const int64_t rotation_bytes = 4 * int64_t{prop.l2CacheSize};
    const int sets =
        static_cast<int>(std::clamp<int64_t>((rotation_bytes + set_bytes - 1) / set_bytes, 1, 64));
    size_t free_bytes = 0, total_bytes = 0;
    BENCH_RETURN_IF_CUDA_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (sets * set_bytes + (int64_t{1} << 30) > static_cast<int64_t>(free_bytes)) {
      return "not enough device memory for this shape";
    }

    // One pool of pages; each set's block tables use a disjoint random subset.
    const int64_t pool_pages = sets * pages_per_set;
    std::mt19937 rng(1234);
    void *k_cache = nullptr, *v_cache = nullptr;
    BENCH_RETURN_IF_CUDA_ERROR(Allocate(&k_cache, pool_pages * page_bytes));
    BENCH_RETURN_IF_CUDA_ERROR(Allocate(&v_cache, pool_pages * page_bytes));
    if (std::string m = FillRandom(k_cache, pool_pages * page_bytes, rng); !m.empty()) return m;
    if (std::string m = FillRandom(v_cache, pool_pages * page_bytes, rng); !m.empty()) return m;
    std::vector<int32_t> pages(pool_pages);
    std::iota(pages.begin(), pages.end(), 0);
    std::shuffle(pages.begin(), pages.end(), rng);

    const size_t workspace_bytes =
        kernels::PagedAttentionWorkspaceBytes(num_seqs, kHeads, kKvHeads, kHeadDim);
    void* workspace = nullptr;
    if (workspace_bytes > 0) BENCH_RETURN_IF_CUDA_ERROR(Allocate(&workspace, workspace_bytes));
    splits_ = workspace_bytes == 0
                  ? 1
                  : static_cast<int>(workspace_bytes / (size_t{4} * num_seqs * kHeads * (kHeadDim + 1)));

    for (int set = 0; set < sets; ++set) {
      std::vector<int32_t> tables(int64_t{num_seqs} * max_blocks, -1);
      int64_t next = set * pages_per_set;
      for (int s = 0; s < num_seqs; ++s) {
        for (int b = 0; b < blocks_per_seq[s]; ++b) tables[int64_t{s} * max_blocks + b] = pages[next++];
      }
      // Ints: query_start, seq_lens, block tables, prefill tiles.
      std::vector<int32_t> ints = query_start;
      ints.insert(ints.end(), seq_lens.begin(), seq_lens.end());
      ints.insert(ints.end(), tables.begin(), tables.end());
      ints.insert(ints.end(), plan.prefill_tiles.begin(), plan.prefill_tiles.end());
      void *ints_device = nullptr, *q = nullptr, *out = nullptr;
      BENCH_RETURN_IF_CUDA_ERROR(Allocate(&ints_device, ints.size() * 4));
      BENCH_RETURN_IF_CUDA_ERROR(
          cudaMemcpy(ints_device, ints.data(), ints.size() * 4, cudaMemcpyHostToDevice));
      BENCH_RETURN_IF_CUDA_ERROR(Allocate(&q, tokens * q_row * 2));
      BENCH_RETURN_IF_CUDA_ERROR(Allocate(&out, int64_t{tokens} * kHeads * kHeadDim * 2));
      if (std::string m = FillRandom(q, tokens * q_row * 2, rng); !m.empty()) return m;
      const int32_t* base = static_cast<const int32_t*>(ints_device);

      kernels::PagedAttentionArgs a;
      a.q = static_cast<const __nv_bfloat16*>(q);
      a.q_stride = q_row;
      a.k_cache = static_cast<const __nv_bfloat16*>(k_cache);
      a.v_cache = static_cast<const __nv_bfloat16*>(v_cache);
      a.block_size = kBlockSize;
      a.num_heads = kHeads;
      a.num_kv_heads = kKvHeads;
      a.head_dim = kHeadDim;
      a.query_start = base;
      a.seq_lens = base + num_seqs + 1;
      a.block_tables = base + 2 * num_seqs + 1;
      a.max_blocks_per_seq = max_blocks;
      a.num_seqs = num_seqs;
      a.num_tokens = tokens;
      a.scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
      a.prefill_tiles = a.block_tables + tables.size();
      a.num_prefill_tiles = plan.num_prefill_tiles();
      a.num_decode_seqs = plan.num_decode_seqs;
      a.workspace = workspace;
      a.workspace_bytes = workspace_bytes;
      a.out = static_cast<__nv_bfloat16*>(out);
      a.out_stride = int64_t{kHeads} * kHeadDim;
      args_.push_back(a);
    }
    return "";
  }

  // Median seconds of one call (see the file comment).
  std::string Time(double* seconds) {
    cudaStream_t stream = nullptr;
    BENCH_RETURN_IF_CUDA_ERROR(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    std::string error = TimeOn(stream, seconds);
    cudaStreamDestroy(stream);
    return error;
  }

  int64_t kv_bytes_per_call() const { return kv_bytes_per_call_; }
  int splits() const { return splits_; }

 private:
  cudaError_t Allocate(void** p, int64_t bytes) {
    const cudaError_t error = cudaMalloc(p, static_cast<size_t>(std::max<int64_t>(bytes, 256)));
    if (error == cudaSuccess) allocations_.push_back(*p);
    return error;
  }

  std::string TimeOn(cudaStream_t stream, double* seconds) {
    for (const kernels::PagedAttentionArgs& a : args_) {  // Warm-up, kernel setup.
      BENCH_RETURN_IF_CUDA_ERROR(kernels::PagedAttention(a, stream));
    }
    BENCH_RETURN_IF_CUDA_ERROR(cudaStreamSynchronize(stream));
    const int calls = std::max<int>(kMinCallsPerGraph, static_cast<int>(args_.size()));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    BENCH_RETURN_IF_CUDA_ERROR(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < calls; ++i) {
      if (const cudaError_t error = kernels::PagedAttention(args_[i % args_.size()], stream);
          error != cudaSuccess) {
        cudaStreamEndCapture(stream, &graph);
        if (graph != nullptr) cudaGraphDestroy(graph);
        return Failed(error, "PagedAttention during capture");
      }
    }
    BENCH_RETURN_IF_CUDA_ERROR(cudaStreamEndCapture(stream, &graph));
    std::string error = Failed(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
    cudaEvent_t start = nullptr, stop = nullptr;
    if (error.empty()) error = Failed(cudaEventCreate(&start), "cudaEventCreate");
    if (error.empty()) error = Failed(cudaEventCreate(&stop), "cudaEventCreate");
    std::vector<double> times;
    for (int replay = 0; error.empty() && replay < kReplays + 3; ++replay) {
      error = Failed(cudaEventRecord(start, stream), "cudaEventRecord");
      if (error.empty()) error = Failed(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
      if (error.empty()) error = Failed(cudaEventRecord(stop, stream), "cudaEventRecord");
      if (error.empty()) error = Failed(cudaEventSynchronize(stop), "kernel execution");
      float ms = 0.0f;
      if (error.empty()) error = Failed(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
      if (replay >= 3) times.push_back(ms * 1e-3 / calls);  // The first replays warm up.
    }
    if (stop != nullptr) cudaEventDestroy(stop);
    if (start != nullptr) cudaEventDestroy(start);
    if (exec != nullptr) cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    if (!error.empty()) return error;
    std::sort(times.begin(), times.end());
    *seconds = times[times.size() / 2];
    return "";
  }

  std::vector<void*> allocations_;
  std::vector<kernels::PagedAttentionArgs> args_;
  int64_t kv_bytes_per_call_ = 0;
  int splits_ = 1;
};

// Device-to-device cudaMemcpy of 1 GiB, (bytes read + written) / median time;
// measured once per process. 0 on failure.
double CopyBytesPerSecond() {
  static const double rate = [] {
    const size_t bytes = size_t{1} << 30;
    void *src = nullptr, *dst = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    std::vector<double> rates;
    if (cudaMalloc(&src, bytes) == cudaSuccess && cudaMalloc(&dst, bytes) == cudaSuccess &&
        cudaMemset(src, 1, bytes) == cudaSuccess && cudaEventCreate(&start) == cudaSuccess &&
        cudaEventCreate(&stop) == cudaSuccess) {
      for (int run = 0; run < 13; ++run) {
        float ms = 0.0f;
        if (cudaEventRecord(start) != cudaSuccess ||
            cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice) != cudaSuccess ||
            cudaEventRecord(stop) != cudaSuccess || cudaEventSynchronize(stop) != cudaSuccess ||
            cudaEventElapsedTime(&ms, start, stop) != cudaSuccess) {
          break;
        }
        if (run >= 3) rates.push_back(2.0 * bytes / (ms * 1e-3));
      }
    }
    if (start != nullptr) cudaEventDestroy(start);
    if (stop != nullptr) cudaEventDestroy(stop);
    cudaFree(src);
    cudaFree(dst);
    if (rates.empty()) return 0.0;
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  }();
  return rate;
}

void SetDeviceLabel(benchmark::State& state) {
  int device = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
    state.SetLabel(prop.name);
  }
}

void BM_DeviceCopy(benchmark::State& state) {
  const double rate = CopyBytesPerSecond();
  if (rate == 0.0) {
    state.SkipWithError("device-to-device copy failed");
    return;
  }
  for (auto _ : state) state.SetIterationTime((size_t{2} << 30) / rate);
  state.counters["copy_GBps"] = rate / 1e9;
  SetDeviceLabel(state);
}
BENCHMARK(BM_DeviceCopy)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);

// Args: batch size, context length (each sequence decodes token `context`).
void BM_Decode(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0)), context = static_cast<int>(state.range(1));
  AttentionInputs inputs;
  double seconds = 0.0;
  std::string error = inputs.Build(std::vector<int>(batch, context - 1), std::vector<int>(batch, 1));
  if (error.empty()) error = inputs.Time(&seconds);
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) state.SetIterationTime(seconds);
  const double copy = CopyBytesPerSecond();
  const double kv_rate = inputs.kv_bytes_per_call() / seconds;
  state.counters["us"] = seconds * 1e6;
  state.counters["kv_GBps"] = kv_rate / 1e9;
  state.counters["copy_GBps"] = copy / 1e9;
  state.counters["vs_copy"] = copy > 0.0 ? kv_rate / copy : 0.0;
  state.counters["splits"] = inputs.splits();
  SetDeviceLabel(state);
}
BENCHMARK(BM_Decode)
    ->ArgsProduct({{1, 8, 64, 256}, {1024, 8192}})
    ->ArgNames({"batch", "context"})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

// Args: sequences, cached tokens, new tokens per sequence.
void BM_Prefill(benchmark::State& state) {
  const int seqs = static_cast<int>(state.range(0));
  const int cached = static_cast<int>(state.range(1)), fresh = static_cast<int>(state.range(2));
  AttentionInputs inputs;
  double seconds = 0.0;
  std::string error = inputs.Build(std::vector<int>(seqs, cached), std::vector<int>(seqs, fresh));
  if (error.empty()) error = inputs.Time(&seconds);
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) state.SetIterationTime(seconds);
  // Each new row sees the cached prefix and, on average, half the chunk.
  const double flops = 4.0 * seqs * fresh * (cached + fresh / 2.0) * kHeadDim * kHeads;
  state.counters["us"] = seconds * 1e6;
  state.counters["TFLOPs"] = flops / seconds / 1e12;
  SetDeviceLabel(state);
}
BENCHMARK(BM_Prefill)
    ->Args({8, 0, 1024})
    ->Args({1, 0, 8192})
    ->Args({8, 3584, 512})
    ->ArgNames({"seqs", "cached", "fresh"})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();

// GPU forward-pass performance on a Llama-3.1-8B-shaped model with dummy bf16
// weights, each figure against a ceiling measured in the same process:
//   BM_CopyBandwidth  device-to-device copy, bytes read + written per second
//   BM_GemmRate       cuBLASLt bf16 GEMM 8192^3, FLOP/s
//   BM_Decode/B       one decode step for B sequences at context 1024;
//                     vs_bandwidth = (weight + KV bytes read) / time / copy rate
//   BM_DecodeBackToBack/B  the same, but 16 steps enqueued before one
//                     synchronization: the GPU's own step time, with the host's
//                     work for step N+1 hidden behind step N (what overlapped
//                     scheduling can reach)
//   BM_Prefill        8 prompts x 1024 tokens in one step; vs_gemm = FLOP/s / GEMM rate
// Times are wall clock around a step and its synchronization (host work
// included, as a real step pays it). With --no-pdl the kernels launch without
// programmatic dependent launch, with --gemv-max-rows=N Linear layers of at
// most N rows (0: none) run on the weight-streaming kernel, with
// --no-norm-fusion a batch-1 step runs every norm as a kernel of its own
// (none inside the qkv projection, kernels::GemvNormPays), and with
// --no-fusion it also rotates q and k in a kernel of their own (to measure
// what each buys).
// --profile-decode=B runs one batch-B decode step between
// cudaProfilerStart and cudaProfilerStop and exits, for
// `ncu --profile-from-start off` to time each kernel of the step.
#include <cuda_profiler_api.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <memory>

#include "benchmark/benchmark.h"
#include "common/status_macros.h"
#include "engine_svc/executor/cuda/cublaslt_gemm.h"
#include "engine_svc/executor/model_runner.h"
#include "kernels/launch.h"

namespace tern {
namespace {

constexpr int64_t kContext = 1024;
constexpr int64_t kBlockSize = 16;
constexpr int64_t kMaxBatch = 256;
constexpr int64_t kBlocksPerSeq = (kContext + 1 + kBlockSize - 1) / kBlockSize;

// Llama 3.1 8B's shape, read from the repository (run from its root).
constexpr char kModelDir[] = "bench/models/llama3.1-8b";
int gemv_max_rows = -1;  // --gemv-max-rows; -1: the backend's default.
bool fuse_qkv_rope = true;  // --no-fusion: false.
bool fuse_norm = true;      // --no-fusion or --no-norm-fusion: false.

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Ceilings {
  double copy_bytes_per_s = 0;
  double gemm_flops_per_s = 0;
};
Ceilings& GetCeilings() {
  static Ceilings ceilings;
  return ceilings;
}

void BM_CopyBandwidth(benchmark::State& state) {
  const size_t bytes = size_t{2} << 30;
  void *src = nullptr, *dst = nullptr;
  CHECK(cudaMalloc(&src, bytes) == cudaSuccess && cudaMalloc(&dst, bytes) == cudaSuccess);
  cudaMemset(src, 1, bytes);
  cudaEvent_t begin, end;
  cudaEventCreate(&begin);
  cudaEventCreate(&end);
  for (int i = 0; i < 3; ++i) cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice);
  double best = 0;
  for (auto _ : state) {
    cudaEventRecord(begin);
    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(end);
    cudaEventSynchronize(end);
    float ms = 0;
    cudaEventElapsedTime(&ms, begin, end);
    state.SetIterationTime(ms / 1e3);
    best = std::max(best, 2.0 * bytes / (ms / 1e3));
  }
  GetCeilings().copy_bytes_per_s = best;
  state.counters["TBps"] = best / 1e12;
  cudaFree(src);
  cudaFree(dst);
}
BENCHMARK(BM_CopyBandwidth)->UseManualTime()->Iterations(20)->Unit(benchmark::kMillisecond);

void BM_GemmRate(benchmark::State& state) {
  const int64_t n = 8192;
  void *a = nullptr, *b = nullptr, *c = nullptr;
  CHECK(cudaMalloc(&a, n * n * 2) == cudaSuccess && cudaMalloc(&b, n * n * 2) == cudaSuccess &&
        cudaMalloc(&c, n * n * 2) == cudaSuccess);
  // Random-looking bits, not zeros: zeros run faster than real data.
  std::vector<uint16_t> host(n * n);
  for (size_t i = 0; i < host.size(); ++i) host[i] = FloatToBFloat16(static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f);
  cudaMemcpy(a, host.data(), n * n * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(b, host.data(), n * n * 2, cudaMemcpyHostToDevice);
  std::unique_ptr<CublasLtGemm> gemm = *CublasLtGemm::Create(int64_t{32} << 20);
  cudaEvent_t begin, end;
  cudaEventCreate(&begin);
  cudaEventCreate(&end);
  for (int i = 0; i < 3; ++i) CHECK_OK(gemm->Run(a, n, b, c, n, false, n, n, n, nullptr));
  double best = 0;
  for (auto _ : state) {
    cudaEventRecord(begin);
    CHECK_OK(gemm->Run(a, n, b, c, n, false, n, n, n, nullptr));
    cudaEventRecord(end);
    cudaEventSynchronize(end);
    float ms = 0;
    cudaEventElapsedTime(&ms, begin, end);
    state.SetIterationTime(ms / 1e3);
    best = std::max(best, 2.0 * n * n * n / (ms / 1e3));
  }
  GetCeilings().gemm_flops_per_s = best;
  state.counters["TFLOPs"] = best / 1e12;
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
}
BENCHMARK(BM_GemmRate)->UseManualTime()->Iterations(20)->Unit(benchmark::kMillisecond);

struct Model {
  std::unique_ptr<ModelRunner> runner;
  int64_t weight_bytes_read = 0;  // Per decode step: every weight but the embedding table.
  int64_t kv_bytes_per_token = 0;
  double matmul_params = 0;       // Weights multiplied per token (not the embedding, not lm_head).
};

// Loads the model once and prefills kMaxBatch sequences of kContext tokens.
Model& GetModel() {
  static Model* model = [] {
    auto* m = new Model();
    ModelRunnerConfig config;
    config.model_dir = kModelDir;
    config.load_format = LoadFormat::kDummy;
    config.backend.name = "cuda";
    config.backend.cuda_gemv_max_rows = gemv_max_rows;
    config.backend.cuda_fuse_qkv_rope = fuse_qkv_rope;
    config.backend.cuda_fuse_norm = fuse_norm;
    config.max_num_batched_tokens = 8192;
    config.max_num_seqs = kMaxBatch;
    config.max_model_len = 4096;
    config.gpu_memory_utilization = 0.85;
    absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Create(config);
    CHECK(runner.ok()) << runner.status();
    m->runner = *std::move(runner);
    CHECK_GE(m->runner->num_kv_blocks(), kMaxBatch * kBlocksPerSeq) << "KV cache too small";
    const ModelConfig& c = m->runner->model_config();
    const int64_t embed_bytes = c.vocab_size * c.hidden_size * 2;
    m->weight_bytes_read = m->runner->model().weight_bytes() - embed_bytes;
    m->kv_bytes_per_token = 2 * c.num_layers * c.num_kv_heads * c.head_dim * 2;
    m->matmul_params = static_cast<double>(c.num_layers) *
                       (c.hidden_size * (c.q_size() + 2 * c.kv_size()) + c.q_size() * c.hidden_size +
                        3.0 * c.hidden_size * c.intermediate_size);
    // Prefill every sequence's context, 8 sequences per step.
    for (int64_t first = 0; first < kMaxBatch; first += 8) {
      ForwardBatch batch;
      for (int64_t s = first; s < first + 8; ++s) {
        std::vector<int32_t> blocks;
        for (int64_t b = 0; b < kBlocksPerSeq; ++b) blocks.push_back(static_cast<int32_t>(s * kBlocksPerSeq + b));
        std::vector<int32_t> tokens(kContext);
        for (int64_t i = 0; i < kContext; ++i) tokens[i] = static_cast<int32_t>((s * 7919 + i * 104729) % c.vocab_size);
        batch.AddSequence(tokens, kContext, blocks, kBlockSize);
        batch.logits_indices.push_back(batch.num_tokens() - 1);
      }
      CHECK_OK(m->runner->ExecuteToDevice(batch).status());
    }
    CHECK_OK(m->runner->backend().Synchronize());
    return m;
  }();
  return *model;
}

// The device's name, memory and driver, for the JSON output's context.
void AddDeviceContext() {
  cudaDeviceProp prop = {};
  int driver = 0;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || cudaDriverGetVersion(&driver) != cudaSuccess) return;
  benchmark::AddCustomContext("device", prop.name);
  benchmark::AddCustomContext("device_memory_mib", std::to_string(prop.totalGlobalMem >> 20));
  benchmark::AddCustomContext("device_sms", std::to_string(prop.multiProcessorCount));
  benchmark::AddCustomContext("cuda_driver", std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10));
}

// One decode token for each of batch_size sequences at context kContext + 1.
ForwardBatch DecodeStep(int64_t batch_size) {
  ForwardBatch step;
  for (int64_t s = 0; s < batch_size; ++s) {
    std::vector<int32_t> blocks;
    for (int64_t b = 0; b < kBlocksPerSeq; ++b) blocks.push_back(static_cast<int32_t>(s * kBlocksPerSeq + b));
    step.AddSequence({static_cast<int32_t>(s + 11)}, kContext + 1, blocks, kBlockSize);
    step.logits_indices.push_back(static_cast<int32_t>(s));
  }
  return step;
}

void SetDecodeCounters(benchmark::State& state, const Model& m, int64_t batch_size) {
  const double bytes = m.weight_bytes_read + static_cast<double>(batch_size) * (kContext + 1) * m.kv_bytes_per_token;
  state.counters["GB_read"] = bytes / 1e9;
  state.counters["TBps"] = benchmark::Counter(bytes / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["vs_bandwidth"] =
      benchmark::Counter(bytes / GetCeilings().copy_bytes_per_s, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens_per_s"] = benchmark::Counter(batch_size, benchmark::Counter::kIsIterationInvariantRate);
}

// Enqueues `count` executions of `step`, then waits for them.
void RunSteps(Model& m, const ForwardBatch& step, int count) {
  for (int i = 0; i < count; ++i) CHECK_OK(m.runner->ExecuteToDevice(step).status());
  CHECK_OK(m.runner->backend().Synchronize());
}

// Each iteration enqueues `steps` decode steps of state.range(0) sequences,
// then waits for them; its time is per step.
void TimeDecodeSteps(benchmark::State& state, int steps) {
  Model& m = GetModel();
  const int64_t batch_size = state.range(0);
  const ForwardBatch step = DecodeStep(batch_size);
  RunSteps(m, step, 3);  // Warm-up.
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    RunSteps(m, step, steps);
    state.SetIterationTime(Seconds(start) / steps);
  }
  SetDecodeCounters(state, m, batch_size);
}

void BM_Decode(benchmark::State& state) { TimeDecodeSteps(state, 1); }
BENCHMARK(BM_Decode)->Arg(1)->Arg(8)->Arg(64)->Arg(256)->UseManualTime()->MinTime(2.0)->Unit(benchmark::kMillisecond);

// 16 steps enqueued, then one synchronization.
void BM_DecodeBackToBack(benchmark::State& state) { TimeDecodeSteps(state, 16); }
BENCHMARK(BM_DecodeBackToBack)->Arg(1)->Arg(8)->Arg(64)->UseManualTime()->MinTime(1.0)->Unit(benchmark::kMillisecond);

// One decode step under the profiler (--profile-decode=B).
void ProfileDecodeStep(int64_t batch_size) {
  Model& m = GetModel();
  const ForwardBatch step = DecodeStep(batch_size);
  RunSteps(m, step, 3);  // Warm-up.
  cudaProfilerStart();
  RunSteps(m, step, 1);
  cudaProfilerStop();
}

void BM_Prefill(benchmark::State& state) {
  Model& m = GetModel();
  const ModelConfig& c = m.runner->model_config();
  // 8 fresh prompts of 1024 tokens, in the blocks of sequences 0..7 (their
  // decode context is rewritten identically).
  ForwardBatch batch;
  for (int64_t s = 0; s < 8; ++s) {
    std::vector<int32_t> blocks;
    for (int64_t b = 0; b < kBlocksPerSeq; ++b) blocks.push_back(static_cast<int32_t>(s * kBlocksPerSeq + b));
    std::vector<int32_t> tokens(kContext);
    for (int64_t i = 0; i < kContext; ++i) tokens[i] = static_cast<int32_t>((s * 7919 + i * 104729) % c.vocab_size);
    batch.AddSequence(tokens, kContext, blocks, kBlockSize);
    batch.logits_indices.push_back(batch.num_tokens() - 1);
  }
  CHECK_OK(m.runner->ExecuteToDevice(batch).status());
  CHECK_OK(m.runner->backend().Synchronize());
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    CHECK_OK(m.runner->ExecuteToDevice(batch).status());
    CHECK_OK(m.runner->backend().Synchronize());
    state.SetIterationTime(Seconds(start));
  }
  const double tokens = 8.0 * kContext;
  const double attention = 8.0 * c.num_layers * 4.0 * c.num_heads * c.head_dim * (kContext * (kContext + 1) / 2.0);
  const double flops = 2.0 * m.matmul_params * tokens + 2.0 * c.vocab_size * c.hidden_size * 8 + attention;
  state.counters["TFLOPs"] = benchmark::Counter(flops / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["vs_gemm"] =
      benchmark::Counter(flops / GetCeilings().gemm_flops_per_s, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Prefill)->UseManualTime()->MinTime(2.0)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  // --no-pdl, --gemv-max-rows=N, --no-fusion, --no-norm-fusion and
  // --profile-decode=B, before Google Benchmark sees the flags.
  std::vector<char*> args;
  int64_t profile_batch = 0;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-pdl") == 0) {
      tern::kernels::SetProgrammaticLaunch(false);
    } else if (std::strncmp(argv[i], "--gemv-max-rows=", 16) == 0) {
      tern::gemv_max_rows = std::atoi(argv[i] + 16);
    } else if (std::strcmp(argv[i], "--no-fusion") == 0) {
      tern::fuse_qkv_rope = false;
      tern::fuse_norm = false;
    } else if (std::strcmp(argv[i], "--no-norm-fusion") == 0) {
      tern::fuse_norm = false;
    } else if (std::strncmp(argv[i], "--profile-decode=", 17) == 0) {
      profile_batch = std::atoi(argv[i] + 17);
    } else {
      args.push_back(argv[i]);
    }
  }
  if (profile_batch > 0) {
    tern::ProfileDecodeStep(profile_batch);
    return 0;
  }
  int count = static_cast<int>(args.size());
  tern::AddDeviceContext();
  benchmark::Initialize(&count, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

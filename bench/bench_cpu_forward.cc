// CPU backend forward-pass throughput on a dummy-weight Llama of ~100M
// parameters (bf16 weights, fp32 compute), against memcpy bandwidth measured
// in the same process.
//
// Counters:
//   tokens_per_s        tokens processed per second (decode: one per sequence)
//   weight_read_GBps    weight bytes each step must read / step time
//   vs_memcpy           weight_read_GBps / memcpy bandwidth (bytes read + written)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/status_macros.h"
#include "common/thread_pool.h"
#include "engine_svc/executor/cpu_backend.h"
#include "engine_svc/executor/model_runner.h"

namespace tern {
namespace {

constexpr int64_t kBlockSize = 16;
constexpr int64_t kDecodeContext = 128;

// A Llama-architecture config of ~110M parameters, written to a temp dir.
std::string WriteModelDir() {
  char dir_template[] = "/tmp/tern_bench_model_XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  std::ofstream(dir + "/config.json") << R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 768, "intermediate_size": 1536, "num_hidden_layers": 12,
    "num_attention_heads": 12, "num_key_value_heads": 4, "vocab_size": 32000,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16"})";
  return dir;
}

struct Fixture {
  std::unique_ptr<ModelRunner> runner;
  int64_t weight_bytes_read_per_step = 0;
  int threads = 1;
};

// Median of several parallel copies of a buffer far larger than the caches,
// counting bytes read plus bytes written, on as many threads as the model uses.
double MeasureMemcpyBandwidth(int threads) {
  const size_t bytes = size_t{512} << 20;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  ThreadPool pool(threads);
  std::vector<double> rates;
  for (int run = 0; run < 7; ++run) {
    const auto start = std::chrono::steady_clock::now();
    pool.ParallelFor(static_cast<int64_t>(bytes >> 20), 1, [&](int64_t begin, int64_t end) {
      std::memcpy(dst.data() + (begin << 20), src.data() + (begin << 20), (end - begin) << 20);
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(2.0 * bytes / seconds);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

Fixture& GetFixture() {
  static Fixture* fixture = [] {
    auto* f = new Fixture();
    ModelRunnerConfig config;
    config.model_dir = WriteModelDir();
    config.load_format = LoadFormat::kDummy;
    config.num_kv_blocks = 16 * ((kDecodeContext + 16) / kBlockSize + 1) + 40;
    config.max_num_batched_tokens = 512;
    absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Create(config);
    CHECK(runner.ok()) << runner.status();
    f->runner = *std::move(runner);
    const ModelConfig& c = f->runner->model_config();
    // Decode reads every weight except the embedding table (one row per token).
    f->weight_bytes_read_per_step = f->runner->model().weight_bytes() - c.vocab_size * c.hidden_size * 2;
    f->threads = static_cast<CpuBackend&>(f->runner->backend()).num_threads();
    LOG(INFO) << "model: " << c.NumParameters() << " parameters, " << f->runner->model().weight_bytes()
              << " weight bytes, " << f->threads << " threads";
    return f;
  }();
  return *fixture;
}

// The blocks of sequence `s`: a disjoint range per sequence.
std::vector<int32_t> BlocksOf(int64_t s, int64_t tokens) {
  std::vector<int32_t> blocks;
  const int64_t per_seq = (kDecodeContext + 16) / kBlockSize + 1;
  for (int64_t b = 0; b < (tokens + kBlockSize - 1) / kBlockSize; ++b) {
    blocks.push_back(static_cast<int32_t>(s * per_seq + b));
  }
  return blocks;
}

void BM_Decode(benchmark::State& state) {
  Fixture& f = GetFixture();
  const int64_t batch_size = state.range(0);
  std::vector<float> logits;
  // Prefill each sequence's context once, then time decode steps at a fixed
  // context length (each step rewrites the same KV slot).
  for (int64_t s = 0; s < batch_size; ++s) {
    ForwardBatch prefill;
    prefill.AddSequence(std::vector<int32_t>(kDecodeContext, 7), kDecodeContext,
                        BlocksOf(s, kDecodeContext), kBlockSize);
    CHECK_OK(f.runner->Execute(prefill, &logits));
  }
  ForwardBatch step;
  for (int64_t s = 0; s < batch_size; ++s) {
    step.AddSequence({11}, kDecodeContext + 1, BlocksOf(s, kDecodeContext + 1), kBlockSize);
    step.logits_indices.push_back(static_cast<int32_t>(s));
  }
  // The ceiling is measured right before the timed loop, under the same load.
  const double memcpy_bytes_per_s = MeasureMemcpyBandwidth(f.threads);
  for (auto _ : state) CHECK_OK(f.runner->Execute(step, &logits));
  const double steps = static_cast<double>(state.iterations());
  state.counters["tokens_per_s"] = benchmark::Counter(steps * batch_size, benchmark::Counter::kIsRate);
  state.counters["weight_read_GBps"] =
      benchmark::Counter(steps * f.weight_bytes_read_per_step / 1e9, benchmark::Counter::kIsRate);
  state.counters["memcpy_GBps"] = memcpy_bytes_per_s / 1e9;
  state.counters["vs_memcpy"] = benchmark::Counter(
      steps * f.weight_bytes_read_per_step / memcpy_bytes_per_s, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Decode)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

void BM_Prefill(benchmark::State& state) {
  Fixture& f = GetFixture();
  const int64_t length = state.range(0);
  ForwardBatch batch;
  std::vector<int32_t> prompt(length);
  for (int64_t i = 0; i < length; ++i) prompt[i] = static_cast<int32_t>((i * 37) % 32000);
  batch.AddSequence(prompt, static_cast<int32_t>(length), BlocksOf(0, length), kBlockSize);
  batch.logits_indices = {static_cast<int32_t>(length - 1)};
  std::vector<float> logits;
  for (auto _ : state) CHECK_OK(f.runner->Execute(batch, &logits));
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * length, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Prefill)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();

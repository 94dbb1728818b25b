// Engine-core overhead per step: Schedule() + UpdateFromOutput() (through
// EngineCore::Step with an executor that does no work), for a steady state
// of N running requests mixing decode and chunked prefill. Finished requests
// are replaced between steps (untimed), so new prompts keep arriving.
#include <random>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/status_macros.h"
#include "engine_svc/core/engine_core.h"

namespace tern {
namespace {

// Samples token 7 for every request that samples; does nothing else.
class NullExecutor : public Executor {
 public:
  absl::StatusOr<ModelRunnerOutput> Execute(const SchedulerOutput& plan) override {
    ModelRunnerOutput out;
    out.results.resize(plan.requests.size());
    for (size_t i = 0; i < plan.requests.size(); ++i) {
      if (plan.requests[i].samples) out.results[i].token_id = 7;
    }
    return out;
  }
};

void BM_EngineStep(benchmark::State& state) {
  const int64_t running = state.range(0);
  std::mt19937 rng(1);
  NullExecutor executor;
  EngineCoreConfig config;
  // Room for every decode plus enough prefill to keep N requests running.
  config.scheduler.max_num_batched_tokens = running + 4096;
  config.scheduler.max_num_seqs = running;
  config.scheduler.max_model_len = 8192;
  config.cache = {.num_blocks = running * 200, .block_size = 16, .enable_prefix_caching = true};
  config.vocab_size = 32000;
  EngineCore core(config, executor);

  int64_t next_id = 0;
  auto add = [&] {
    RequestSpec spec;
    spec.id = absl::StrCat("req-", next_id++);
    const int prompt = std::uniform_int_distribution<int>(64, 2048)(rng);
    spec.prompt_token_ids.resize(prompt);
    for (int32_t& t : spec.prompt_token_ids) t = static_cast<int32_t>(rng() % 32000);
    spec.sampling.max_tokens = std::uniform_int_distribution<int>(32, 512)(rng);
    spec.sampling.ignore_eos = true;
    spec.sampling.temperature = 0;
    CHECK_OK(core.AddRequest(spec));
  };
  for (int64_t i = 0; i < running; ++i) add();
  // Warm up until every request is admitted and the mix is steady.
  for (int i = 0; i < 300; ++i) {
    absl::StatusOr<EngineOutputs> outputs = core.Step();
    for (const EngineOutput& out : *outputs) {
      if (out.finished) add();
    }
  }

  int64_t scheduled_tokens = 0, steps = 0;
  for (auto _ : state) {
    absl::StatusOr<EngineOutputs> outputs = core.Step();
    benchmark::DoNotOptimize(outputs);
    state.PauseTiming();
    for (const EngineOutput& out : *outputs) {
      if (out.finished) add();
    }
    scheduled_tokens += static_cast<int64_t>(outputs->size());
    ++steps;
    state.ResumeTiming();
  }
  state.counters["running"] = static_cast<double>(core.scheduler().num_running());
  state.counters["outputs_per_step"] = static_cast<double>(scheduled_tokens) / steps;
}
BENCHMARK(BM_EngineStep)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();

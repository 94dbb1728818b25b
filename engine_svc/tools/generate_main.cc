// tern-generate: runs JSON-lines requests through the engine core (scheduler,
// paged KV cache with prefix caching, sampler) and the model, and writes one
// JSON line per request (see generate_io.h for the format).
//
//   echo '{"id":"a","prompt_token_ids":[1,2,3],"max_tokens":8,"temperature":0}' |
//       tern-generate --model tests/data/models/llama3
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "engine_svc/engine_setup.h"
#include "engine_svc/executor/backend_factory.h"
#include "engine_svc/tools/generate_driver.h"
#include "engine_svc/tools/generate_io.h"

ABSL_FLAG(std::string, model, "", "Model directory (HF layout: config.json + safetensors).");
ABSL_FLAG(std::string, backend, "cpu", "Compute backend: cpu, cuda, or auto (cuda when a GPU is visible).");
ABSL_FLAG(std::string, load_format, "auto", "auto|safetensors, or dummy for random weights.");
ABSL_FLAG(int64_t, block_size, 16, "Tokens per KV cache block.");
ABSL_FLAG(int64_t, num_kv_blocks, 0,
          "KV cache blocks; 0 sizes the cache to hold every request at once (or, with "
          "--gpu-memory-utilization, from free GPU memory).");
ABSL_FLAG(double, gpu_memory_utilization, 0.0,
          "GPU backends: size the KV cache to this fraction of GPU memory (0: see --num-kv-blocks).");
ABSL_FLAG(bool, enforce_eager, false, "Never use CUDA graphs.");
ABSL_FLAG(int64_t, max_num_batched_tokens, 2048, "Token budget of one engine step.");
ABSL_FLAG(int64_t, max_num_seqs, 256, "Most sequences running at once.");
ABSL_FLAG(int64_t, max_model_len, 0, "Longest prompt + output; 0 uses the model's limit.");
ABSL_FLAG(bool, enable_prefix_caching, true, "Reuse cached KV blocks of identical prefixes.");
ABSL_FLAG(std::string, scheduling_policy, "fcfs", "fcfs, or priority (lower value first).");
ABSL_FLAG(uint64_t, seed, 0, "Seeds the seeds of requests that bring none.");
ABSL_FLAG(int32_t, threads, 0, "CPU backend threads; 0 uses every available core.");
ABSL_FLAG(std::string, log_level, "warning", "info, warning or error.");

namespace tern {
namespace {

absl::Status Run() {
  const std::string model_dir = absl::GetFlag(FLAGS_model);
  if (model_dir.empty()) return absl::InvalidArgumentError("--model DIR is required");
  ASSIGN_OR_RETURN(ModelConfig model_config, LoadModelConfig(model_dir));
  ASSIGN_OR_RETURN(GenerationConfig generation, LoadGenerationConfig(model_dir));

  EngineOptions options;
  ModelRunnerConfig& runner = options.runner;
  runner.model_dir = model_dir;
  ASSIGN_OR_RETURN(runner.load_format, ParseLoadFormat(absl::GetFlag(FLAGS_load_format)));
  runner.backend.name = ResolveBackendName(absl::GetFlag(FLAGS_backend));
  runner.backend.num_threads = absl::GetFlag(FLAGS_threads);
  runner.block_size = absl::GetFlag(FLAGS_block_size);
  runner.max_num_batched_tokens = absl::GetFlag(FLAGS_max_num_batched_tokens);
  runner.num_kv_blocks = absl::GetFlag(FLAGS_num_kv_blocks);
  runner.enforce_eager = absl::GetFlag(FLAGS_enforce_eager);
  const double utilization = absl::GetFlag(FLAGS_gpu_memory_utilization);
  if (utilization > 0) runner.gpu_memory_utilization = utilization;
  options.max_num_seqs = absl::GetFlag(FLAGS_max_num_seqs);
  options.max_model_len = absl::GetFlag(FLAGS_max_model_len);
  options.enable_prefix_caching = absl::GetFlag(FLAGS_enable_prefix_caching);
  ASSIGN_OR_RETURN(options.policy, ParseSchedulingPolicy(absl::GetFlag(FLAGS_scheduling_policy)));
  options.seed = absl::GetFlag(FLAGS_seed);

  // Read every request first, so the default cache can hold all of them.
  const SamplingDefaults defaults = generation.DefaultSampling();
  std::vector<GenerateRequest> requests;
  std::vector<GenerateResult> rejected;
  std::string line;
  for (int64_t line_number = 1; std::getline(std::cin, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string id;
    absl::StatusOr<GenerateRequest> request = ParseGenerateRequest(line, line_number, defaults.Base(), &id);
    if (request.ok()) {
      requests.push_back(*std::move(request));
    } else {
      GenerateResult failed;
      failed.id = id;
      failed.error = std::string(request.status().message());
      rejected.push_back(std::move(failed));
    }
  }
  if (runner.num_kv_blocks == 0 && utilization == 0 && runner.block_size > 0) {
    for (const GenerateRequest& r : requests) {
      const int64_t tokens = static_cast<int64_t>(r.spec.prompt_token_ids.size()) +
                             std::max<int64_t>(r.spec.sampling.max_tokens, 0);
      runner.num_kv_blocks += std::max<int64_t>(r.spec.sampling.n, 1) *
                              ((tokens + runner.block_size - 1) / runner.block_size);
    }
    runner.num_kv_blocks = std::max<int64_t>(runner.num_kv_blocks, 1);
  }

  ASSIGN_OR_RETURN(Engine engine, BuildEngine(options, [](int64_t done, int64_t total) {
                     LOG(INFO) << "loaded layer " << done << "/" << total;
                   }));
  LOG(INFO) << "model " << model_config.architecture << ", " << engine.runner->model().weight_bytes()
            << " weight bytes, " << engine.runner->num_kv_blocks() << " KV blocks of "
            << engine.runner->block_size() << " tokens";

  EngineCore core(engine.core_config, *engine.executor);
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::vector<GenerateResult> results, RunGenerateRequests(core, requests));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  int64_t generated = 0;
  for (const GenerateResult& result : results) {
    for (const GeneratedSample& sample : result.samples) generated += static_cast<int64_t>(sample.token_ids.size());
  }
  LOG(INFO) << "generated " << generated << " tokens for " << requests.size() << " requests in "
            << seconds << " s: " << (seconds > 0 ? generated / seconds : 0) << " output tokens/s";
  LOG(INFO) << "preemptions: " << core.scheduler().stats().num_preemptions;

  bool all_ok = rejected.empty();
  for (const GenerateResult& result : results) {
    all_ok = all_ok && result.error.empty();
    std::cout << FormatGenerateResult(result) << "\n";
  }
  for (const GenerateResult& result : rejected) std::cout << FormatGenerateResult(result) << "\n";
  std::cout.flush();
  return all_ok ? absl::OkStatus() : absl::CancelledError("");
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  tern::ParseTernFlags(
      argc, argv,
      "Runs JSON-lines generation requests from stdin; writes one JSON line per request.\n"
      "Usage: tern-generate --model DIR [--backend cpu] [--block-size N] [--num-kv-blocks N]\n"
      "       [--max-num-batched-tokens N] [--max-num-seqs N] [--enable-prefix-caching true|false]\n"
      "       [--scheduling-policy fcfs|priority] < requests.jsonl");
  if (!tern::SetMinLogSeverityByName(absl::GetFlag(FLAGS_log_level))) {
    std::cerr << "tern-generate: --log-level must be info, warning or error\n";
    return 2;
  }
  const absl::Status status = tern::Run();
  if (absl::IsCancelled(status)) return 1;  // Some requests failed; each has its error line.
  if (!status.ok()) {
    std::cerr << "tern-generate: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

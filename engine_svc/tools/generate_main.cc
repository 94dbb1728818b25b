// tern-generate: runs JSON-lines requests through the batched, chunked, paged
// forward path of a model and writes one JSON line per request (see
// generate_io.h for the format).
//
//   echo '{"id":"a","prompt_token_ids":[1,2,3],"max_tokens":8}' |
//       tern-generate --model tests/data/models/llama3
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "common/logging.h"
#include "engine_svc/executor/model_runner.h"
#include "engine_svc/tools/generate_io.h"
#include "engine_svc/tools/greedy_batch_runner.h"

ABSL_FLAG(std::string, model, "", "Model directory (HF layout: config.json + safetensors).");
ABSL_FLAG(std::string, backend, "cpu", "Compute backend.");
ABSL_FLAG(std::string, load_format, "auto", "auto|safetensors, or dummy for random weights.");
ABSL_FLAG(int64_t, block_size, 16, "Tokens per KV cache block.");
ABSL_FLAG(int64_t, num_kv_blocks, 0,
          "KV cache blocks; 0 sizes the cache to hold every request at once.");
ABSL_FLAG(int64_t, max_num_batched_tokens, 2048, "Token budget of one forward step.");
ABSL_FLAG(int64_t, max_num_seqs, 256, "Most sequences in one forward step.");
ABSL_FLAG(int64_t, max_model_len, 0, "Longest prompt + output; 0 uses the model's limit.");
ABSL_FLAG(int32_t, threads, 0, "CPU backend threads; 0 uses every available core.");
ABSL_FLAG(std::string, log_level, "warning", "info, warning or error.");

namespace tern {
namespace {

int Main() {
  LogSeverity severity;
  if (!ParseLogSeverity(absl::GetFlag(FLAGS_log_level), &severity)) {
    std::cerr << "tern-generate: --log-level must be info, warning or error\n";
    return 2;
  }
  SetMinLogSeverity(severity);
  if (absl::GetFlag(FLAGS_model).empty()) {
    std::cerr << "tern-generate: --model DIR is required\n";
    return 2;
  }
  absl::StatusOr<ModelConfig> model_config = LoadModelConfig(absl::GetFlag(FLAGS_model));
  if (!model_config.ok()) {
    std::cerr << "tern-generate: " << model_config.status().message() << "\n";
    return 1;
  }
  GenerateLimits limits;
  limits.vocab_size = model_config->vocab_size;
  limits.max_model_len = absl::GetFlag(FLAGS_max_model_len) > 0
                             ? absl::GetFlag(FLAGS_max_model_len)
                             : model_config->max_position_embeddings;

  // Read every request first: the cache can then be sized for all of them.
  std::vector<GenerateRequest> requests;
  std::vector<GenerateResult> rejected;  // Parsed-out lines, reported at the end.
  std::string line;
  for (int64_t line_number = 1; std::getline(std::cin, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string id;
    absl::StatusOr<GenerateRequest> request =
        ParseGenerateRequest(line, line_number, limits, &id);
    if (request.ok()) {
      requests.push_back(*std::move(request));
    } else {
      GenerateResult failed;
      failed.id = id;
      failed.error = std::string(request.status().message());
      rejected.push_back(std::move(failed));
    }
  }

  ModelRunnerConfig config;
  config.model_dir = absl::GetFlag(FLAGS_model);
  absl::StatusOr<LoadFormat> format = ParseLoadFormat(absl::GetFlag(FLAGS_load_format));
  if (!format.ok()) {
    std::cerr << "tern-generate: " << format.status().message() << "\n";
    return 2;
  }
  config.load_format = *format;
  config.backend.name = absl::GetFlag(FLAGS_backend);
  config.backend.num_threads = absl::GetFlag(FLAGS_threads);
  config.block_size = absl::GetFlag(FLAGS_block_size);
  config.max_num_batched_tokens = absl::GetFlag(FLAGS_max_num_batched_tokens);
  config.num_kv_blocks = absl::GetFlag(FLAGS_num_kv_blocks);
  if (config.num_kv_blocks == 0 && config.block_size > 0) {
    for (const GenerateRequest& r : requests) {
      config.num_kv_blocks +=
          (static_cast<int64_t>(r.prompt_token_ids.size()) + r.max_tokens + config.block_size - 1) /
          config.block_size;
    }
    config.num_kv_blocks = std::max<int64_t>(config.num_kv_blocks, 1);
  }

  BatchLimits batch_limits;
  batch_limits.max_num_batched_tokens = config.max_num_batched_tokens;
  batch_limits.max_num_seqs = absl::GetFlag(FLAGS_max_num_seqs);
  if (batch_limits.max_num_seqs <= 0) {
    std::cerr << "tern-generate: --max-num-seqs must be positive\n";
    return 2;
  }

  absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Create(
      config, [](int64_t done, int64_t total) {
        LOG(INFO) << "loaded layer " << done << "/" << total;
      });
  if (!runner.ok()) {
    std::cerr << "tern-generate: " << runner.status().message() << "\n";
    return 1;
  }
  LOG(INFO) << "model " << (*runner)->model_config().architecture << ", "
            << (*runner)->model().weight_bytes() << " weight bytes, " << (*runner)->num_kv_blocks()
            << " KV blocks of " << (*runner)->block_size() << " tokens";

  GreedyBatchRunner batcher(**runner, batch_limits);
  absl::StatusOr<std::vector<GenerateResult>> results = batcher.Run(requests);
  if (!results.ok()) {
    std::cerr << "tern-generate: " << results.status().message() << "\n";
    return 1;
  }
  bool all_ok = rejected.empty();
  for (const GenerateResult& result : *results) {
    all_ok = all_ok && result.error.empty();
    std::cout << FormatGenerateResult(result) << "\n";
  }
  for (const GenerateResult& result : rejected) std::cout << FormatGenerateResult(result) << "\n";
  std::cout.flush();
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  tern::ParseTernFlags(
      argc, argv,
      "Runs JSON-lines generation requests from stdin; writes one JSON line per request.\n"
      "Usage: tern-generate --model DIR [--backend cpu] [--block-size N] [--num-kv-blocks N]\n"
      "       [--max-num-batched-tokens N] [--max-num-seqs N] < requests.jsonl");
  return tern::Main();
}

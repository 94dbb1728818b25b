// The --result-json document. Its top-level keys are those `vllm bench
// serve --save-result` writes (date, backend, model_id, request_rate,
// completed, mean_ttft_ms, p99_itl_ms, ... and with --save-detailed
// input_lens, output_lens, ttfts, itls, generated_texts, errors), so scripts
// written for vLLM's files read these; tern-bench adds its settings, the
// server's /version, failure reasons, checks and per-request records.
#ifndef TERN_BENCH_TOOLS_RESULT_JSON_H_
#define TERN_BENCH_TOOLS_RESULT_JSON_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "bench_tools/metrics.h"
#include "bench_tools/runner.h"
#include "nlohmann/json.hpp"

namespace tern::bench {

struct ResultContext {
  std::string date;     // "YYYYMMDD-HHMMSS", local time, as vLLM writes it.
  std::string backend;  // "openai" (completions) or "openai-chat".
  std::string label;
  std::string model_id;
  std::string tokenizer_id;
  int64_t num_prompts = 0;
  double request_rate = INFINITY;
  double burstiness = 1.0;
  std::optional<int64_t> max_concurrency;
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();  // Every option as used.
  nlohmann::ordered_json server_version;  // GET /version, or null.
  std::vector<std::pair<std::string, std::string>> metadata;  // --metadata KEY=VALUE, as top-level keys.
};

// REQUIRES: run.requests sorted by index.
nlohmann::ordered_json BuildResultJson(const ResultContext& context, const BenchmarkMetrics& metrics,
                                       const RunResult& run, bool detailed);

// The current local time as "YYYYMMDD-HHMMSS".
std::string CurrentDate();

// Writes `contents` to `path` (replacing it). Errors name the path.
absl::Status WriteTextFile(const std::string& path, const std::string& contents);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_RESULT_JSON_H_

// Everything one tern-bench invocation does, as plain values (main.cc fills
// it from the flags), with its validation and the helpers that parse the
// flags vLLM writes in its own forms.
#ifndef TERN_BENCH_TOOLS_BENCH_CONFIG_H_
#define TERN_BENCH_TOOLS_BENCH_CONFIG_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench_tools/datasets.h"
#include "bench_tools/http_client.h"
#include "bench_tools/metrics.h"
#include "nlohmann/json.hpp"

namespace tern::bench {

// --sweep request-rate=1,2,4,inf | max-concurrency=1,8,64: one run per value.
struct SweepSpec {
  std::string parameter;  // "request-rate" or "max-concurrency"; empty: no sweep.
  std::vector<double> values;
  bool empty() const { return parameter.empty(); }
};
absl::StatusOr<SweepSpec> ParseSweep(absl::string_view text);

struct BenchConfig {
  std::string base_url = "http://127.0.0.1:8000";
  std::string endpoint = "/v1/completions";
  std::string model;              // The model name in requests; empty: the first of GET /v1/models.
  std::string tokenizer_dir;      // Empty: `model` when it is a directory.
  Headers headers;                // Authorization (from --api-key) and --header.
  DatasetOptions dataset;
  double request_rate = INFINITY;
  double burstiness = 1.0;
  int64_t max_concurrency = 0;    // 0: no limit.
  uint64_t seed = 0;
  bool ignore_eos = false;
  int64_t num_warmups = 0;
  absl::Duration max_duration = absl::InfiniteDuration();
  absl::Duration request_timeout = absl::Hours(6);
  absl::Duration ready_check_timeout = absl::Seconds(600);  // Zero: no ready check.
  nlohmann::json extra_body = nlohmann::json::object();    // Sampling parameters and --extra-body.
  MetricsOptions metrics;
  std::vector<std::string> percentile_metrics = {"ttft", "tpot", "itl", "e2el"};
  std::string result_json;
  bool save_detailed = false;
  std::string plot;
  std::string label;
  std::vector<std::pair<std::string, std::string>> metadata;
  SweepSpec sweep;
  bool progress = true;
  std::string request_id_prefix;
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();  // Recorded in the result file.

  absl::Status Validate() const;
  ApiKind api() const;
};

// The API an endpoint path speaks. Errors: neither ".../chat/completions" nor
// ".../completions".
absl::StatusOr<ApiKind> EndpointApi(absl::string_view endpoint);

// "KEY=VALUE" -> (KEY, VALUE); `flag` names the flag in errors.
absl::StatusOr<std::pair<std::string, std::string>> ParseKeyValue(absl::string_view text, absl::string_view flag);

// vLLM takes some flags with several space-separated values
// ("--goodput ttft:500 tpot:50"). Rewrites each flag of `names` (dashed or
// underscored, "--name v1 v2" or "--name=v1 v2") into one argument,
// "--name=v1,v2", taking values up to the next argument that starts with "-".
std::vector<std::string> JoinMultiValueFlags(const std::vector<std::string>& args,
                                             const std::vector<std::string>& names);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_BENCH_CONFIG_H_

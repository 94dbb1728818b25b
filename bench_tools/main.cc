// tern-bench: a serving benchmark for OpenAI-compatible endpoints, with
// `vllm bench serve`'s flags and metric definitions. See README.md.
#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench_tools/bench_command.h"
#include "bench_tools/bench_config.h"
#include "common/flags.h"

// Server and request.
ABSL_FLAG(std::string, base_url, "", "Server base URL, e.g. http://127.0.0.1:8000 (default: --host and --port)");
ABSL_FLAG(std::string, host, "127.0.0.1", "Server host when --base-url is not given");
ABSL_FLAG(int, port, 8000, "Server port when --base-url is not given");
ABSL_FLAG(std::string, endpoint, "/v1/completions", "/v1/completions or /v1/chat/completions");
ABSL_FLAG(std::string, model, "", "Model name sent in requests (default: the first of GET /v1/models); "
                                  "also the tokenizer when it is a directory");
ABSL_FLAG(std::string, served_model_name, "", "Model name sent in requests when --model is a local path");
ABSL_FLAG(std::string, tokenizer, "", "Model directory with tokenizer.json (default: --model)");
ABSL_FLAG(std::string, api_key, "", "Sent as 'Authorization: Bearer KEY' (default: $OPENAI_API_KEY)");
ABSL_FLAG(std::vector<std::string>, header, {}, "Extra request headers: KEY=VALUE ...");
ABSL_FLAG(std::string, extra_body, "", "JSON object merged into every request body, e.g. '{\"min_tokens\": 64}'");
ABSL_FLAG(bool, ignore_eos, false, "Send ignore_eos (always on for the generated datasets, as vLLM does)");
ABSL_FLAG(double, temperature, 0.0, "Sampling temperature (vLLM's benchmark default: 0, greedy)");
ABSL_FLAG(double, top_p, NAN, "top_p (sent when set)");
ABSL_FLAG(int, top_k, 0, "top_k (sent when non-zero)");
ABSL_FLAG(double, min_p, NAN, "min_p (sent when set)");
ABSL_FLAG(std::string, request_id_prefix, "", "x-request-id prefix (default: bench-<random>-)");

// Workload.
ABSL_FLAG(std::string, dataset_name, "random", "random | shared-prefix | sharegpt | multi-turn");
ABSL_FLAG(std::string, dataset_path, "", "ShareGPT JSON file (sharegpt; optional for multi-turn)");
ABSL_FLAG(int64_t, num_prompts, 1000, "Requests to send (conversations for multi-turn)");
ABSL_FLAG(int64_t, input_len, -1, "Sets --random-input-len");
ABSL_FLAG(int64_t, output_len, -1, "Sets --random-output-len, --gsp-output-len and --sharegpt-output-len");
ABSL_FLAG(int64_t, random_input_len, 1024, "Prompt tokens (random, multi-turn user turns)");
ABSL_FLAG(int64_t, random_output_len, 128, "Output tokens (random, multi-turn)");
ABSL_FLAG(double, random_range_ratio, 0.0, "Lengths uniform in [len*(1-r), len*(1+r)], r in [0, 1)");
ABSL_FLAG(int64_t, random_prefix_len, 0, "Tokens of a prefix shared by every random prompt");
ABSL_FLAG(int64_t, gsp_num_groups, 64, "shared-prefix: groups (distinct system prompts)");
ABSL_FLAG(int64_t, gsp_prompts_per_group, 16, "shared-prefix: prompts per group");
ABSL_FLAG(int64_t, gsp_system_prompt_len, 2048, "shared-prefix: system prompt tokens");
ABSL_FLAG(int64_t, gsp_question_len, 128, "shared-prefix: question tokens");
ABSL_FLAG(int64_t, gsp_output_len, 256, "shared-prefix: output tokens");
ABSL_FLAG(int64_t, sharegpt_output_len, -1, "sharegpt: output tokens (default: the reply's own length)");
ABSL_FLAG(int64_t, multi_turn_num_turns, 4, "multi-turn: turns per conversation (a cap for ShareGPT ones)");
ABSL_FLAG(int64_t, seed, 0, "Seed of the workload and of the arrival times");

// Load.
ABSL_FLAG(double, request_rate, INFINITY, "Requests (conversations) started per second; inf: all at once");
ABSL_FLAG(double, burstiness, 1.0, "1: Poisson arrivals; <1 burstier, >1 more even (gamma)");
ABSL_FLAG(int64_t, max_concurrency, 0, "Most requests in flight at once (0: no limit)");
ABSL_FLAG(int64_t, num_warmups, 0, "Requests sent (and not measured) before the run");
ABSL_FLAG(double, max_seconds, 0.0, "Run-time cap in seconds: stop sending, cancel what is in flight (0: none)");
ABSL_FLAG(double, request_timeout, 21600.0, "Seconds a request may take before it counts as failed");
ABSL_FLAG(int64_t, ready_check_timeout_sec, 600, "Seconds to wait for the endpoint to answer a test request (0: skip)");
ABSL_FLAG(std::string, sweep, "", "request-rate=R1,R2,... or max-concurrency=C1,C2,...: one run per value");

// Results.
ABSL_FLAG(std::vector<std::string>, goodput, {}, "SLOs in ms: ttft:MS tpot:MS e2el:MS");
ABSL_FLAG(std::string, percentile_metrics, "ttft,tpot,itl,e2el", "Metrics whose percentiles are printed");
ABSL_FLAG(std::string, metric_percentiles, "90,99", "Percentiles to report (mean and median always are)");
ABSL_FLAG(std::string, result_json, "", "Write the results here (JSON)");
ABSL_FLAG(bool, save_detailed, false, "Add per-request records to --result-json");
ABSL_FLAG(std::string, plot, "", "Write latency CDFs and throughput over time here (SVG)");
ABSL_FLAG(std::string, label, "", "A label stored in the result file");
ABSL_FLAG(std::vector<std::string>, metadata, {}, "KEY=VALUE pairs stored in the result file");
ABSL_FLAG(bool, disable_tqdm, false, "No progress line on stderr");

namespace {

using tern::bench::BenchConfig;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "tern-bench: " << message << std::endl;
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> value) {
  if (!value.ok()) Die(std::string(value.status().message()));
  return *std::move(value);
}

std::string RandomPrefix() {
  std::random_device device;
  return absl::StrFormat("bench-%08x-", device());
}

BenchConfig ConfigFromFlags() {
  BenchConfig config;
  config.base_url = absl::GetFlag(FLAGS_base_url);
  if (config.base_url.empty()) {
    config.base_url = absl::StrCat("http://", absl::GetFlag(FLAGS_host), ":", absl::GetFlag(FLAGS_port));
  }
  config.endpoint = absl::GetFlag(FLAGS_endpoint);
  const std::string served_name = absl::GetFlag(FLAGS_served_model_name);
  config.model = absl::GetFlag(FLAGS_model);
  config.tokenizer_dir = absl::GetFlag(FLAGS_tokenizer);
  if (config.tokenizer_dir.empty() && !served_name.empty()) config.tokenizer_dir = config.model;
  if (!served_name.empty()) config.model = served_name;

  std::string api_key = absl::GetFlag(FLAGS_api_key);
  if (api_key.empty() && std::getenv("OPENAI_API_KEY") != nullptr) api_key = std::getenv("OPENAI_API_KEY");
  if (!api_key.empty()) config.headers.emplace_back("Authorization", absl::StrCat("Bearer ", api_key));
  for (const std::string& header : absl::GetFlag(FLAGS_header)) {
    config.headers.push_back(OrDie(tern::bench::ParseKeyValue(header, "header")));
  }

  tern::bench::DatasetOptions& dataset = config.dataset;
  dataset.api = OrDie(tern::bench::EndpointApi(config.endpoint));
  dataset.name = absl::GetFlag(FLAGS_dataset_name);
  if (dataset.name == "generated-shared-prefix") dataset.name = "shared-prefix";  // SGLang's name.
  dataset.path = absl::GetFlag(FLAGS_dataset_path);
  dataset.num_prompts = absl::GetFlag(FLAGS_num_prompts);
  dataset.seed = static_cast<uint64_t>(absl::GetFlag(FLAGS_seed));
  dataset.random_input_len = absl::GetFlag(FLAGS_random_input_len);
  dataset.random_output_len = absl::GetFlag(FLAGS_random_output_len);
  dataset.random_range_ratio = absl::GetFlag(FLAGS_random_range_ratio);
  dataset.random_prefix_len = absl::GetFlag(FLAGS_random_prefix_len);
  dataset.gsp_num_groups = absl::GetFlag(FLAGS_gsp_num_groups);
  dataset.gsp_prompts_per_group = absl::GetFlag(FLAGS_gsp_prompts_per_group);
  dataset.gsp_system_prompt_len = absl::GetFlag(FLAGS_gsp_system_prompt_len);
  dataset.gsp_question_len = absl::GetFlag(FLAGS_gsp_question_len);
  dataset.gsp_output_len = absl::GetFlag(FLAGS_gsp_output_len);
  if (absl::GetFlag(FLAGS_sharegpt_output_len) > 0) dataset.sharegpt_output_len = absl::GetFlag(FLAGS_sharegpt_output_len);
  dataset.multi_turn_num_turns = absl::GetFlag(FLAGS_multi_turn_num_turns);
  if (absl::GetFlag(FLAGS_input_len) >= 0) dataset.random_input_len = absl::GetFlag(FLAGS_input_len);
  if (absl::GetFlag(FLAGS_output_len) >= 0) {
    dataset.random_output_len = dataset.gsp_output_len = absl::GetFlag(FLAGS_output_len);
    dataset.sharegpt_output_len = absl::GetFlag(FLAGS_output_len);
  }
  // shared-prefix sends every prompt of every group once, as SGLang does.
  if (dataset.name == "shared-prefix") dataset.num_prompts = dataset.gsp_num_groups * dataset.gsp_prompts_per_group;

  config.request_rate = absl::GetFlag(FLAGS_request_rate);
  config.burstiness = absl::GetFlag(FLAGS_burstiness);
  config.max_concurrency = absl::GetFlag(FLAGS_max_concurrency);
  config.seed = dataset.seed;
  // Generated prompts have no natural end: run every request to its length.
  const bool generated = dataset.name == "random" || dataset.name == "shared-prefix" ||
                         (dataset.name == "multi-turn" && dataset.path.empty());
  config.ignore_eos = absl::GetFlag(FLAGS_ignore_eos) || generated;
  config.num_warmups = absl::GetFlag(FLAGS_num_warmups);
  if (absl::GetFlag(FLAGS_max_seconds) > 0) config.max_duration = absl::Seconds(absl::GetFlag(FLAGS_max_seconds));
  if (absl::GetFlag(FLAGS_max_seconds) < 0) Die("--max-seconds must not be negative");
  config.request_timeout = absl::Seconds(absl::GetFlag(FLAGS_request_timeout));
  config.ready_check_timeout = absl::Seconds(absl::GetFlag(FLAGS_ready_check_timeout_sec));
  config.sweep = OrDie(tern::bench::ParseSweep(absl::GetFlag(FLAGS_sweep)));

  config.extra_body["temperature"] = absl::GetFlag(FLAGS_temperature);
  if (!std::isnan(absl::GetFlag(FLAGS_top_p))) config.extra_body["top_p"] = absl::GetFlag(FLAGS_top_p);
  if (absl::GetFlag(FLAGS_top_k) != 0) config.extra_body["top_k"] = absl::GetFlag(FLAGS_top_k);
  if (!std::isnan(absl::GetFlag(FLAGS_min_p))) config.extra_body["min_p"] = absl::GetFlag(FLAGS_min_p);
  if (const std::string extra = absl::GetFlag(FLAGS_extra_body); !extra.empty()) {
    nlohmann::json parsed = nlohmann::json::parse(extra, nullptr, false);
    if (!parsed.is_object()) Die("--extra-body must be a JSON object");
    config.extra_body.update(parsed);
  }

  config.metrics.goodput =
      OrDie(tern::bench::ParseGoodputSlo(absl::StrJoin(absl::GetFlag(FLAGS_goodput), ",")));
  config.percentile_metrics = absl::StrSplit(absl::GetFlag(FLAGS_percentile_metrics), ',', absl::SkipEmpty());
  config.metrics.percentiles.clear();
  for (absl::string_view p : absl::StrSplit(absl::GetFlag(FLAGS_metric_percentiles), ',', absl::SkipEmpty())) {
    double value = 0.0;
    if (!absl::SimpleAtod(p, &value)) Die(absl::StrCat("--metric-percentiles: '", p, "' is not a number"));
    config.metrics.percentiles.push_back(value);
  }
  config.result_json = absl::GetFlag(FLAGS_result_json);
  config.save_detailed = absl::GetFlag(FLAGS_save_detailed);
  config.plot = absl::GetFlag(FLAGS_plot);
  config.label = absl::GetFlag(FLAGS_label);
  for (const std::string& item : absl::GetFlag(FLAGS_metadata)) {
    config.metadata.push_back(OrDie(tern::bench::ParseKeyValue(item, "metadata")));
  }
  config.progress = !absl::GetFlag(FLAGS_disable_tqdm);
  config.request_id_prefix = absl::GetFlag(FLAGS_request_id_prefix);
  if (config.request_id_prefix.empty()) config.request_id_prefix = RandomPrefix();
  return config;
}

// One connection per request in flight: allow as many open files as the
// system lets this process have (the soft limit is often 1024).
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Every setting as used, for the result file (the API key left out).
nlohmann::ordered_json Settings(const BenchConfig& c) {
  const tern::bench::DatasetOptions& d = c.dataset;
  nlohmann::ordered_json s;
  s["base_url"] = c.base_url;
  s["endpoint"] = c.endpoint;
  s["model"] = c.model;
  s["tokenizer"] = c.tokenizer_dir;
  s["dataset_name"] = d.name;
  s["dataset_path"] = d.path;
  s["num_prompts"] = d.num_prompts;
  s["random_input_len"] = d.random_input_len;
  s["random_output_len"] = d.random_output_len;
  s["random_range_ratio"] = d.random_range_ratio;
  s["random_prefix_len"] = d.random_prefix_len;
  s["gsp_num_groups"] = d.gsp_num_groups;
  s["gsp_prompts_per_group"] = d.gsp_prompts_per_group;
  s["gsp_system_prompt_len"] = d.gsp_system_prompt_len;
  s["gsp_question_len"] = d.gsp_question_len;
  s["gsp_output_len"] = d.gsp_output_len;
  s["sharegpt_output_len"] = d.sharegpt_output_len ? nlohmann::ordered_json(*d.sharegpt_output_len) : nullptr;
  s["multi_turn_num_turns"] = d.multi_turn_num_turns;
  s["seed"] = c.seed;
  s["request_rate"] = std::isinf(c.request_rate) ? nlohmann::ordered_json("inf") : nlohmann::ordered_json(c.request_rate);
  s["burstiness"] = c.burstiness;
  s["max_concurrency"] = c.max_concurrency;
  s["ignore_eos"] = c.ignore_eos;
  s["num_warmups"] = c.num_warmups;
  s["max_seconds"] = c.max_duration == absl::InfiniteDuration() ? 0.0 : absl::ToDoubleSeconds(c.max_duration);
  s["request_timeout"] = absl::ToDoubleSeconds(c.request_timeout);
  s["ready_check_timeout_sec"] = absl::ToDoubleSeconds(c.ready_check_timeout);
  s["extra_body"] = c.extra_body;
  nlohmann::ordered_json goodput = nlohmann::ordered_json::object();
  if (c.metrics.goodput.ttft_ms) goodput["ttft"] = *c.metrics.goodput.ttft_ms;
  if (c.metrics.goodput.tpot_ms) goodput["tpot"] = *c.metrics.goodput.tpot_ms;
  if (c.metrics.goodput.e2el_ms) goodput["e2el"] = *c.metrics.goodput.e2el_ms;
  s["goodput"] = goodput;
  s["metric_percentiles"] = c.metrics.percentiles;
  s["sweep"] = c.sweep.empty() ? nlohmann::ordered_json(nullptr)
                               : nlohmann::ordered_json{{"parameter", c.sweep.parameter}, {"values", c.sweep.values}};
  nlohmann::ordered_json headers = nlohmann::ordered_json::array();
  for (const auto& [name, value] : c.headers) headers.push_back(name == "Authorization" ? "Authorization: (set)" : name);
  s["headers"] = headers;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tern::bench::JoinMultiValueFlags(std::vector<std::string>(argv, argv + argc), {"goodput", "header", "metadata"});
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  tern::ParseTernFlags(static_cast<int>(pointers.size()), pointers.data(),
                       "tern-bench --base-url http://HOST:PORT --model NAME_OR_DIR [--dataset-name random ...]\n"
                       "Benchmarks an OpenAI-compatible server the way `vllm bench serve` does.");
  BenchConfig config = ConfigFromFlags();
  config.settings = Settings(config);
  RaiseOpenFileLimit();
  return tern::bench::RunBenchCommand(config);
}

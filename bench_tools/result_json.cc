#include "bench_tools/result_json.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "bench_tools/report.h"

namespace tern::bench {
namespace {

using Json = nlohmann::ordered_json;

void AddLatency(Json& out, const LatencySummary& summary, const std::string& name) {
  out[absl::StrCat("mean_", name, "_ms")] = summary.mean_ms;
  out[absl::StrCat("median_", name, "_ms")] = summary.median_ms;
  out[absl::StrCat("std_", name, "_ms")] = summary.std_ms;
  for (const auto& [p, value] : summary.percentiles_ms) {
    out[absl::StrCat(PercentileName(p), "_", name, "_ms")] = value;
  }
}

const char* SourceName(TokenCountSource source) {
  switch (source) {
    case TokenCountSource::kUsage:
      return "usage";
    case TokenCountSource::kTokenizer:
      return "tokenizer";
    case TokenCountSource::kChunks:
      return "chunks";
  }
  return "?";
}

Json RequestRecord(const RequestResult& r) {
  Json record;
  record["index"] = r.index;
  record["conversation"] = r.conversation;
  record["turn"] = r.turn;
  record["success"] = r.success;
  record["cancelled"] = r.cancelled;
  record["error"] = r.error;
  record["http_status"] = r.http_status;
  record["attempts"] = r.attempts;
  record["start_s"] = r.start_s;
  record["ttft_ms"] = r.ttft_s * 1000.0;
  record["e2el_ms"] = r.e2el_s * 1000.0;
  record["tpot_ms"] = RequestTpot(r) * 1000.0;
  Json itl = Json::array();
  for (double gap : r.itl_s) itl.push_back(gap * 1000.0);
  record["itl_ms"] = std::move(itl);
  record["prompt_len"] = r.prompt_len;
  record["max_tokens"] = r.max_tokens;
  record["input_tokens"] = r.input_tokens;
  record["output_tokens"] = r.output_tokens;
  record["output_tokens_source"] = SourceName(r.output_source);
  record["num_chunks"] = r.num_chunks;
  record["usage_prompt_tokens"] = r.usage_prompt_tokens ? Json(*r.usage_prompt_tokens) : Json(nullptr);
  record["usage_completion_tokens"] = r.usage_completion_tokens ? Json(*r.usage_completion_tokens) : Json(nullptr);
  record["finish_reason"] = r.finish_reason;
  return record;
}

}  // namespace

Json BuildResultJson(const ResultContext& context, const BenchmarkMetrics& m, const RunResult& run, bool detailed) {
  Json out;
  out["date"] = context.date;
  out["endpoint_type"] = context.backend;
  out["backend"] = context.backend;
  out["label"] = context.label.empty() ? Json(nullptr) : Json(context.label);
  out["model_id"] = context.model_id;
  out["tokenizer_id"] = context.tokenizer_id;
  out["num_prompts"] = context.num_prompts;
  for (const auto& [key, value] : context.metadata) out[key] = value;
  out["request_rate"] = std::isfinite(context.request_rate) ? Json(context.request_rate) : Json("inf");
  out["burstiness"] = context.burstiness;
  out["max_concurrency"] = context.max_concurrency ? Json(*context.max_concurrency) : Json(nullptr);
  out["duration"] = m.duration_s;
  out["completed"] = m.completed;
  out["failed"] = m.failed;
  out["total_input_tokens"] = m.total_input_tokens;
  out["total_output_tokens"] = m.total_output_tokens;
  out["request_throughput"] = m.request_throughput;
  out["request_goodput"] = m.request_goodput ? Json(*m.request_goodput) : Json(nullptr);
  out["output_throughput"] = m.output_throughput;
  out["total_token_throughput"] = m.total_token_throughput;
  out["max_output_tokens_per_s"] = m.max_output_tokens_per_s;
  out["max_concurrent_requests"] = m.max_concurrent_requests;
  AddLatency(out, m.ttft, "ttft");
  AddLatency(out, m.tpot, "tpot");
  AddLatency(out, m.itl, "itl");
  AddLatency(out, m.e2el, "e2el");

  // tern-bench's additions.
  out["tool"] = "tern-bench";
  out["percentile_method"] = "numpy linear: sorted x, h = (n - 1) * p / 100, x[floor(h)] interpolated to x[floor(h) + 1]";
  out["cancelled"] = m.cancelled;
  out["not_sent"] = run.not_sent;
  out["hit_time_limit"] = run.hit_time_limit;
  out["client_peak_in_flight"] = run.peak_in_flight;
  out["client_cpu_seconds"] = run.client_cpu_s;
  out["client_cpu_share"] = m.duration_s > 0 ? run.client_cpu_s / m.duration_s : 0.0;
  out["usage_chunk_mismatches"] = m.usage_chunk_mismatches;
  out["outputs_not_max_tokens"] = m.outputs_not_max_tokens;
  int64_t retried = 0;
  for (const RequestResult& r : run.requests) retried += r.attempts > 1 ? 1 : 0;
  out["retried_requests"] = retried;
  Json reasons = Json::array();
  for (const auto& [reason, count] : m.failure_reasons) reasons.push_back({{"reason", reason}, {"count", count}});
  out["failure_reasons"] = std::move(reasons);
  out["server_version"] = context.server_version;
  out["settings"] = context.settings;

  if (detailed) {
    Json input_lens = Json::array(), output_lens = Json::array(), ttfts = Json::array(), itls = Json::array(),
         texts = Json::array(), errors = Json::array(), records = Json::array();
    for (const RequestResult& r : run.requests) {
      input_lens.push_back(r.success ? r.input_tokens : r.prompt_len);
      output_lens.push_back(r.success ? r.output_tokens : 0);
      ttfts.push_back(r.ttft_s);
      itls.push_back(r.itl_s);
      texts.push_back(r.generated_text);
      errors.push_back(r.error);
      records.push_back(RequestRecord(r));
    }
    out["input_lens"] = std::move(input_lens);
    out["output_lens"] = std::move(output_lens);
    out["ttfts"] = std::move(ttfts);
    out["itls"] = std::move(itls);
    out["generated_texts"] = std::move(texts);
    out["errors"] = std::move(errors);
    out["requests"] = std::move(records);
  }
  return out;
}

std::string CurrentDate() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y%m%d-%H%M%S", &local);
  return buffer;
}

absl::Status WriteTextFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  file << contents;
  file.close();
  if (!file) return absl::UnavailableError(absl::StrCat("writing ", path, " failed"));
  return absl::OkStatus();
}

}  // namespace tern::bench

#include "bench_tools/bench_command.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench_tools/plots.h"
#include "bench_tools/report.h"
#include "bench_tools/result_json.h"
#include "bench_tools/runner.h"
#include "bench_tools/token_counts.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace tern::bench {
namespace {

using Json = nlohmann::ordered_json;

constexpr absl::Duration kSmallRequestTimeout = absl::Seconds(10);

bool IsDirectory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

absl::StatusOr<std::string> FirstServedModel(const ServerAddress& address, const Headers& headers) {
  ASSIGN_OR_RETURN(HttpReply reply, HttpFetch(address, "GET", "/v1/models", "", headers, kSmallRequestTimeout));
  if (reply.status != 200) {
    return absl::UnavailableError(absl::StrCat("GET /v1/models: HTTP ", reply.status, "; pass --model NAME"));
  }
  Json json = Json::parse(reply.body, nullptr, false);
  if (json.is_object() && json.contains("data") && json["data"].is_array() && !json["data"].empty() &&
      json["data"][0].is_object() && json["data"][0].contains("id") && json["data"][0]["id"].is_string()) {
    return json["data"][0]["id"].get<std::string>();
  }
  return absl::UnavailableError("GET /v1/models listed no model; pass --model NAME");
}

// GET /version: the JSON the server returns (or its text), null if none.
Json ServerVersion(const ServerAddress& address, const Headers& headers) {
  absl::StatusOr<HttpReply> reply = HttpFetch(address, "GET", "/version", "", headers, kSmallRequestTimeout);
  if (!reply.ok() || reply->status != 200) return nullptr;
  Json json = Json::parse(reply->body, nullptr, false);
  return json.is_discarded() ? Json(reply->body) : json;
}

// The first turn of the first conversation, `copies` times: the request of
// the ready check and of the warm-up (as vLLM uses its first request).
Workload FirstTurnCopies(const Workload& workload, int64_t copies) {
  Conversation first;
  first.system_prompt = workload.conversations.front().system_prompt;
  first.turns.push_back(workload.conversations.front().turns.front());
  Workload out;
  out.conversations.assign(static_cast<size_t>(copies), first);
  return out;
}

struct Measured {
  RunResult run;
  BenchmarkMetrics metrics;
};

Measured Measure(boost::asio::io_context& io, HttpClient& client, const Workload& workload, const RunOptions& options,
                 const BenchConfig& config, const Tokenizer& tokenizer) {
  BenchmarkRunner runner(io, client, workload, options);
  Measured out;
  out.run = runner.Run();
  std::sort(out.run.requests.begin(), out.run.requests.end(),
            [](const RequestResult& a, const RequestResult& b) { return a.index < b.index; });
  ResolveTokenCounts(out.run.requests, &tokenizer);
  out.metrics = ComputeMetrics(out.run.requests, std::max(out.run.duration_s, 1e-9), config.metrics);
  return out;
}

absl::Status WaitForEndpoint(boost::asio::io_context& io, HttpClient& client, const Workload& workload,
                             RunOptions options, absl::Duration timeout) {
  const Workload probe = FirstTurnCopies(workload, 1);
  const absl::Time deadline = absl::Now() + timeout;
  std::string last_error;
  for (int attempt = 0;; ++attempt) {
    options.max_duration = std::max(deadline - absl::Now(), absl::Milliseconds(1));
    BenchmarkRunner runner(io, client, probe, options);
    RunResult run = runner.Run();
    if (!run.requests.empty() && run.requests[0].success) return absl::OkStatus();
    last_error = run.requests.empty() ? "not sent" : run.requests[0].cancelled ? "no answer" : run.requests[0].error;
    // A server that answers, but not with 503 (still loading), will not get
    // better by waiting: the request itself is wrong.
    const int status = run.requests.empty() ? 0 : run.requests[0].http_status;
    if (status != 0 && status != 503) {
      return absl::FailedPreconditionError(absl::StrCat("the test request failed: ", last_error));
    }
    if (attempt == 0) std::cerr << "Waiting for the endpoint (" << last_error << ")..." << std::endl;
    if (absl::Now() + absl::Seconds(1) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return absl::UnavailableError(absl::StrCat("the endpoint did not complete a test request within ",
                                             absl::FormatDuration(timeout), " (--ready-check-timeout-sec): ",
                                             last_error));
}

// "out.json" + "request-rate-4" -> "out.request-rate-4.json".
std::string PointPath(const std::string& path, const std::string& suffix) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return absl::StrCat(path, ".", suffix);
  return absl::StrCat(path.substr(0, dot), ".", suffix, path.substr(dot));
}

std::string FormatValue(double value) { return std::isinf(value) ? "inf" : absl::StrFormat("%g", value); }

struct Outputs {
  const BenchConfig& config;
  ResultContext context;
};

absl::Status WriteOutputs(const Outputs& outputs, const Measured& measured, const std::string& json_path,
                          const std::string& plot_path, const std::string& title) {
  if (!json_path.empty()) {
    Json json = BuildResultJson(outputs.context, measured.metrics, measured.run, outputs.config.save_detailed);
    RETURN_IF_ERROR(WriteTextFile(json_path, json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"));
    std::cerr << "Wrote " << json_path << std::endl;
  }
  if (!plot_path.empty()) {
    RETURN_IF_ERROR(WriteTextFile(plot_path, RunPlotSvg(measured.run, measured.metrics, title)));
    std::cerr << "Wrote " << plot_path << std::endl;
  }
  return absl::OkStatus();
}

Json SweepSummaryPoint(double value, const std::string& file, const Measured& measured, const ResultContext& context) {
  Json point = BuildResultJson(context, measured.metrics, measured.run, false);
  for (const char* key : {"settings", "server_version", "date", "endpoint_type", "backend", "label", "model_id",
                          "tokenizer_id", "tool", "percentile_method"}) {
    point.erase(key);
  }
  Json out;
  out["value"] = std::isinf(value) ? Json("inf") : Json(value);
  out["result_file"] = file;
  out.update(point);
  return out;
}

int Fail(const absl::Status& status) {
  std::cerr << "tern-bench: " << status.message() << std::endl;
  return 1;
}

}  // namespace

int RunBenchCommand(const BenchConfig& config) {
  if (absl::Status status = config.Validate(); !status.ok()) return Fail(status);
  absl::StatusOr<ServerAddress> address = ParseBaseUrl(config.base_url);
  if (!address.ok()) return Fail(address.status());

  std::string model = config.model;
  if (model.empty()) {
    absl::StatusOr<std::string> served = FirstServedModel(*address, config.headers);
    if (!served.ok()) return Fail(served.status());
    model = *served;
    std::cerr << "Using the server's model: " << model << std::endl;
  }
  std::string tokenizer_dir = config.tokenizer_dir;
  if (tokenizer_dir.empty() && IsDirectory(model)) tokenizer_dir = model;
  if (tokenizer_dir.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--tokenizer DIR is needed (a model directory with tokenizer.json): the workloads count tokens "
        "with the model's tokenizer"));
  }
  absl::StatusOr<LoadedTokenizer> tokenizer = LoadTokenizerDir(tokenizer_dir);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  absl::StatusOr<ExactTextBuilder> builder = ExactTextBuilder::Create(*tokenizer->tokenizer);
  if (!builder.ok()) return Fail(builder.status());

  std::cerr << "Building the " << config.dataset.name << " workload..." << std::endl;
  absl::StatusOr<Workload> workload = BuildWorkload(config.dataset, *builder);
  if (!workload.ok()) return Fail(workload.status());

  Outputs outputs{config, {}};
  ResultContext& context = outputs.context;
  context.date = CurrentDate();
  context.backend = config.api() == ApiKind::kChat ? "openai-chat" : "openai";
  context.label = config.label;
  context.model_id = model;
  context.tokenizer_id = tokenizer_dir;
  context.num_prompts = static_cast<int64_t>(workload->conversations.size());
  context.request_rate = config.request_rate;
  context.burstiness = config.burstiness;
  if (config.max_concurrency > 0) context.max_concurrency = config.max_concurrency;
  context.settings = config.settings;
  context.metadata = config.metadata;
  context.server_version = ServerVersion(*address, config.headers);

  boost::asio::io_context io;
  HttpClientOptions client_options;
  client_options.request_timeout = config.request_timeout;
  client_options.headers = config.headers;
  HttpClient client(io, *address, client_options);
  if (absl::Status status = client.Resolve(); !status.ok()) return Fail(status);

  RunOptions base;
  base.path = config.endpoint;
  base.body.api = config.api();
  base.body.model = model;
  base.body.ignore_eos = config.ignore_eos;
  base.body.extra = config.extra_body;
  base.burstiness = config.burstiness;
  base.seed = config.seed;

  if (config.ready_check_timeout > absl::ZeroDuration()) {
    std::cerr << "Starting initial single prompt test run..." << std::endl;
    if (absl::Status status = WaitForEndpoint(io, client, *workload, base, config.ready_check_timeout);
        !status.ok()) {
      return Fail(status);
    }
  }
  if (config.num_warmups > 0) {
    std::cerr << "Warming up with " << config.num_warmups << " requests..." << std::endl;
    RunOptions warmup = base;
    warmup.max_concurrency = config.max_concurrency;
    BenchmarkRunner(io, client, FirstTurnCopies(*workload, config.num_warmups), warmup).Run();
  }

  RunOptions main = base;
  main.request_rate = config.request_rate;
  main.max_concurrency = config.max_concurrency;
  main.max_duration = config.max_duration;
  main.request_id_prefix = config.request_id_prefix;
  main.progress = config.progress ? stderr : nullptr;
  ReportOptions report;
  report.percentile_metrics = config.percentile_metrics;
  report.ignore_eos = config.ignore_eos;

  int64_t completed = 0;
  if (config.sweep.empty()) {
    std::cerr << "Starting main benchmark run: " << workload->num_turns() << " requests, request rate "
              << FormatValue(config.request_rate) << ", max concurrency "
              << (config.max_concurrency > 0 ? absl::StrCat(config.max_concurrency) : "unlimited") << std::endl;
    Measured measured = Measure(io, client, *workload, main, config, *tokenizer->tokenizer);
    report.request_rate = config.request_rate;
    if (config.max_concurrency > 0) report.max_concurrency = config.max_concurrency;
    std::cout << FormatReport(measured.metrics, measured.run, report) << std::flush;
    if (absl::Status status = WriteOutputs(outputs, measured, config.result_json, config.plot,
                                           absl::StrCat("tern-bench: ", model, ", ", config.dataset.name));
        !status.ok()) {
      return Fail(status);
    }
    completed = measured.metrics.completed;
  } else {
    std::vector<SweepPoint> points;
    Json summary_points = Json::array();
    for (double value : config.sweep.values) {
      RunOptions point = main;
      ResultContext point_context = context;
      const bool rate = config.sweep.parameter == "request-rate";
      if (rate) {
        point.request_rate = point_context.request_rate = value;
      } else {
        point.max_concurrency = static_cast<int64_t>(value);
        point_context.max_concurrency = point.max_concurrency;
      }
      const std::string suffix = absl::StrCat(config.sweep.parameter, "-", FormatValue(value));
      std::cerr << "Sweep point " << suffix << std::endl;
      Measured measured = Measure(io, client, *workload, point, config, *tokenizer->tokenizer);
      report.request_rate = point.request_rate;
      report.max_concurrency = point.max_concurrency > 0 ? std::optional<int64_t>(point.max_concurrency) : std::nullopt;
      report.title = absl::StrCat("Serving Benchmark Result (", suffix, ")");
      std::cout << FormatReport(measured.metrics, measured.run, report) << std::flush;
      const std::string json_path = config.result_json.empty() ? "" : PointPath(config.result_json, suffix);
      const std::string plot_path = config.plot.empty() ? "" : PointPath(config.plot, suffix);
      Outputs point_outputs{config, point_context};
      if (absl::Status status = WriteOutputs(point_outputs, measured, json_path, plot_path,
                                             absl::StrCat("tern-bench: ", model, ", ", suffix));
          !status.ok()) {
        return Fail(status);
      }
      summary_points.push_back(SweepSummaryPoint(value, json_path, measured, point_context));
      points.push_back({rate ? absl::StrCat(FormatValue(value), " req/s") : absl::StrCat("c=", FormatValue(value)),
                        measured.metrics});
      completed += measured.metrics.completed;
    }
    if (!config.result_json.empty()) {
      Json summary;
      summary["date"] = context.date;
      summary["tool"] = "tern-bench";
      summary["model_id"] = model;
      summary["sweep"] = {{"parameter", config.sweep.parameter}, {"points", std::move(summary_points)}};
      summary["server_version"] = context.server_version;
      summary["settings"] = config.settings;
      if (absl::Status status = WriteTextFile(config.result_json, summary.dump(2) + "\n"); !status.ok()) {
        return Fail(status);
      }
      std::cerr << "Wrote " << config.result_json << std::endl;
    }
    if (!config.plot.empty()) {
      if (absl::Status status = WriteTextFile(
              config.plot, SweepPlotSvg(points, absl::StrCat("tern-bench sweep over ", config.sweep.parameter, ": ",
                                                             model)));
          !status.ok()) {
        return Fail(status);
      }
      std::cerr << "Wrote " << config.plot << std::endl;
    }
  }
  if (completed == 0) {
    std::cerr << "tern-bench: no request succeeded (see the failure reasons above)" << std::endl;
    return 3;
  }
  return 0;
}

}  // namespace tern::bench

#include "bench_tools/bench_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace tern::bench {

absl::StatusOr<SweepSpec> ParseSweep(absl::string_view text) {
  SweepSpec sweep;
  if (text.empty()) return sweep;
  const std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits('=', 1));
  sweep.parameter = absl::StrReplaceAll(parts.first, {{"_", "-"}});
  if (sweep.parameter != "request-rate" && sweep.parameter != "max-concurrency") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--sweep '", text, "': sweep request-rate=R1,R2,... or max-concurrency=C1,C2,..."));
  }
  for (absl::string_view item : absl::StrSplit(parts.second, ',', absl::SkipEmpty())) {
    double value = 0.0;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(item), &value) || !(value > 0)) {
      return absl::InvalidArgumentError(absl::StrCat("--sweep: '", item, "' is not a positive number"));
    }
    if (sweep.parameter == "max-concurrency" && (std::isinf(value) || value != std::floor(value))) {
      return absl::InvalidArgumentError(absl::StrCat("--sweep: max-concurrency '", item, "' is not an integer"));
    }
    sweep.values.push_back(value);
  }
  if (sweep.values.empty()) return absl::InvalidArgumentError(absl::StrCat("--sweep '", text, "': no values"));
  return sweep;
}

absl::StatusOr<ApiKind> EndpointApi(absl::string_view endpoint) {
  const bool printable = std::all_of(endpoint.begin(), endpoint.end(),
                                     [](char c) { return c > ' ' && c != 0x7f; });
  if (!absl::StartsWith(endpoint, "/") || !printable) {
    return absl::InvalidArgumentError(absl::StrCat("--endpoint '", endpoint, "' must be a path such as /v1/completions"));
  }
  if (absl::EndsWith(endpoint, "/chat/completions")) return ApiKind::kChat;
  if (absl::EndsWith(endpoint, "/completions")) return ApiKind::kCompletions;
  return absl::InvalidArgumentError(absl::StrCat(
      "--endpoint '", endpoint, "': tern-bench drives /v1/completions or /v1/chat/completions"));
}

absl::StatusOr<std::pair<std::string, std::string>> ParseKeyValue(absl::string_view text, absl::string_view flag) {
  const size_t equals = text.find('=');
  if (equals == absl::string_view::npos || equals == 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", text, "' is not KEY=VALUE"));
  }
  std::string key(absl::StripAsciiWhitespace(text.substr(0, equals)));
  std::string value(absl::StripAsciiWhitespace(text.substr(equals + 1)));
  if (absl::StrContains(key, "\r") || absl::StrContains(key, "\n") || absl::StrContains(value, "\r") ||
      absl::StrContains(value, "\n")) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": line breaks are not allowed"));
  }
  return std::make_pair(std::move(key), std::move(value));
}

std::vector<std::string> JoinMultiValueFlags(const std::vector<std::string>& args,
                                             const std::vector<std::string>& names) {
  auto flag_name = [](absl::string_view arg) {
    absl::string_view name = arg.substr(0, arg.find('='));
    if (!absl::ConsumePrefix(&name, "--") && !absl::ConsumePrefix(&name, "-")) return std::string();
    return absl::StrReplaceAll(name, {{"_", "-"}});
  };
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string name = i == 0 ? "" : flag_name(args[i]);
    if (name.empty() || std::find(names.begin(), names.end(), name) == names.end()) {
      out.push_back(args[i]);
      continue;
    }
    std::vector<std::string> values;
    const size_t equals = args[i].find('=');
    if (equals != std::string::npos) values.push_back(args[i].substr(equals + 1));
    while (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "-")) values.push_back(args[++i]);
    out.push_back(absl::StrCat("--", name, "=", absl::StrJoin(values, ",")));
  }
  return out;
}

ApiKind BenchConfig::api() const { return dataset.api; }

absl::Status BenchConfig::Validate() const {
  if (!(request_rate > 0)) return absl::InvalidArgumentError("--request-rate must be positive (or inf)");
  if (!(burstiness > 0) || std::isinf(burstiness)) {
    return absl::InvalidArgumentError("--burstiness must be a positive number");
  }
  if (max_concurrency < 0) return absl::InvalidArgumentError("--max-concurrency must not be negative");
  if (num_warmups < 0) return absl::InvalidArgumentError("--num-warmups must not be negative");
  // Timers take deadlines as nanoseconds from now: keep them far from overflow.
  const absl::Duration longest = absl::Hours(24 * 365);
  if (max_duration <= absl::ZeroDuration() || (max_duration != absl::InfiniteDuration() && max_duration > longest)) {
    return absl::InvalidArgumentError("--max-seconds must be positive and at most a year");
  }
  if (request_timeout <= absl::ZeroDuration() || request_timeout > longest) {
    return absl::InvalidArgumentError("--request-timeout must be positive and at most a year");
  }
  if (ready_check_timeout < absl::ZeroDuration() || ready_check_timeout > longest) {
    return absl::InvalidArgumentError("--ready-check-timeout-sec must be between 0 and a year");
  }
  for (double p : metrics.percentiles) {
    if (!(p >= 0 && p <= 100)) {
      return absl::InvalidArgumentError(absl::StrCat("--metric-percentiles: ", p, " is not in [0, 100]"));
    }
  }
  for (const std::string& metric : percentile_metrics) {
    if (metric != "ttft" && metric != "tpot" && metric != "itl" && metric != "e2el") {
      return absl::InvalidArgumentError(absl::StrCat("--percentile-metrics: unknown metric '", metric,
                                                     "'; allowed: ttft, tpot, itl, e2el"));
    }
  }
  if (!extra_body.is_object()) return absl::InvalidArgumentError("--extra-body must be a JSON object");
  return dataset.Validate();
}

}  // namespace tern::bench

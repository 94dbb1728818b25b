#include "tests/testing/prometheus_text.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/http_call.h"

namespace tern::testing {

std::string ScrapeMetrics(int port) { return HttpCall("GET", absl::StrCat("http://127.0.0.1:", port, "/metrics")).body; }

double SumOfSamples(const std::string& text, const std::string& prefix) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, prefix)) continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) sum += value;
  }
  return sum;
}

}  // namespace tern::testing

#include "tests/testing/http_call.h"

#include "absl/strings/numbers.h"
#include "tests/testing/test_data.h"

namespace tern::testing {

HttpResult HttpCall(const std::string& method, const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers) {
  // Headers, a marker, the body, then the status on the last line.
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-N", "-D", "-", "-X", method, "--max-time", "120",
                                   "-w", "\n%{http_code}", "-H", "Expect:"};
  for (const std::string& h : headers) {
    argv.push_back("-H");
    argv.push_back(h);
  }
  if (!body.empty()) {
    argv.push_back("--data-binary");
    argv.push_back("@-");
  }
  argv.push_back(url);
  CommandResult run = RunCommand(argv, body);
  HttpResult result;
  result.error = run.err;
  const size_t status_at = run.out.rfind('\n');
  if (status_at == std::string::npos) return result;
  int status = 0;
  if (!absl::SimpleAtoi(run.out.substr(status_at + 1), &status)) return result;
  result.status = status;
  const std::string response = run.out.substr(0, status_at);
  const size_t split = response.find("\r\n\r\n");
  result.headers = response.substr(0, split);
  if (split != std::string::npos) result.body = response.substr(split + 4);
  return result;
}

}  // namespace tern::testing

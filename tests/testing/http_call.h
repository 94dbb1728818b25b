// HTTP requests from tests through curl (a client the project did not
// write): status, response headers and body.
#ifndef TERN_TESTS_TESTING_HTTP_CALL_H_
#define TERN_TESTS_TESTING_HTTP_CALL_H_

#include <string>
#include <vector>

namespace tern::testing {

struct HttpResult {
  int status = 0;       // 0 if curl failed.
  std::string headers;  // The raw header block, names as sent.
  std::string body;
  std::string error;    // curl's stderr.
};

// `method` `url` with `body` (sent as is) and extra "Name: value" headers.
HttpResult HttpCall(const std::string& method, const std::string& url, const std::string& body = "",
                    const std::vector<std::string>& headers = {});

// A POST of a JSON body.
inline HttpResult PostJson(const std::string& url, const std::string& body,
                           std::vector<std::string> headers = {}) {
  headers.push_back("Content-Type: application/json");
  return HttpCall("POST", url, body, headers);
}

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_HTTP_CALL_H_

// An asynchronous HTTP/1.1 client for streamed responses: many exchanges at
// once on one I/O thread, over a pool of keep-alive connections (a new
// connection only when no idle one is left). Each response is handed to its
// handler as it arrives, stamped with the monotonic time at which the read
// that brought the bytes completed, so latencies are measured where the bytes
// land, not where they are later processed.
//
//   HttpClient client(io, address, options);
//   RETURN_IF_ERROR(client.Resolve());
//   client.Send("POST", "/v1/completions", body, {}, handler);
//   io.run();
//
// Plain http only (put a TLS-terminating proxy in front of an https server).
//
// Thread safety: Send and CancelAll must run on the thread that runs `io`
// (or before it runs); handlers are called there.
#ifndef TERN_BENCH_TOOLS_HTTP_CLIENT_H_
#define TERN_BENCH_TOOLS_HTTP_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::bench {

using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Where the server is: from a base URL such as "http://127.0.0.1:8000" or
// "http://host/prefix" (port 80 when none is given).
struct ServerAddress {
  std::string host;
  int port = 80;
  std::string base_path;  // "" or "/prefix", prepended to every request path.
};
// Errors: not http://, or a malformed host or port (https is refused with
// a hint).
absl::StatusOr<ServerAddress> ParseBaseUrl(absl::string_view url);

// Receives one response. Every call comes on the I/O thread.
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  // The status line and headers arrived (read at `at`).
  virtual void OnStatus(int status, Clock::time_point at) = 0;
  // Body bytes, de-chunked, from the read that completed at `at`.
  virtual void OnBody(absl::string_view bytes, Clock::time_point at) = 0;
  // The exchange is over: OK once the whole response arrived, otherwise why
  // it did not (UNAVAILABLE: connection trouble; DEADLINE_EXCEEDED: the
  // request timeout; CANCELLED: CancelAll). Called exactly once, last.
  virtual void OnEnd(const absl::Status& status, Clock::time_point at) = 0;
  // The request is being sent again on a new connection: the pooled
  // connection it went out on had been closed by the server before any byte
  // of the response came back. Happens at most once per request.
  virtual void OnRetry() {}
};

struct HttpClientOptions {
  absl::Duration request_timeout = absl::Hours(6);  // Per exchange, connect to last byte.
  Headers headers;                                  // Sent with every request.
};

class HttpClient {
 public:
  // REQUIRES: `io` outlives the client.
  HttpClient(boost::asio::io_context& io, ServerAddress address, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Resolves the host name (blocking; once, before the first Send).
  absl::Status Resolve();

  // Starts one exchange: `method` on base_path + `path` with `body` (sent as
  // application/json when not empty) and `headers` on top of the client's.
  void Send(absl::string_view method, absl::string_view path, std::string body, const Headers& headers,
            std::shared_ptr<ResponseHandler> handler);

  // Ends every exchange in progress (their handlers get CANCELLED) and closes
  // every connection.
  void CancelAll();

  int64_t num_connections_opened() const;
  int64_t num_exchanges_in_progress() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// A whole response: for small requests such as GET /version.
struct HttpReply {
  int status = 0;
  std::string body;
};
// Runs one exchange on a private I/O context, blocking. Errors as OnEnd's.
absl::StatusOr<HttpReply> HttpFetch(const ServerAddress& address, absl::string_view method,
                                    absl::string_view path, std::string body, const Headers& headers,
                                    absl::Duration timeout);

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_HTTP_CLIENT_H_

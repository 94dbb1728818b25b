// An asynchronous HTTP/1.1 server (Boost.Beast; a few I/O threads, no thread
// per connection) for request/response endpoints and streamed responses
// (chunked transfer, e.g. server-sent events).
//
//   HttpServer::Start(options, [](HttpRequest request, std::shared_ptr<HttpResponder> out) {
//     if (request.path() == "/health") return out->Send(200, "text/plain", "ok\n");
//     out->StartStream(200, "text/event-stream");
//     out->Write("data: hello\n\n");
//     out->End();
//   });
//
// Limits: request bodies over max_body_bytes get 413, header blocks over
// max_header_bytes 431; a connection idle for idle_timeout is closed.
#ifndef TERN_COMMON_HTTP_SERVER_H_
#define TERN_COMMON_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/v1/models?x=1"
  HttpHeaders headers;  // Names lowercased.
  std::string body;

  absl::string_view path() const;  // The target without its query.
  // The value of header `name` (lowercase), or nullptr.
  const std::string* Header(absl::string_view name) const;
};

// The response side of one request. Thread safety: every method may be called
// from any thread; calls are applied in order. Exactly one of Send or
// StartStream ... End completes a response.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  // A complete response with a Content-Length body.
  virtual void Send(int status, std::string content_type, std::string body, HttpHeaders extra = {}) = 0;
  // A chunked response: status and headers now, the body in Write calls.
  virtual void StartStream(int status, std::string content_type, HttpHeaders extra = {}) = 0;
  virtual void Write(std::string chunk) = 0;
  virtual void End() = 0;
  // `callback` runs once (on an I/O thread) if the client goes away before
  // the response is complete; immediately if it already has.
  virtual void OnDisconnect(std::function<void()> callback) = 0;
};

// Runs on an I/O thread: must not block. Long work goes elsewhere, replying
// later through the responder.
using HttpHandler = std::function<void(HttpRequest request, std::shared_ptr<HttpResponder> responder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port.
  int io_threads = 1;
  size_t max_body_bytes = size_t{16} << 20;
  size_t max_header_bytes = size_t{64} << 10;
  absl::Duration idle_timeout = absl::Seconds(75);
};

class HttpServer {
 public:
  // Errors: the address is invalid or cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);
  // Stops accepting, closes connections and joins the I/O threads.
  ~HttpServer();

  int port() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern

#endif  // TERN_COMMON_HTTP_SERVER_H_

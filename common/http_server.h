// A small asynchronous HTTP/1.1 server (Boost.Beast on one I/O thread, no
// thread per connection) for simple request/response endpoints such as
// /metrics and /health. Requests over 1 MiB or idle for 30 s are dropped.
#ifndef TERN_COMMON_HTTP_SERVER_H_
#define TERN_COMMON_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tern {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on the server's I/O thread with the method and target ("/metrics");
// must not block for long.
using HttpHandler = std::function<HttpResponse(const std::string& method, const std::string& target)>;

class HttpServer {
 public:
  // Listens on host:port (port 0: any free port). Errors: the address is
  // invalid or cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& host, int port,
                                                           HttpHandler handler);
  // Stops accepting, closes connections and joins the I/O thread.
  ~HttpServer();

  int port() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern

#endif  // TERN_COMMON_HTTP_SERVER_H_

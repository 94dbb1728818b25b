#include "bench_tools/http_client.h"

#include <limits>
#include <optional>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tern::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kReadSize = 64 * 1024;

}  // namespace

class Connection;

// A Beast body type that forwards body bytes, de-chunked, to the connection
// as the parser produces them, for every transfer coding (chunked,
// Content-Length, or until the connection closes), and stores nothing.
struct ForwardingBody {
  using value_type = Connection*;
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& connection) : connection_(connection) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec);
    template <class Buffers>
    std::size_t put(const Buffers& buffers, beast::error_code& ec);
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    // A reference: the parser builds its reader before the connection stores
    // itself in the message's body.
    value_type& connection_;
  };
};

struct HttpClient::Impl {
  Impl(asio::io_context& io, ServerAddress address, HttpClientOptions options)
      : io(io), address(std::move(address)), options(std::move(options)) {}

  std::string FormatRequest(absl::string_view method, absl::string_view path, const std::string& body,
                            const Headers& headers) const;
  void Start(std::shared_ptr<Impl> self, std::string request, std::shared_ptr<ResponseHandler> handler,
             bool fresh, bool retry);

  asio::io_context& io;
  ServerAddress address;
  HttpClientOptions options;
  tcp::resolver::results_type endpoints;
  std::vector<std::shared_ptr<Connection>> idle;
  absl::flat_hash_map<Connection*, std::shared_ptr<Connection>> active;
  int64_t num_opened = 0;
};

// One TCP connection, carrying one exchange at a time.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(std::shared_ptr<HttpClient::Impl> impl)
      : impl_(std::move(impl)), socket_(impl_->io), timer_(impl_->io) {}

  void Start(std::string request, std::shared_ptr<ResponseHandler> handler, bool retry) {
    request_ = std::move(request);
    handler_ = std::move(handler);
    ++exchange_;
    retry_ = retry;
    got_response_bytes_ = status_reported_ = timed_out_ = false;
    buffer_.consume(buffer_.size());
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_->get().body() = this;
    timer_.expires_after(absl::ToChronoNanoseconds(impl_->options.request_timeout));
    timer_.async_wait([self = shared_from_this(), id = exchange_](const beast::error_code& error) {
      if (error || id != self->exchange_ || !self->handler_) return;
      self->timed_out_ = true;
      self->CloseSocket();
    });
    if (socket_.is_open()) {
      reused_ = true;
      Write();
    } else {
      reused_ = false;
      Connect();
    }
  }

  // Ends the exchange in progress with CANCELLED; closes the socket.
  void Cancel() {
    CloseSocket();
    if (!handler_) return;
    std::shared_ptr<ResponseHandler> handler = std::move(handler_);
    handler_ = nullptr;
    timer_.cancel();
    handler->OnEnd(absl::CancelledError("cancelled"), Clock::now());
  }

  void CloseSocket() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  // From the body reader, inside parser_->put().
  void ReportStatus() {
    if (status_reported_ || !handler_ || !parser_->is_header_done()) return;
    status_reported_ = true;
    handler_->OnStatus(parser_->get().result_int(), read_time_);
  }
  void DeliverBody(absl::string_view bytes) {
    ReportStatus();
    if (handler_) handler_->OnBody(bytes, read_time_);
  }

 private:
  void Connect() {
    ++impl_->num_opened;
    asio::async_connect(socket_, impl_->endpoints,
                        [self = shared_from_this()](const beast::error_code& error, const tcp::endpoint&) {
                          if (!self->handler_) return;
                          if (error) {
                            return self->Fail(self->ErrorStatus(absl::StrCat(
                                                  "cannot connect to ", self->impl_->address.host, ":",
                                                  self->impl_->address.port),
                                              error),
                                              false);
                          }
                          beast::error_code ignored;
                          self->socket_.set_option(tcp::no_delay(true), ignored);
                          self->Write();
                        });
  }

  void Write() {
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](const beast::error_code& error, size_t) {
                        if (!self->handler_) return;
                        if (error) {
                          return self->Fail(self->ErrorStatus("sending the request failed", error), self->reused_);
                        }
                        self->Read();
                      });
  }

  void Read() {
    socket_.async_read_some(buffer_.prepare(kReadSize),
                            [self = shared_from_this()](const beast::error_code& error, size_t n) {
                              self->OnRead(error, n);
                            });
  }

  void OnRead(const beast::error_code& error, size_t n) {
    if (!handler_) return;
    read_time_ = Clock::now();
    if (error == asio::error::eof) {
      if (!got_response_bytes_) {
        return Fail(absl::UnavailableError("the server closed the connection without responding"), reused_);
      }
      beast::error_code parse_error;
      parser_->put_eof(parse_error);
      if (parse_error || !parser_->is_done()) {
        return Fail(absl::UnavailableError("the server closed the connection before the response ended"), false);
      }
      return Succeed(false);
    }
    if (error) {
      const bool nothing_yet = !got_response_bytes_ && !timed_out_;
      return Fail(ErrorStatus("receiving the response failed", error), reused_ && nothing_yet);
    }
    got_response_bytes_ = got_response_bytes_ || n > 0;
    buffer_.commit(n);
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code parse_error;
      const size_t used = parser_->put(buffer_.data(), parse_error);
      buffer_.consume(used);
      if (!handler_) return;
      if (parse_error == http::error::need_more) break;
      if (parse_error) return Fail(absl::InternalError(absl::StrCat("malformed HTTP response: ", parse_error.message())), false);
      if (used == 0) break;
    }
    ReportStatus();
    if (parser_->is_done()) return Succeed(parser_->keep_alive());
    Read();
  }

  absl::Status ErrorStatus(absl::string_view what, const beast::error_code& error) const {
    if (timed_out_) {
      return absl::DeadlineExceededError(absl::StrCat("no complete response within ",
                                                      absl::FormatDuration(impl_->options.request_timeout),
                                                      " (--request-timeout)"));
    }
    return absl::UnavailableError(absl::StrCat(what, ": ", error.message()));
  }

  void Fail(const absl::Status& status, bool retryable) {
    std::shared_ptr<ResponseHandler> handler = std::move(handler_);
    handler_ = nullptr;
    timer_.cancel();
    CloseSocket();
    std::shared_ptr<HttpClient::Impl> impl = impl_;
    impl->active.erase(this);  // May destroy *this once the callers' copies go.
    if (retryable && !retry_) {
      handler->OnRetry();
      impl->Start(impl, std::move(request_), std::move(handler), /*fresh=*/true, /*retry=*/true);
      return;
    }
    handler->OnEnd(status, Clock::now());
  }

  void Succeed(bool keep_alive) {
    std::shared_ptr<ResponseHandler> handler = std::move(handler_);
    handler_ = nullptr;
    timer_.cancel();
    std::shared_ptr<HttpClient::Impl> impl = impl_;
    auto it = impl->active.find(this);
    if (it != impl->active.end()) {
      if (keep_alive) {
        impl->idle.push_back(std::move(it->second));
      } else {
        CloseSocket();
      }
      impl->active.erase(it);
    }
    // After the connection is back in the pool: the handler may send again.
    handler->OnEnd(absl::OkStatus(), read_time_);
  }

  std::shared_ptr<HttpClient::Impl> impl_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<ForwardingBody>> parser_;
  std::string request_;
  std::shared_ptr<ResponseHandler> handler_;  // Null between exchanges.
  uint64_t exchange_ = 0;
  Clock::time_point read_time_;
  bool reused_ = false;
  bool retry_ = false;
  bool got_response_bytes_ = false;
  bool status_reported_ = false;
  bool timed_out_ = false;
};

void ForwardingBody::reader::init(const boost::optional<std::uint64_t>&, beast::error_code& ec) {
  ec = {};
  connection_->ReportStatus();
}

template <class Buffers>
std::size_t ForwardingBody::reader::put(const Buffers& buffers, beast::error_code& ec) {
  ec = {};
  size_t n = 0;
  for (const auto& buffer : beast::buffers_range_ref(buffers)) {
    connection_->DeliverBody(absl::string_view(static_cast<const char*>(buffer.data()), buffer.size()));
    n += buffer.size();
  }
  return n;
}

std::string HttpClient::Impl::FormatRequest(absl::string_view method, absl::string_view path,
                                            const std::string& body, const Headers& headers) const {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  std::string request = absl::StrCat(method, " ", address.base_path, path, " HTTP/1.1\r\nHost: ",
                                     ipv6 ? "[" : "", address.host, ipv6 ? "]" : "", ":", address.port,
                                     "\r\nUser-Agent: tern-bench\r\nAccept: */*\r\n");
  if (!body.empty() || method == "POST") {
    absl::StrAppend(&request, "Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n");
  }
  for (const Headers* list : {&options.headers, &headers}) {
    for (const auto& [name, value] : *list) absl::StrAppend(&request, name, ": ", value, "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);
  return request;
}

void HttpClient::Impl::Start(std::shared_ptr<Impl> self, std::string request,
                             std::shared_ptr<ResponseHandler> handler, bool fresh, bool retry) {
  std::shared_ptr<Connection> connection;
  if (!fresh && !idle.empty()) {
    connection = std::move(idle.back());
    idle.pop_back();
  } else {
    connection = std::make_shared<Connection>(std::move(self));
  }
  active.emplace(connection.get(), connection);
  connection->Start(std::move(request), std::move(handler), retry);
}

absl::StatusOr<ServerAddress> ParseBaseUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (absl::StartsWith(rest, "https://")) {
    return absl::UnimplementedError(absl::StrCat(
        "--base-url ", url, ": https is not supported; benchmark the server over http (or through a local "
        "TLS-terminating proxy)"));
  }
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat("--base-url ", url, ": expected http://HOST[:PORT][/PATH]"));
  }
  ServerAddress address;
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    address.base_path = std::string(absl::StripSuffix(rest.substr(slash), "/"));
  }
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("--base-url ", url, ": unterminated IPv6 address"));
    }
    address.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) {
      return absl::InvalidArgumentError(absl::StrCat("--base-url ", url, ": expected ':' after ']'"));
    }
    port = after;
  } else {
    const size_t colon = authority.rfind(':');
    address.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port = authority.substr(colon + 1);
  }
  if (address.host.empty()) return absl::InvalidArgumentError(absl::StrCat("--base-url ", url, ": no host"));
  if (!port.empty() && (!absl::SimpleAtoi(port, &address.port) || address.port <= 0 || address.port > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat("--base-url ", url, ": bad port '", port, "'"));
  }
  return address;
}

HttpClient::HttpClient(asio::io_context& io, ServerAddress address, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(address), std::move(options))) {}

HttpClient::~HttpClient() { CancelAll(); }

absl::Status HttpClient::Resolve() {
  tcp::resolver resolver(impl_->io);
  beast::error_code error;
  impl_->endpoints = resolver.resolve(impl_->address.host, std::to_string(impl_->address.port), error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot resolve '", impl_->address.host, "': ", error.message()));
  }
  return absl::OkStatus();
}

void HttpClient::Send(absl::string_view method, absl::string_view path, std::string body, const Headers& headers,
                      std::shared_ptr<ResponseHandler> handler) {
  impl_->Start(impl_, impl_->FormatRequest(method, path, body, headers), std::move(handler), /*fresh=*/false,
               /*retry=*/false);
}

void HttpClient::CancelAll() {
  auto active = std::move(impl_->active);
  impl_->active.clear();
  for (auto& [raw, connection] : active) connection->Cancel();
  for (auto& connection : impl_->idle) connection->CloseSocket();
  impl_->idle.clear();
}

int64_t HttpClient::num_connections_opened() const { return impl_->num_opened; }
int64_t HttpClient::num_exchanges_in_progress() const { return static_cast<int64_t>(impl_->active.size()); }

namespace {

class CollectingHandler : public ResponseHandler {
 public:
  void OnStatus(int status, Clock::time_point) override { reply.status = status; }
  void OnBody(absl::string_view bytes, Clock::time_point) override { reply.body.append(bytes.data(), bytes.size()); }
  void OnEnd(const absl::Status& status, Clock::time_point) override { end = status; }

  HttpReply reply;
  absl::Status end = absl::UnknownError("no response");
};

}  // namespace

absl::StatusOr<HttpReply> HttpFetch(const ServerAddress& address, absl::string_view method,
                                    absl::string_view path, std::string body, const Headers& headers,
                                    absl::Duration timeout) {
  asio::io_context io;
  HttpClientOptions options;
  options.request_timeout = timeout;
  HttpClient client(io, address, options);
  if (absl::Status status = client.Resolve(); !status.ok()) return status;
  auto handler = std::make_shared<CollectingHandler>();
  client.Send(method, path, std::move(body), headers, handler);
  io.run();
  if (!handler->end.ok()) return handler->end;
  return std::move(handler->reply);
}

}  // namespace tern::bench

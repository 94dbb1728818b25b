#include "common/http_server.h"

#include <deque>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tern {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string Reason(int status) {
  const beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  return std::string(reason.data(), reason.size());
}

std::string Head(int status, bool keep_alive, absl::string_view content_type, const HttpHeaders& extra,
                 absl::string_view length_header) {
  std::string head = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\n");
  if (!content_type.empty()) absl::StrAppend(&head, "Content-Type: ", content_type, "\r\n");
  absl::StrAppend(&head, length_header, "\r\n");
  for (const auto& [name, value] : extra) absl::StrAppend(&head, name, ": ", value, "\r\n");
  absl::StrAppend(&head, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n", "\r\n");
  return head;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& options, const HttpHandler& handler)
      : stream_(std::move(socket)), strand_(asio::make_strand(stream_.get_executor())),
        options_(options), handler_(handler) {}

  void Start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->Read(); });
  }

  // Responder operations, posted onto the strand.
  void Post(std::function<void(Session&)> op) {
    asio::post(strand_, [self = shared_from_this(), op = std::move(op)] { op(*self); });
  }
  void SendResponse(int status, std::string content_type, std::string body, HttpHeaders extra) {
    if (response_started_ || closed_) return;
    response_started_ = true;
    Enqueue(Head(status, keep_alive_, content_type, extra, absl::StrCat("Content-Length: ", body.size())) + body);
    Complete();
  }
  void StartStream(int status, std::string content_type, HttpHeaders extra) {
    if (response_started_ || closed_) return;
    response_started_ = streaming_ = true;
    Enqueue(Head(status, keep_alive_, content_type, extra, "Transfer-Encoding: chunked"));
  }
  void WriteChunk(std::string chunk) {
    if (!streaming_ || complete_ || closed_ || chunk.empty()) return;
    Enqueue(absl::StrCat(absl::Hex(chunk.size()), "\r\n", chunk, "\r\n"));
  }
  void EndStream() {
    if (!streaming_ || complete_ || closed_) return;
    Enqueue("0\r\n\r\n");
    Complete();
  }
  void AddDisconnectCallback(std::function<void()> callback) {
    if (disconnected_) {
      callback();
    } else {
      on_disconnect_.push_back(std::move(callback));
    }
  }

 private:
  void Read() {
    response_started_ = streaming_ = complete_ = false;
    on_disconnect_.clear();
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    stream_.expires_after(absl::ToChronoSeconds(options_.idle_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     asio::bind_executor(strand_, [self = shared_from_this()](beast::error_code error, size_t) {
                       self->OnRead(error);
                     }));
  }

  void OnRead(beast::error_code error) {
    if (error) {
      if (error == http::error::body_limit) return Reject(413, "the request body is too large");
      if (error == http::error::header_limit) return Reject(431, "the request headers are too large");
      if (error == http::error::bad_target || error == http::error::bad_method ||
          error == http::error::bad_version || error == http::error::bad_field ||
          error == http::error::bad_value) {
        return Reject(400, "malformed HTTP request");
      }
      return Close();
    }
    stream_.expires_never();  // A response may stream for a long time.
    http::request<http::string_body> message = parser_->release();
    keep_alive_ = message.keep_alive();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                   std::string(field.value()));
    }
    request.body = std::move(message.body());
    WatchForDisconnect();
    handler_(std::move(request), MakeResponder());
  }

  std::shared_ptr<HttpResponder> MakeResponder();

  // Keeps a read pending while the response is produced: it completes with
  // an error when the client goes away.
  void WatchForDisconnect() {
    watching_ = true;
    stream_.async_read_some(
        buffer_.prepare(4096),
        asio::bind_executor(strand_, [self = shared_from_this()](beast::error_code error, size_t n) {
          self->watching_ = false;
          if (!error) {
            self->buffer_.commit(n);  // Pipelined bytes of a next request: keep them.
            if (self->complete_ && self->queue_.empty() && !self->writing_) self->AfterResponse();
            return;
          }
          if (self->complete_ && error == asio::error::operation_aborted) {
            self->AfterResponse();  // Cancelled on purpose, to read the next request.
            return;
          }
          self->Disconnected();
        }));
  }

  void Disconnected() {
    if (disconnected_) return;
    disconnected_ = true;
    std::vector<std::function<void()>> callbacks;
    callbacks.swap(on_disconnect_);
    for (auto& callback : callbacks) callback();
    Close();
  }

  void Enqueue(std::string bytes) {
    queue_.push_back(std::move(bytes));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (queue_.empty() || closed_) return;
    // Everything queued goes in one write.
    writing_buffer_.clear();
    for (std::string& bytes : queue_) writing_buffer_ += bytes;
    queue_.clear();
    writing_ = true;
    asio::async_write(stream_, asio::buffer(writing_buffer_),
                      asio::bind_executor(strand_, [self = shared_from_this()](beast::error_code error, size_t) {
                        self->writing_ = false;
                        if (error) return self->Disconnected();
                        if (!self->queue_.empty()) return self->WriteNext();
                        if (self->complete_) self->FinishResponse();
                      }));
  }

  void Complete() {
    complete_ = true;
    if (!writing_ && queue_.empty()) FinishResponse();
  }

  // The response is written: read the next request (or close).
  void FinishResponse() {
    if (!keep_alive_) return Close();
    if (watching_) {
      beast::error_code ignored;
      stream_.socket().cancel(ignored);  // The watch read ends, then AfterResponse.
      return;
    }
    AfterResponse();
  }

  void AfterResponse() {
    if (closed_ || disconnected_) return;
    if (!keep_alive_) return Close();
    Read();
  }

  void Reject(int status, absl::string_view message) {
    keep_alive_ = false;
    response_started_ = true;
    const std::string body = absl::StrCat(R"({"error": {"message": ")", message,
                                          R"(", "type": "BadRequestError", "param": null, "code": )", status, "}}");
    Enqueue(Head(status, false, "application/json", {}, absl::StrCat("Content-Length: ", body.size())) + body);
    Complete();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  asio::strand<asio::any_io_executor> strand_;
  const HttpServerOptions& options_;
  const HttpHandler& handler_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> queue_;
  std::string writing_buffer_;
  std::vector<std::function<void()>> on_disconnect_;
  bool keep_alive_ = true;
  bool writing_ = false;
  bool watching_ = false;
  bool response_started_ = false;
  bool streaming_ = false;
  bool complete_ = false;
  bool disconnected_ = false;
  bool closed_ = false;
};

class Responder : public HttpResponder {
 public:
  explicit Responder(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  void Send(int status, std::string content_type, std::string body, HttpHeaders extra) override {
    session_->Post([status, content_type = std::move(content_type), body = std::move(body),
                    extra = std::move(extra)](Session& s) mutable {
      s.SendResponse(status, std::move(content_type), std::move(body), std::move(extra));
    });
  }
  void StartStream(int status, std::string content_type, HttpHeaders extra) override {
    session_->Post([status, content_type = std::move(content_type), extra = std::move(extra)](Session& s) mutable {
      s.StartStream(status, std::move(content_type), std::move(extra));
    });
  }
  void Write(std::string chunk) override {
    session_->Post([chunk = std::move(chunk)](Session& s) mutable { s.WriteChunk(std::move(chunk)); });
  }
  void End() override {
    session_->Post([](Session& s) { s.EndStream(); });
  }
  void OnDisconnect(std::function<void()> callback) override {
    session_->Post([callback = std::move(callback)](Session& s) mutable {
      s.AddDisconnectCallback(std::move(callback));
    });
  }

 private:
  std::shared_ptr<Session> session_;
};

std::shared_ptr<HttpResponder> Session::MakeResponder() {
  return std::make_shared<Responder>(shared_from_this());
}

}  // namespace

absl::string_view HttpRequest::path() const {
  absl::string_view t = target;
  return t.substr(0, t.find('?'));
}

const std::string* HttpRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!error) {
        socket.set_option(tcp::no_delay(true), error);
        std::make_shared<Session>(std::move(socket), options, handler)->Start();
      }
      Accept();
    });
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  beast::error_code error;
  const asio::ip::address address = asio::ip::make_address(options.host, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat("'", options.host, "' is not an IP address"));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(options.port));
  impl->acceptor.open(endpoint.protocol(), error);
  if (!error) impl->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) impl->acceptor.bind(endpoint, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port, ": ", error.message()));
  }
  impl->Accept();
  Impl* raw = impl.get();
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    impl->threads.emplace_back([raw] { raw->io.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() {
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->io.stop();
  for (std::thread& t : impl_->threads) t.join();
}

int HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace tern

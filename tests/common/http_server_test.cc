#include "common/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

// A raw client socket: what a test sends is exactly what goes on the wire.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawClient() { Close(); }
  void Send(const std::string& bytes) { ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size())); }
  // Reads until `needle` has arrived (or the peer closes / times out).
  std::string ReadUntil(const std::string& needle) {
    while (received_.find(needle) == std::string::npos) {
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received_.append(buffer, static_cast<size_t>(n));
    }
    return received_;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  std::string received_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpHandler handler, HttpServerOptions options = {}) {
    absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, std::move(handler));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersRequestsWithBodiesOnAKeptAliveConnection) {
  Start([](HttpRequest request, std::shared_ptr<HttpResponder> out) {
    out->Send(200, "text/plain", absl::StrCat(request.method, " ", request.path(), " [", request.body, "] ",
                                              request.Header("x-test") ? *request.Header("x-test") : "-"));
  });
  RawClient client(server_->port());
  client.Send("POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_TRUE(absl::StrContains(client.ReadUntil("yes"), "HTTP/1.1 200 OK\r\n"));
  client.Send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string all = client.ReadUntil("GET /second [] -");
  EXPECT_TRUE(absl::StrContains(all, "POST /echo [hello] yes"));
  EXPECT_TRUE(absl::StrContains(all, "Content-Length: 22\r\n"));  // "POST /echo [hello] yes"
  EXPECT_TRUE(absl::StrContains(all, "GET /second [] -"));
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start([](HttpRequest request, std::shared_ptr<HttpResponder> out) {
    out->Send(200, "text/plain", std::string(request.path()));
  });
  RawClient client(server_->port());
  client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string all = client.ReadUntil("\r\n\r\n/b");
  EXPECT_LT(all.find("\r\n\r\n/a"), all.find("\r\n\r\n/b"));
}

TEST_F(HttpServerTest, StreamsChunksWrittenFromAnotherThread) {
  std::thread writer;
  Start([&writer](HttpRequest request, std::shared_ptr<HttpResponder> out) {
    out->StartStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
    writer = std::thread([out] {
      for (int i = 0; i < 3; ++i) out->Write(absl::StrCat("data: ", i, "\n\n"));
      out->Write("");  // Empty writes send nothing (an empty chunk would end the body).
      out->End();
    });
  });
  RawClient client(server_->port());
  client.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string all = client.ReadUntil("0\r\n\r\n");
  writer.join();
  EXPECT_TRUE(absl::StrContains(all, "Transfer-Encoding: chunked\r\n"));
  EXPECT_TRUE(absl::StrContains(all, "Cache-Control: no-cache\r\n"));
  EXPECT_TRUE(absl::StrContains(all, "9\r\ndata: 0\n\n\r\n9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n"));
}

TEST_F(HttpServerTest, CurlReadsAStreamedResponseWhole) {
  Start([](HttpRequest request, std::shared_ptr<HttpResponder> out) {
    out->StartStream(200, "text/event-stream");
    for (int i = 0; i < 100; ++i) out->Write(absl::StrCat("data: ", i, "\n\n"));
    out->End();
  });
  const testing::CommandResult curl = testing::RunCommand(
      {"/usr/bin/curl", "-sN", absl::StrCat("http://127.0.0.1:", server_->port(), "/events")});
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  std::string expected;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&expected, "data: ", i, "\n\n");
  EXPECT_EQ(curl.out, expected);
}

TEST_F(HttpServerTest, ClientDisconnectIsReportedWhileAResponseIsPending) {
  absl::Notification disconnected;
  std::shared_ptr<HttpResponder> held;
  Start([&](HttpRequest request, std::shared_ptr<HttpResponder> out) {
    out->StartStream(200, "text/event-stream");
    out->Write("data: first\n\n");
    out->OnDisconnect([&disconnected] { disconnected.Notify(); });
    held = out;  // Never ends: only the client can end this.
  });
  {
    RawClient client(server_->port());
    client.Send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
    client.ReadUntil("data: first");
  }
  EXPECT_TRUE(disconnected.WaitForNotificationWithTimeout(absl::Seconds(5)));
  held->Write("data: late\n\n");  // Writing to a gone client is harmless.
  held->End();
}

TEST_F(HttpServerTest, OversizedBodiesGet413AndOversizedHeaders431) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  options.max_header_bytes = 1024;
  Start([](HttpRequest, std::shared_ptr<HttpResponder> out) { out->Send(200, "text/plain", "ok"); }, options);
  {
    RawClient client(server_->port());
    client.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'a'));
    const std::string reply = client.ReadUntil("}}");
    EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 413 ")) << reply;
    EXPECT_TRUE(absl::StrContains(reply, "the request body is too large"));
  }
  {
    RawClient client(server_->port());
    client.Send("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n");
    EXPECT_TRUE(absl::StartsWith(client.ReadUntil("}}"), "HTTP/1.1 431 "));
  }
  RawClient client(server_->port());
  client.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a'));
  EXPECT_TRUE(absl::StartsWith(client.ReadUntil("ok"), "HTTP/1.1 200 "));
}

TEST_F(HttpServerTest, GarbageGets400) {
  Start([](HttpRequest, std::shared_ptr<HttpResponder> out) { out->Send(200, "text/plain", "ok"); });
  RawClient client(server_->port());
  client.Send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(client.ReadUntil("}}"), "HTTP/1.1 400 "));
}

}  // namespace
}  // namespace tern

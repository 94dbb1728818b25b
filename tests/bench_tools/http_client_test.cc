// The HTTP client and the runner against servers in this process: the fake
// OpenAI server, and a raw socket server for the transport's corner cases.
#include "bench_tools/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <boost/asio/io_context.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench_tools/runner.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_openai_server.h"

namespace tern::bench {
namespace {

using testing::FakeOpenAiOptions;
using testing::FakeOpenAiServer;

Workload Prompts(int n, int64_t max_tokens) {
  Workload workload;
  for (int i = 0; i < n; ++i) {
    Conversation c;
    c.turns.push_back({absl::StrCat("prompt number ", i), 3, max_tokens});
    workload.conversations.push_back(std::move(c));
  }
  return workload;
}

RunOptions Options(ApiKind api = ApiKind::kCompletions) {
  RunOptions options;
  options.path = api == ApiKind::kChat ? "/v1/chat/completions" : "/v1/completions";
  options.body.api = api;
  options.body.model = "fake-model";
  return options;
}

ServerAddress Local(int port) { return {"127.0.0.1", port, ""}; }

TEST(RunnerTest, KeepsConcurrencyAtItsLimitAndReusesConnections) {
  FakeOpenAiOptions fake;
  fake.ttft = absl::Milliseconds(20);
  fake.itl = absl::Milliseconds(5);
  auto server = *FakeOpenAiServer::Start(fake);
  boost::asio::io_context io;
  HttpClient client(io, Local(server->port()), {});
  ASSERT_TRUE(client.Resolve().ok());
  const Workload workload = Prompts(12, 6);
  RunOptions options = Options();
  options.max_concurrency = 3;
  const RunResult run = BenchmarkRunner(io, client, workload, options).Run();

  ASSERT_EQ(run.requests.size(), 12u);
  for (const RequestResult& r : run.requests) {
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.num_chunks, 6);
    EXPECT_EQ(r.itl_s.size(), 5u);
    EXPECT_EQ(r.usage_completion_tokens, 6);
    EXPECT_EQ(r.usage_prompt_tokens, 3);  // The fake counts words without a tokenizer.
    EXPECT_EQ(r.generated_text, " tok tok tok tok tok tok");
    EXPECT_EQ(r.finish_reason, "length");
    EXPECT_GE(r.ttft_s, 0.020);  // A timer never fires early.
    EXPECT_GE(r.e2el_s, 0.045);
  }
  EXPECT_EQ(server->Stats().peak_in_flight, 3);
  EXPECT_EQ(run.peak_in_flight, 3);
  EXPECT_EQ(client.num_connections_opened(), 3);  // Keep-alive: one connection per slot.
  EXPECT_EQ(run.not_sent, 0);
}

TEST(RunnerTest, ChatRoleChunksAreNotTokens) {
  auto server = *FakeOpenAiServer::Start({});
  boost::asio::io_context io;
  HttpClient client(io, Local(server->port()), {});
  ASSERT_TRUE(client.Resolve().ok());
  const Workload workload = Prompts(2, 4);
  const RunResult run = BenchmarkRunner(io, client, workload, Options(ApiKind::kChat)).Run();
  ASSERT_EQ(run.requests.size(), 2u);
  for (const RequestResult& r : run.requests) {
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.num_chunks, 4);
    EXPECT_EQ(r.usage_completion_tokens, 4);
  }
  EXPECT_EQ(server->Stats().requests_by_num_messages.at(1), 2);
}

TEST(RunnerTest, TheTimeLimitCancelsWhatIsInFlight) {
  FakeOpenAiOptions fake;
  fake.itl = absl::Milliseconds(100);
  auto server = *FakeOpenAiServer::Start(fake);
  boost::asio::io_context io;
  HttpClient client(io, Local(server->port()), {});
  ASSERT_TRUE(client.Resolve().ok());
  const Workload workload = Prompts(5, 50);
  RunOptions options = Options();
  options.max_concurrency = 2;
  options.max_duration = absl::Milliseconds(300);
  const RunResult run = BenchmarkRunner(io, client, workload, options).Run();
  EXPECT_TRUE(run.hit_time_limit);
  ASSERT_EQ(run.requests.size(), 2u);
  for (const RequestResult& r : run.requests) EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(run.not_sent, 3);
  EXPECT_NEAR(run.duration_s, 0.3, 0.1);
}

TEST(HttpClientTest, AnUnreachableServerIsAClearFailure) {
  int port = 0;
  {
    auto server = *FakeOpenAiServer::Start({});  // Take a free port, then free it.
    port = server->port();
  }
  boost::asio::io_context io;
  HttpClient client(io, Local(port), {});
  ASSERT_TRUE(client.Resolve().ok());
  const RunResult run = BenchmarkRunner(io, client, Prompts(1, 2), Options()).Run();
  ASSERT_EQ(run.requests.size(), 1u);
  EXPECT_FALSE(run.requests[0].success);
  EXPECT_EQ(run.requests[0].error, absl::StrCat("cannot connect to 127.0.0.1:", port, ": Connection refused"));
}

// A one-thread socket server that answers each request with the next
// scripted response, closing the connection after it when told to.
class ScriptedServer {
 public:
  struct Step {
    std::string response;
    bool close_after = false;
  };

  explicit ScriptedServer(std::vector<Step> script) : script_(std::move(script)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void Serve() {
    size_t step = 0;
    while (step < script_.size()) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections_;
      std::string pending;
      while (step < script_.size()) {
        if (!ReadRequest(fd, &pending)) break;
        const Step& s = script_[step++];
        ::send(fd, s.response.data(), s.response.size(), MSG_NOSIGNAL);
        if (s.close_after) break;
      }
      ::close(fd);
    }
  }

  // Reads one request (headers and a Content-Length body); false on EOF.
  static bool ReadRequest(int fd, std::string* pending) {
    while (true) {
      const size_t end = pending->find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        const size_t at = pending->find("Content-Length: ");
        if (at != std::string::npos && at < end) {
          const size_t eol = pending->find("\r\n", at);
          (void)absl::SimpleAtoi(pending->substr(at + 16, eol - at - 16), &length);
        }
        if (pending->size() >= end + 4 + length) {
          pending->erase(0, end + 4 + length);
          return true;
        }
      }
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return false;
      pending->append(buffer, static_cast<size_t>(n));
    }
  }

  std::vector<Step> script_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

std::string ChunkedSse(absl::string_view events) {
  return absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
                      absl::Hex(events.size()), "\r\n", events, "\r\n0\r\n\r\n");
}

constexpr absl::string_view kOneToken =
    "data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,"
    "\"completion_tokens\":1}}\n\ndata: [DONE]\n\n";

TEST(HttpClientTest, ResendsOnceWhenAPooledConnectionWasClosed) {
  // The first response keeps the connection alive in HTTP terms, but the
  // server closes it right after: the next request goes out on a dead
  // connection, gets nothing back, and is sent again on a new one.
  ScriptedServer server({{ChunkedSse(kOneToken), true}, {ChunkedSse(kOneToken), false}});
  boost::asio::io_context io;
  HttpClient client(io, Local(server.port()), {});
  ASSERT_TRUE(client.Resolve().ok());
  RunOptions options = Options();
  options.max_concurrency = 1;
  RunResult run = BenchmarkRunner(io, client, Prompts(2, 1), options).Run();
  ASSERT_EQ(run.requests.size(), 2u);
  EXPECT_TRUE(run.requests[0].success) << run.requests[0].error;
  EXPECT_EQ(run.requests[0].attempts, 1);
  EXPECT_TRUE(run.requests[1].success) << run.requests[1].error;
  EXPECT_EQ(run.requests[1].attempts, 2);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClientTest, StreamsBodiesOfEveryFraming) {
  const std::string events(kOneToken);
  ScriptedServer server({
      {absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: ", events.size(),
                    "\r\n\r\n", events)},
      {absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n", events), true},
  });
  boost::asio::io_context io;
  HttpClient client(io, Local(server.port()), {});
  ASSERT_TRUE(client.Resolve().ok());
  RunOptions options = Options();
  options.max_concurrency = 1;
  RunResult run = BenchmarkRunner(io, client, Prompts(2, 1), options).Run();
  ASSERT_EQ(run.requests.size(), 2u);
  for (const RequestResult& r : run.requests) {
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.generated_text, "a");
    EXPECT_EQ(r.usage_completion_tokens, 1);
  }
}

TEST(HttpClientTest, ErrorStatusesAndTruncatedStreamsAreFailuresWithReasons) {
  ScriptedServer server({
      {"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 46\r\n\r\n"
       "{\"object\":\"error\",\"message\":\"prompt too long\"}"},
      // One whole chunk of the body, then the connection closes.
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
       "22\r\ndata: {\"choices\":[{\"text\":\"a\"}]}\n\n\r\n",
       true},
      // A server that ignored "stream": true.
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n"
       "{\"choices\":[{\"text\":\"abc\"}]}"},
  });
  boost::asio::io_context io;
  HttpClient client(io, Local(server.port()), {});
  ASSERT_TRUE(client.Resolve().ok());
  RunOptions options = Options();
  options.max_concurrency = 1;
  RunResult run = BenchmarkRunner(io, client, Prompts(3, 1), options).Run();
  ASSERT_EQ(run.requests.size(), 3u);
  EXPECT_EQ(run.requests[0].error, "HTTP 400: prompt too long");
  EXPECT_EQ(run.requests[2].error, "the response carried no server-sent events (does the endpoint stream?)");
  EXPECT_EQ(run.requests[0].http_status, 400);
  EXPECT_EQ(run.requests[1].error, "the server closed the connection before the response ended (after 1 chunks)");
}

TEST(HttpClientTest, FetchReadsAWholeResponse) {
  auto server = *FakeOpenAiServer::Start({});
  absl::StatusOr<HttpReply> reply =
      HttpFetch(Local(server->port()), "GET", "/v1/models", "", {}, absl::Seconds(5));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(absl::StrContains(reply->body, "\"fake-model\""));
}

}  // namespace
}  // namespace tern::bench

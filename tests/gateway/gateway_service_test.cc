// tern-gateway in front of real tern-engine processes (the e2e fixture model,
// CPU backend), driven by clients the project did not write: the `openai`
// npm package and curl.
#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/http_call.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::ChildProcess;
using ::tern::testing::HttpCall;
using ::tern::testing::HttpResult;
using ::tern::testing::PostJson;
using ::tern::testing::RunCommand;
using ::tern::testing::SourcePath;
using ::tern::testing::TestDataPath;
using Clock = std::chrono::steady_clock;

const std::string kModel = "qwen3-tiny";

std::string ModelDir() { return TestDataPath("e2e/qwen3-tiny"); }

struct Engine {
  std::unique_ptr<ChildProcess> process;
  std::string address;
  int metrics_port = 0;
};

Engine StartEngine(std::vector<std::string> flags = {}) {
  Engine engine;
  std::vector<std::string> all = {"--model", ModelDir(), "--kv-cache-memory-gib", "0.25", "--threads", "1",
                                  "--metrics-port", "0", "--max-model-len", "32768"};
  all.insert(all.end(), flags.begin(), flags.end());
  engine.process = testing::StartEngine(all, &engine.address, &engine.metrics_port);
  return engine;
}

// The value of an unlabelled-or-labelled Prometheus sample whose line starts
// with `prefix`; -1 if absent.
double MetricValue(const std::string& text, const std::string& prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, prefix)) continue;
    double value = -1;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) return value;
  }
  return -1;
}

double EngineRunning(const Engine& engine) {
  HttpResult r = HttpCall("GET", absl::StrCat("http://127.0.0.1:", engine.metrics_port, "/metrics"));
  return MetricValue(r.body, "tern:num_requests_running{");
}

// Waits up to `timeout` for `done`; returns the time it took, or nullopt.
template <typename F>
std::optional<std::chrono::milliseconds> WaitFor(F done, std::chrono::milliseconds timeout) {
  const Clock::time_point start = Clock::now();
  while (Clock::now() - start < timeout) {
    if (done()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::string Completion(int max_tokens, bool stream, bool ignore_eos = true) {
  return nlohmann::json{{"model", kModel},        {"prompt", "Once upon a time"}, {"max_tokens", max_tokens},
                        {"ignore_eos", ignore_eos}, {"temperature", 0},            {"stream", stream}}
      .dump();
}

class GatewayTest : public ::testing::Test {
 protected:
  void StartGateway(const std::vector<Engine*>& engines, std::vector<std::string> flags = {}) {
    std::string addresses;
    for (const Engine* e : engines) addresses += (addresses.empty() ? "" : ",") + e->address;
    std::vector<std::string> all = {"--model", ModelDir(), "--engines", addresses, "--engine-wait-timeout", "30",
                                    "--served-model-name", kModel};
    all.insert(all.end(), flags.begin(), flags.end());
    gateway_ = testing::StartGateway(all, &port_, &grpc_port_);
  }
  std::string Url(const std::string& path) const { return absl::StrCat("http://127.0.0.1:", port_, path); }

  // A small request that must keep working whatever else happens.
  void ExpectCanary(const std::vector<std::string>& headers = {}) {
    HttpResult r = PostJson(Url("/v1/completions"), Completion(2, false), headers);
    EXPECT_EQ(r.status, 200) << r.body << r.error;
  }

  std::string GrpcAddress() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

  std::unique_ptr<ChildProcess> gateway_;
  int port_ = 0;
  int grpc_port_ = 0;
};

TEST_F(GatewayTest, OfficialOpenAiClientGetsTheGoldensAndTheFeatures) {
  Engine engine = StartEngine();
  StartGateway({&engine});
  testing::CommandResult run =
      RunCommand({"/usr/bin/env", "node", SourcePath("tests/js/openai_conformance.mjs"), Url(""),
                  TestDataPath("e2e/qwen3-tiny/e2e_goldens.json")});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 55) << run.out;
  EXPECT_FALSE(absl::StrContains(run.out, "FAIL")) << run.out;
}

TEST_F(GatewayTest, GrpcFrontServesGrpcJsClients) {
  Engine engine = StartEngine();
  StartGateway({&engine}, {"--api-key", "k1"});
  testing::CommandResult run =
      RunCommand({"/usr/bin/env", "node", SourcePath("tests/js/grpc_generation.mjs"), GrpcAddress(),
                  TestDataPath("e2e/qwen3-tiny/e2e_goldens.json"), "k1"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 9) << run.out;
  EXPECT_FALSE(absl::StrContains(run.out, "FAIL")) << run.out;
  // The calls are counted like HTTP routes.
  HttpResult metrics = HttpCall("GET", Url("/metrics"));
  EXPECT_GE(MetricValue(metrics.body, "tern:http_requests_total{route=\"grpc:Chat\",status=\"200\"}"), 2);
}

TEST_F(GatewayTest, CancellingAGrpcStreamFreesTheEngine) {
  Engine engine = StartEngine();
  StartGateway({&engine});
  ChildProcess client({"/usr/bin/env", "node", SourcePath("tests/js/grpc_cancel.mjs"), GrpcAddress()});
  ASSERT_TRUE(WaitFor([&] { return EngineRunning(engine) == 1; }, std::chrono::seconds(10)).has_value())
      << client.Stderr();
  ASSERT_TRUE(client.Wait(std::chrono::seconds(10)).has_value());
  EXPECT_TRUE(WaitFor([&] { return EngineRunning(engine) == 0; }, std::chrono::seconds(1)).has_value());
  ExpectCanary();
}

TEST_F(GatewayTest, SseFramingSeenByCurl) {
  Engine engine = StartEngine();
  StartGateway({&engine});
  HttpResult r = PostJson(Url("/v1/chat/completions"),
                          R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": true,
                              "stream_options": {"include_usage": true}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(r.headers), "content-type: text/event-stream")) << r.headers;
  EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(r.headers), "transfer-encoding: chunked")) << r.headers;
  // Every event is "data: <json>\n\n"; the last is "data: [DONE]\n\n".
  ASSERT_TRUE(absl::EndsWith(r.body, "data: [DONE]\n\n")) << r.body;
  std::vector<std::string> events = absl::StrSplit(r.body, "\n\n", absl::SkipEmpty());
  ASSERT_GE(events.size(), 4u);
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_TRUE(absl::StartsWith(events[i], "data: {")) << events[i];
    nlohmann::json chunk = nlohmann::json::parse(events[i].substr(6));
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
  }
  EXPECT_EQ(nlohmann::json::parse(events[events.size() - 2].substr(6))["usage"]["completion_tokens"], 5);
}

TEST_F(GatewayTest, TwoHundredConcurrentStreamsComplete) {
  Engine engine = StartEngine({"--max-num-seqs", "256"});
  StartGateway({&engine});
  testing::CommandResult run = RunCommand(
      {"/usr/bin/env", "node", SourcePath("tests/js/concurrent_streams.mjs"), Url(""), kModel, "200", "8"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json result = nlohmann::json::parse(run.out);
  EXPECT_EQ(result["completed"], 200) << run.out;
  EXPECT_EQ(result["failed"], 0) << run.out;
  EXPECT_EQ(result["max_in_flight"], 200) << run.out;
  // Every stream ended: nothing left in flight anywhere.
  HttpResult metrics = HttpCall("GET", Url("/metrics"));
  EXPECT_EQ(MetricValue(metrics.body, "tern:gateway_requests_in_flight{"), 0) << metrics.body;
  EXPECT_EQ(MetricValue(metrics.body, "tern:http_requests_total{route=\"/v1/chat/completions\",status=\"200\"}"), 200);
  EXPECT_TRUE(WaitFor([&] { return EngineRunning(engine) == 0; }, std::chrono::seconds(2)).has_value());
}

TEST_F(GatewayTest, ClientDisconnectFreesTheEngineWithinASecond) {
  Engine engine = StartEngine();
  StartGateway({&engine});
  for (bool stream : {true, false}) {
    // curl gives up after 0.5 s, mid-generation (30000 tokens take far longer).
    ChildProcess client({"/usr/bin/curl", "-sN", "--max-time", "0.5", "-H", "Content-Type: application/json", "-d",
                         Completion(30000, stream), Url("/v1/completions")});
    ASSERT_TRUE(WaitFor([&] { return EngineRunning(engine) == 1; }, std::chrono::seconds(5)).has_value())
        << "stream " << stream;
    ASSERT_TRUE(client.Wait(std::chrono::seconds(5)).has_value());
    std::optional<std::chrono::milliseconds> freed =
        WaitFor([&] { return EngineRunning(engine) == 0; }, std::chrono::seconds(1));
    EXPECT_TRUE(freed.has_value()) << "stream " << stream << ": the engine still runs the request";
  }
  ExpectCanary();
}

TEST_F(GatewayTest, BadRequestsGetTheirStatusWhileACanaryKeepsWorking) {
  Engine engine = StartEngine({"--max-model-len", "64"});
  StartGateway({&engine}, {"--api-key", "secret-key", "--max-request-body-bytes", "100000",
                           "--max-header-bytes", "8192"});
  const std::vector<std::string> auth = {"Authorization: Bearer secret-key"};
  struct Case {
    std::string what, method, path, body;
    std::vector<std::string> headers;
    int status;
    std::string fragment;
  };
  const std::string big(200000, 'a');
  const std::vector<Case> cases = {
      {"no key", "POST", "/v1/completions", Completion(2, false), {}, 401, "invalid_api_key"},
      {"wrong key", "POST", "/v1/completions", Completion(2, false), {"Authorization: Bearer secret-keY"}, 401,
       "Incorrect or missing API key"},
      {"key without Bearer", "GET", "/v1/models", "", {"Authorization: secret"}, 401, "invalid_api_key"},
      {"malformed JSON", "POST", "/v1/completions", "{\"prompt\": ", auth, 400, "not valid JSON"},
      {"not an object", "POST", "/v1/chat/completions", "[]", auth, 400, "must be a JSON object"},
      {"wrong type", "POST", "/v1/completions", R"({"prompt": "x", "max_tokens": "many"})", auth, 400,
       R"("param":"max_tokens")"},
      {"wrong type in chat", "POST", "/v1/chat/completions", R"({"messages": [{"role": 1}]})", auth, 400,
       R"("param":"messages[0]")"},
      {"unknown model", "POST", "/v1/completions", R"({"model": "gpt-9", "prompt": "x"})", auth, 404,
       "The model `gpt-9` does not exist."},
      {"prompt over the context", "POST", "/v1/completions",
       nlohmann::json{{"prompt", std::vector<int>(80, 5)}}.dump(), auth, 400, "maximum context length is 64"},
      {"max_tokens over the context", "POST", "/v1/completions", R"({"prompt": "x", "max_tokens": 64})", auth, 400,
       "maximum context length is 64"},
      {"huge body", "POST", "/v1/completions", nlohmann::json{{"prompt", big}}.dump(), auth, 413, ""},
      {"huge header", "GET", "/v1/models", "", {"Authorization: Bearer secret-key", "X-Big: " + std::string(20000, 'b')},
       431, ""},
      {"unknown route", "GET", "/v2/everything", "", auth, 404, "no route"},
      {"wrong method", "GET", "/v1/completions", "", auth, 405, "not allowed"},
      {"token outside the vocabulary", "POST", "/v1/completions", R"({"prompt": [999999999]})", auth, 400,
       "outside the vocabulary"},
      {"image content", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})", auth,
       400, "not supported"},
      {"nesting bomb", "POST", "/v1/completions", std::string(50000, '[') + std::string(50000, ']'), auth, 400,
       "deeper than"},
      {"invalid UTF-8 in the prompt", "POST", "/v1/completions", "{\"prompt\": \"\xff\xfe\"}", auth, 400, ""},
  };
  for (const Case& c : cases) {
    HttpResult r = HttpCall(c.method, Url(c.path), c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body << r.error;
    EXPECT_TRUE(absl::StrContains(r.body, c.fragment)) << c.what << ": " << r.body;
    if (c.status != 413 && c.status != 431) {
      // Every error is an OpenAI error object.
      nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
      EXPECT_TRUE(body.contains("error") && body["error"].contains("message")) << c.what << ": " << r.body;
    }
    ExpectCanary(auth);
  }
  // The open endpoints need no key.
  EXPECT_EQ(HttpCall("GET", Url("/health")).status, 200);
  EXPECT_EQ(HttpCall("GET", Url("/version")).status, 200);
  EXPECT_TRUE(absl::StrContains(HttpCall("GET", Url("/metrics")).body, "tern:http_requests_total"));
  // The official client with the key, and with a wrong one.
  testing::CommandResult run = RunCommand({"/usr/bin/env", "node", SourcePath("tests/js/api_key_check.mjs"), Url(""),
                                           kModel, "secret-key"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
}

TEST_F(GatewayTest, PastTheConcurrencyBoundRequestsGet429WithRetryAfter) {
  Engine engine = StartEngine();
  StartGateway({&engine}, {"--max-concurrent-requests", "1"});
  ChildProcess hog({"/usr/bin/curl", "-sN", "--max-time", "20", "-H", "Content-Type: application/json", "-d",
                    Completion(30000, true), Url("/v1/completions")});
  ASSERT_TRUE(WaitFor([&] { return EngineRunning(engine) == 1; }, std::chrono::seconds(5)).has_value());
  HttpResult r = PostJson(Url("/v1/completions"), Completion(2, false));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(r.headers), "retry-after: 1")) << r.headers;
  EXPECT_TRUE(absl::StrContains(r.body, "rate_limit_exceeded")) << r.body;
  hog.Signal(SIGKILL);
  hog.Wait();
  EXPECT_TRUE(WaitFor([&] { return PostJson(Url("/v1/completions"), Completion(2, false)).status == 200; },
                      std::chrono::seconds(3))
                  .has_value());
}

TEST_F(GatewayTest, AnEngineDyingMidStreamEndsItsStreamsAndHealthFollows) {
  Engine engine = StartEngine();
  StartGateway({&engine});
  ASSERT_EQ(HttpCall("GET", Url("/health")).status, 200);
  // A stream that would run for a long time, read by curl into a file.
  const std::string out = absl::StrCat(::testing::TempDir(), "/dying_stream.txt");
  ChildProcess client({"/bin/sh", "-c",
                       absl::StrCat("/usr/bin/curl -sN -H 'Content-Type: application/json' -d '",
                                    Completion(30000, true), "' ", Url("/v1/completions"), " > ", out)});
  ASSERT_TRUE(WaitFor([&] { return EngineRunning(engine) == 1; }, std::chrono::seconds(5)).has_value());
  const Clock::time_point killed = Clock::now();
  engine.process->Signal(SIGKILL);
  std::optional<int> exit = client.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(exit.has_value()) << "the stream did not end after its engine died";
  EXPECT_LT(Clock::now() - killed, std::chrono::seconds(2));
  const std::string body = testing::RunCommand({"/bin/cat", out}).out;
  EXPECT_TRUE(absl::EndsWith(body, "data: [DONE]\n\n")) << body.substr(body.size() > 500 ? body.size() - 500 : 0);
  EXPECT_TRUE(absl::StrContains(body, R"("error":{"message":"the engine serving this request)")) << body.substr(
      body.size() > 500 ? body.size() - 500 : 0);
  EXPECT_TRUE(WaitFor([&] { return HttpCall("GET", Url("/health")).status == 503; }, std::chrono::seconds(1))
                  .has_value());
  HttpResult r = PostJson(Url("/v1/completions"), Completion(2, false));
  EXPECT_EQ(r.status, 503) << r.body;
  // A new engine on the same address brings the gateway back.
}

TEST_F(GatewayTest, RequestsMoveToTheOtherEngineWhenOneDies) {
  Engine a = StartEngine(), b = StartEngine();
  StartGateway({&a, &b}, {"--routing", "round-robin"});
  for (int i = 0; i < 4; ++i) ExpectCanary();
  a.process->Signal(SIGKILL);
  a.process->Wait();
  // Right after the death the gateway may still pick the dead engine: the
  // request moves on before its first token, so none fails.
  for (int i = 0; i < 10; ++i) ExpectCanary();
  HttpResult metrics = HttpCall("GET", Url("/metrics"));
  EXPECT_EQ(MetricValue(metrics.body, absl::StrCat("tern:engine_available{engine=\"", a.address, "\"}")), 0);
  EXPECT_EQ(MetricValue(metrics.body, absl::StrCat("tern:engine_available{engine=\"", b.address, "\"}")), 1);
}

TEST_F(GatewayTest, TokenizeDetokenizeModelsAndVersion) {
  Engine engine = StartEngine();
  StartGateway({&engine});
  const nlohmann::json goldens = testing::ReadJsonFile(TestDataPath("e2e/qwen3-tiny/e2e_goldens.json"));
  const nlohmann::json& chat = goldens["cases"][0];
  HttpResult r = PostJson(Url("/tokenize"), nlohmann::json{{"messages", chat["messages"]},
                                                           {"add_generation_prompt", true}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json answer = nlohmann::json::parse(r.body);
  EXPECT_EQ(answer["tokens"], chat["prompt_ids"]);
  EXPECT_EQ(answer["count"], chat["prompt_ids"].size());
  EXPECT_EQ(answer["max_model_len"], 32768);
  r = PostJson(Url("/detokenize"), nlohmann::json{{"tokens", chat["prompt_ids"]}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["prompt"], chat["prompt_text"]);
  r = PostJson(Url("/detokenize"), R"({"tokens": [-1]})");
  EXPECT_EQ(r.status, 400);
  r = HttpCall("GET", Url("/v1/models"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["data"][0]["id"], kModel);
  r = HttpCall("GET", Url("/version"));
  EXPECT_TRUE(nlohmann::json::parse(r.body)["version"].is_string());
}

}  // namespace
}  // namespace tern

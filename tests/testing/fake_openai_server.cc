#include "tests/testing/fake_openai_server.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <boost/asio.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/http_server.h"

namespace tern::testing {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr int kTokensBeforeFailure = 2;

std::string ErrorJson(absl::string_view message) {
  return nlohmann::json{{"error", {{"message", message}, {"type", "BadRequestError"}, {"code", 400}}}}.dump();
}

std::string Event(absl::string_view json) { return absl::StrCat("data: ", json, "\n\n"); }

}  // namespace

nlohmann::json FakeOpenAiStats::ToJson() const {
  nlohmann::json by_messages = nlohmann::json::object();
  for (const auto& [n, count] : requests_by_num_messages) by_messages[absl::StrCat(n)] = count;
  nlohmann::json by_max_tokens = nlohmann::json::object();
  for (const auto& [n, count] : requests_by_max_tokens) by_max_tokens[absl::StrCat(n)] = count;
  return {{"requests", requests},
          {"bad_requests", bad_requests},
          {"last_bad_request", last_bad_request},
          {"in_flight", in_flight},
          {"peak_in_flight", peak_in_flight},
          {"ignore_eos_requests", ignore_eos_requests},
          {"request_id_headers", request_id_headers},
          {"authorization", authorization},
          {"requests_by_num_messages", by_messages},
          {"requests_by_max_tokens", by_max_tokens}};
}

struct FakeOpenAiServer::Impl {
  FakeOpenAiOptions options;
  std::string model_json;  // The model name as a JSON string.
  asio::io_context timers;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(timers);
  std::thread timer_thread;
  std::unique_ptr<HttpServer> http;
  mutable absl::Mutex mu;
  FakeOpenAiStats stats ABSL_GUARDED_BY(mu);

  void Handle(HttpRequest request, std::shared_ptr<HttpResponder> out);
  void Generate(const HttpRequest& request, bool chat, std::shared_ptr<HttpResponder> out);
  void EndInFlight() {
    absl::MutexLock lock(&mu);
    --stats.in_flight;
  }
  int64_t CountTokens(const std::string& text, bool special) const {
    if (options.tokenizer != nullptr) {
      absl::StatusOr<std::vector<int32_t>> ids = options.tokenizer->Encode(text, special);
      return ids.ok() ? static_cast<int64_t>(ids->size()) : 0;
    }
    return static_cast<int64_t>(std::vector<absl::string_view>(absl::StrSplit(text, ' ', absl::SkipWhitespace())).size());
  }
};

namespace {

// One streamed response, driven by a timer on the server's timer thread.
class Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(FakeOpenAiServer::Impl* impl, std::shared_ptr<HttpResponder> out, bool chat, int64_t max_tokens,
         bool include_usage, int64_t prompt_tokens, int failure, int64_t index)
      : impl_(impl), out_(std::move(out)), timer_(impl->timers), chat_(chat), max_tokens_(max_tokens),
        include_usage_(include_usage), prompt_tokens_(prompt_tokens), failure_(failure),
        id_(absl::StrCat(chat ? "chatcmpl-" : "cmpl-", index)), arrival_(Clock::now()) {}

  void Begin() {
    out_->OnDisconnect([self = shared_from_this()] {
      asio::post(self->impl_->timers, [self] { self->Finish(); });
    });
    out_->StartStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
    asio::post(impl_->timers, [self = shared_from_this()] { self->ScheduleNext(); });
  }

 private:
  void ScheduleNext() {
    if (finished_) return;
    const int64_t last = std::min(sent_ + impl_->options.tokens_per_chunk, max_tokens_) - 1;
    timer_.expires_at(arrival_ + absl::ToChronoNanoseconds(impl_->options.ttft + last * impl_->options.itl));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (!error) self->Emit();
    });
  }

  std::string Chunk(absl::string_view text, bool last) const {
    const char* finish = last ? "\"length\"" : "null";
    if (chat_) {
      return Event(absl::StrCat("{\"id\":\"", id_, "\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":",
                                impl_->model_json, ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"", text,
                                "\"},\"logprobs\":null,\"finish_reason\":", finish, "}]}"));
    }
    return Event(absl::StrCat("{\"id\":\"", id_, "\",\"object\":\"text_completion\",\"created\":0,\"model\":",
                              impl_->model_json, ",\"choices\":[{\"index\":0,\"text\":\"", text,
                              "\",\"logprobs\":null,\"finish_reason\":", finish, "}]}"));
  }

  void Emit() {
    if (finished_) return;
    if (chat_ && sent_ == 0) {
      out_->Write(Event(absl::StrCat("{\"id\":\"", id_, "\",\"object\":\"chat.completion.chunk\",\"created\":0,"
                                     "\"model\":", impl_->model_json,
                                     ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                                     "\"logprobs\":null,\"finish_reason\":null}]}")));
    }
    const int64_t n = std::min<int64_t>(impl_->options.tokens_per_chunk, max_tokens_ - sent_);
    std::string text;
    for (int64_t i = 0; i < n; ++i) text += " tok";
    sent_ += n;
    const bool failing = failure_ >= 2 && sent_ >= std::min<int64_t>(kTokensBeforeFailure, max_tokens_);
    // A request stops counting as in flight before its last bytes go out: a
    // client that starts its next request on reading them must not be seen
    // with one request too many.
    if (sent_ == max_tokens_ && !failing) Finish();
    out_->Write(Chunk(text, sent_ == max_tokens_ && !failing));
    if (failing) {
      if (failure_ == 2) {
        out_->Write(Event(R"({"error": {"message": "injected stream error", "type": "InternalServerError", "code": 500}})"));
        out_->Write(Event("[DONE]"));
        out_->End();
        Finish();
      }
      return;  // Failure 3: silence until the client leaves.
    }
    if (sent_ < max_tokens_) return ScheduleNext();
    if (include_usage_) {
      out_->Write(Event(absl::StrCat("{\"id\":\"", id_, "\",\"object\":\"", chat_ ? "chat.completion.chunk" : "text_completion",
                                     "\",\"created\":0,\"model\":", impl_->model_json,
                                     ",\"choices\":[],\"usage\":{\"prompt_tokens\":", prompt_tokens_,
                                     ",\"completion_tokens\":", max_tokens_, ",\"total_tokens\":",
                                     prompt_tokens_ + max_tokens_, "}}")));
    }
    out_->Write(Event("[DONE]"));
    out_->End();
    Finish();
  }

  // Runs on the timer thread, once.
  void Finish() {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    impl_->EndInFlight();
  }

  FakeOpenAiServer::Impl* impl_;
  std::shared_ptr<HttpResponder> out_;
  asio::steady_timer timer_;
  const bool chat_;
  const int64_t max_tokens_;
  const bool include_usage_;
  const int64_t prompt_tokens_;
  const int failure_;
  const std::string id_;
  const Clock::time_point arrival_;
  int64_t sent_ = 0;
  bool finished_ = false;
};

// The request's problem, or "" if it is one the fake serves.
std::string Validate(const nlohmann::json& body, bool chat, const std::string& model) {
  if (!body.is_object()) return "the body must be a JSON object";
  if (!body.contains("model") || !body["model"].is_string()) return "'model' must be a string";
  if (body["model"] != model) return absl::StrCat("the model '", body["model"].get<std::string>(), "' does not exist");
  if (body.value("stream", false) != true) return "this server only streams: set 'stream': true";
  const nlohmann::json options = body.value("stream_options", nlohmann::json::object());
  if (!options.is_object() || options.value("include_usage", false) != true) {
    return "set 'stream_options': {'include_usage': true}";
  }
  const char* limit = chat ? "max_completion_tokens" : "max_tokens";
  if (!body.contains(limit) || !body[limit].is_number_integer() || body[limit].get<int64_t>() < 1) {
    return absl::StrCat("'", limit, "' must be a positive integer");
  }
  if (chat) {
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
      return "'messages' must be a non-empty array";
    }
    for (const nlohmann::json& message : body["messages"]) {
      if (!message.is_object() || !message.contains("role") || !message["role"].is_string() ||
          !message.contains("content") || !message["content"].is_string()) {
        return "each message needs a string 'role' and a string 'content'";
      }
    }
  } else if (!body.contains("prompt") || !body["prompt"].is_string()) {
    return "'prompt' must be a string";
  }
  return "";
}

}  // namespace

void FakeOpenAiServer::Impl::Handle(HttpRequest request, std::shared_ptr<HttpResponder> out) {
  const absl::string_view path = request.path();
  if (request.method == "GET" && path == "/v1/models") {
    return out->Send(200, "application/json",
                     nlohmann::json{{"object", "list"},
                                    {"data", {{{"id", options.model}, {"object", "model"}, {"owned_by", "tern"}}}}}
                         .dump());
  }
  if (request.method == "GET" && path == "/version") {
    return out->Send(200, "application/json", R"({"version": "fake-openai 1.0"})");
  }
  if (request.method == "GET" && path == "/stats") {
    absl::MutexLock lock(&mu);
    return out->Send(200, "application/json", stats.ToJson().dump());
  }
  if (request.method == "POST" && (path == "/v1/completions" || path == "/v1/chat/completions")) {
    return Generate(request, path == "/v1/chat/completions", std::move(out));
  }
  out->Send(404, "application/json", ErrorJson(absl::StrCat("no route ", request.method, " ", path)));
}

void FakeOpenAiServer::Impl::Generate(const HttpRequest& request, bool chat, std::shared_ptr<HttpResponder> out) {
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  const std::string problem = Validate(body, chat, options.model);
  if (!problem.empty()) {
    {
      absl::MutexLock lock(&mu);
      ++stats.bad_requests;
      stats.last_bad_request = problem;
    }
    return out->Send(400, "application/json", ErrorJson(problem));
  }
  const int64_t max_tokens = body[chat ? "max_completion_tokens" : "max_tokens"].get<int64_t>();
  int64_t prompt_tokens = 0;
  if (chat) {
    for (const nlohmann::json& message : body["messages"]) {
      prompt_tokens += CountTokens(message["content"].get<std::string>(), false);
    }
  } else {
    prompt_tokens = CountTokens(body["prompt"].get<std::string>(), true);
  }
  int64_t index = 0;
  {
    absl::MutexLock lock(&mu);
    index = stats.requests++;
    stats.peak_in_flight = std::max(stats.peak_in_flight, ++stats.in_flight);
    if (body.value("ignore_eos", false)) ++stats.ignore_eos_requests;
    if (request.Header("x-request-id") != nullptr) ++stats.request_id_headers;
    if (const std::string* auth = request.Header("authorization")) stats.authorization = *auth;
    if (chat) ++stats.requests_by_num_messages[static_cast<int64_t>(body["messages"].size())];
    ++stats.requests_by_max_tokens[max_tokens];
  }
  int failure = -1;
  if (options.fail_every > 0 && index % options.fail_every == options.fail_every - 1) {
    failure = static_cast<int>((index / options.fail_every) % 4);
  }
  if (failure == 0 || failure == 1) {
    EndInFlight();
    return out->Send(failure == 0 ? 500 : 429, "application/json",
                     nlohmann::json{{"error", {{"message", failure == 0 ? "injected server error" : "injected rate limit"},
                                               {"type", "InternalServerError"},
                                               {"code", failure == 0 ? 500 : 429}}}}
                         .dump());
  }
  std::make_shared<Stream>(this, std::move(out), chat, max_tokens, options.send_usage, prompt_tokens, failure, index)
      ->Begin();
}

absl::StatusOr<std::unique_ptr<FakeOpenAiServer>> FakeOpenAiServer::Start(const FakeOpenAiOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.tokens_per_chunk = std::max(1, options.tokens_per_chunk);
  impl->model_json = nlohmann::json(options.model).dump();
  Impl* raw = impl.get();
  impl->timer_thread = std::thread([raw] { raw->timers.run(); });
  HttpServerOptions http_options;
  http_options.port = options.port;
  http_options.io_threads = options.io_threads;
  absl::StatusOr<std::unique_ptr<HttpServer>> http =
      HttpServer::Start(http_options, [raw](HttpRequest request, std::shared_ptr<HttpResponder> out) {
        raw->Handle(std::move(request), std::move(out));
      });
  if (!http.ok()) {
    raw->work.reset();
    raw->timers.stop();
    raw->timer_thread.join();
    return http.status();
  }
  impl->http = *std::move(http);
  return std::unique_ptr<FakeOpenAiServer>(new FakeOpenAiServer(std::move(impl)));
}

FakeOpenAiServer::FakeOpenAiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FakeOpenAiServer::~FakeOpenAiServer() {
  impl_->http.reset();
  impl_->work.reset();
  impl_->timers.stop();
  impl_->timer_thread.join();
}

int FakeOpenAiServer::port() const { return impl_->http->port(); }

FakeOpenAiStats FakeOpenAiServer::Stats() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->stats;
}

}  // namespace tern::testing

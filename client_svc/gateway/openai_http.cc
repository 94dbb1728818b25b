#include "client_svc/gateway/openai_http.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client_svc/gateway/generation.h"
#include "client_svc/gateway/openai_response.h"
#include "common/field_error.h"
#include "common/status_macros.h"

namespace tern {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr absl::string_view kJson = "application/json";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Answers one generation request over HTTP: a JSON response, or a stream of
// server-sent events started with the first event, so that errors before
// any output still get their status code. Records the client-side latencies.
class HttpGenerationSink : public GenerationSink {
 public:
  HttpGenerationSink(Gateway& gateway, std::shared_ptr<HttpResponder> responder, ResponseHeader header,
                     const GenerationRequest& request, std::unique_ptr<Gateway::Admission> admission,
                     Clock::time_point arrival)
      : gateway_(gateway),
        responder_(std::move(responder)),
        route_(header.kind == GenerationKind::kChat ? "/v1/chat/completions" : "/v1/completions"),
        stream_(request.stream),
        accumulator_(header),
        formatter_(header, request.include_usage),
        admission_(std::move(admission)),
        arrival_(arrival),
        last_write_(arrival) {}

  ~HttpGenerationSink() override {
    // Dropped without a final event: the client went away.
    if (!ended_) gateway_.metrics().CountRequest(route_, 499);
  }

  void OnDelta(ChoiceDelta delta) override {
    if (!stream_) {
      accumulator_.Add(delta);
      return;
    }
    std::string events = formatter_.Delta(delta);
    if (events.empty()) return;
    Start();
    const Clock::time_point now = Clock::now();
    if (!first_token_sent_) {
      first_token_sent_ = true;
      gateway_.metrics().time_to_first_token->Observe(Seconds(now - arrival_));
    } else {
      gateway_.metrics().inter_token_latency->Observe(Seconds(now - last_write_));
    }
    last_write_ = now;
    responder_->Write(std::move(events));
  }

  void OnComplete(const GenerationUsage& usage) override {
    ended_ = true;
    GatewayMetrics& metrics = gateway_.metrics();
    metrics.prompt_tokens->Increment(static_cast<double>(usage.prompt_tokens));
    metrics.generation_tokens->Increment(static_cast<double>(usage.completion_tokens));
    if (stream_) {
      Start();
      responder_->Write(formatter_.Complete(usage));
      responder_->End();
    } else {
      metrics.CountRequest(route_, 200);
      responder_->Send(200, std::string(kJson), Dump(accumulator_.Finish(usage)));
    }
    metrics.e2e_request_latency->Observe(Seconds(Clock::now() - arrival_));
    admission_.reset();
  }

  void OnError(const ApiError& error) override {
    ended_ = true;
    if (started_) {
      responder_->Write(OpenAiStreamFormatter::Error(error));
      responder_->End();
    } else {
      gateway_.metrics().CountRequest(route_, error.http_status);
      responder_->Send(error.http_status, std::string(kJson), error.ToBody());
    }
    admission_.reset();
  }

 private:
  void Start() {
    if (started_) return;
    started_ = true;
    gateway_.metrics().CountRequest(route_, 200);
    responder_->StartStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
  }

  Gateway& gateway_;
  std::shared_ptr<HttpResponder> responder_;
  std::string route_;
  bool stream_;
  OpenAiAccumulator accumulator_;
  OpenAiStreamFormatter formatter_;
  std::unique_ptr<Gateway::Admission> admission_;
  Clock::time_point arrival_;
  Clock::time_point last_write_;
  bool started_ = false;
  bool first_token_sent_ = false;
  bool ended_ = false;
};

ApiError MethodNotAllowed(absl::string_view method, absl::string_view path) {
  return ApiError{405, "invalid_request_error", absl::StrCat(method, " is not allowed on ", path), std::nullopt,
                  std::nullopt};
}

ApiError RouteNotFound(absl::string_view path) {
  return ApiError{404, "invalid_request_error", absl::StrCat("no route ", path), std::nullopt, std::nullopt};
}

}  // namespace

OpenAiHttpFront::OpenAiHttpFront(Gateway& gateway, std::string version)
    : gateway_(gateway), version_(std::move(version)), created_(absl::ToUnixSeconds(absl::Now())) {}

void OpenAiHttpFront::SendError(absl::string_view route, const std::shared_ptr<HttpResponder>& responder,
                                const ApiError& error) {
  gateway_.metrics().CountRequest(route, error.http_status);
  HttpHeaders extra;
  if (error.http_status == 429) extra.emplace_back("Retry-After", "1");
  if (error.http_status == 401) extra.emplace_back("WWW-Authenticate", "Bearer");
  responder->Send(error.http_status, std::string(kJson), error.ToBody(), std::move(extra));
}

void OpenAiHttpFront::SendJson(absl::string_view route, const std::shared_ptr<HttpResponder>& responder,
                               const std::string& body) {
  gateway_.metrics().CountRequest(route, 200);
  responder->Send(200, std::string(kJson), body);
}

void OpenAiHttpFront::Handle(HttpRequest request, std::shared_ptr<HttpResponder> responder) {
  const std::string path(request.path());
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";

  if (path == "/health") {
    if (!get) return SendError(path, responder, MethodNotAllowed(request.method, path));
    if (gateway_.draining()) return SendError(path, responder, Unavailable("the gateway is shutting down"));
    if (!gateway_.pool().AnyServing()) return SendError(path, responder, Unavailable("no engine is serving"));
    gateway_.metrics().CountRequest(path, 200);
    return responder->Send(200, "text/plain", "");
  }
  if (path == "/metrics") {
    if (!get) return SendError(path, responder, MethodNotAllowed(request.method, path));
    gateway_.metrics().CountRequest(path, 200);
    return responder->Send(200, "text/plain; version=0.0.4", gateway_.metrics().Serialize(&gateway_.pool()));
  }
  if (path == "/version") {
    if (!get) return SendError(path, responder, MethodNotAllowed(request.method, path));
    return SendJson(path, responder, Dump(Json{{"version", version_}}));
  }

  const bool generation = path == "/v1/completions" || path == "/v1/chat/completions";
  const bool tokenizer = path == "/tokenize" || path == "/detokenize";
  if (!generation && !tokenizer && path != "/v1/models") return SendError("other", responder, RouteNotFound(path));
  if (gateway_.requires_auth()) {
    const std::string* authorization = request.Header("authorization");
    if (authorization == nullptr || !gateway_.Authorized(*authorization)) {
      return SendError(path, responder, Unauthorized());
    }
  }
  if (path == "/v1/models") {
    if (!get) return SendError(path, responder, MethodNotAllowed(request.method, path));
    return Models(responder);
  }
  if (!post) return SendError(path, responder, MethodNotAllowed(request.method, path));
  if (tokenizer) {
    // Tokenizing is CPU work: off the I/O thread.
    gateway_.Schedule([this, request = std::move(request), responder = std::move(responder), path] {
      if (path == "/tokenize") {
        Tokenize(request, responder);
      } else {
        Detokenize(request, responder);
      }
    });
    return;
  }
  Generate(path == "/v1/chat/completions" ? GenerationKind::kChat : GenerationKind::kCompletion, std::move(request),
           std::move(responder));
}

void OpenAiHttpFront::Generate(GenerationKind kind, HttpRequest request, std::shared_ptr<HttpResponder> responder) {
  const Clock::time_point arrival = Clock::now();
  const std::string route = kind == GenerationKind::kChat ? "/v1/chat/completions" : "/v1/completions";
  absl::StatusOr<std::unique_ptr<Gateway::Admission>> admission = gateway_.Admit();
  if (!admission.ok()) return SendError(route, responder, ApiErrorFromStatus(admission.status()));
  gateway_.Schedule([this, kind, route, arrival, request = std::move(request), responder = std::move(responder),
                     admission = *std::move(admission)]() mutable {
    absl::StatusOr<Json> body = ParseJsonBody(request.body);
    if (!body.ok()) return SendError(route, responder, BadRequest(std::string(body.status().message())));
    absl::StatusOr<GenerationRequest> parsed = kind == GenerationKind::kChat
                                                   ? ParseChatRequest(*body, gateway_.bounds())
                                                   : ParseCompletionRequest(*body, gateway_.bounds());
    if (!parsed.ok()) return SendError(route, responder, ApiErrorFromStatus(parsed.status()));
    ResponseHeader header;
    header.kind = kind;
    header.id = NewResponseId(kind);
    header.created = absl::ToUnixSeconds(absl::Now());
    header.model = parsed->model.empty() ? gateway_.model().name() : parsed->model;
    header.logprobs = parsed->logprobs.has_value();
    absl::StatusOr<GenerationPlan> plan = gateway_.Plan(*std::move(parsed), header.id);
    if (!plan.ok()) return SendError(route, responder, ApiErrorFromStatus(plan.status()));
    header.num_choices = plan->num_choices();
    auto sink = std::make_shared<HttpGenerationSink>(gateway_, responder, header, plan->request,
                                                     std::move(admission), arrival);
    std::shared_ptr<Generation> generation =
        Generation::Start(*std::move(plan), gateway_, std::move(sink));
    responder->OnDisconnect([generation] { generation->Cancel(); });
  });
}

void OpenAiHttpFront::Models(const std::shared_ptr<HttpResponder>& responder) {
  Json data = Json::array();
  const std::optional<EngineLimits> limits = gateway_.pool().limits();
  for (const std::string& name : gateway_.model().names()) {
    Json model = {{"id", name}, {"object", "model"}, {"created", created_}, {"owned_by", "tern"},
                  {"root", gateway_.model().name()}, {"parent", nullptr}};
    if (limits.has_value()) model["max_model_len"] = limits->max_model_len;
    data.push_back(std::move(model));
  }
  SendJson("/v1/models", responder, Dump(Json{{"object", "list"}, {"data", std::move(data)}}));
}

void OpenAiHttpFront::Tokenize(const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder) {
  const std::string route = "/tokenize";
  absl::StatusOr<Json> body = ParseJsonBody(request.body);
  if (!body.ok()) return SendError(route, responder, BadRequest(std::string(body.status().message())));
  const bool chat = body->contains("messages");
  absl::StatusOr<GenerationRequest> parsed = chat ? ParseChatRequest(*body, gateway_.bounds())
                                                  : ParseCompletionRequest(*body, gateway_.bounds());
  if (!parsed.ok()) return SendError(route, responder, ApiErrorFromStatus(parsed.status()));
  if (absl::Status status = CheckModelName(parsed->model, gateway_.model()); !status.ok()) {
    return SendError(route, responder, ApiErrorFromStatus(status));
  }
  // vLLM's /tokenize: no generation prompt unless asked for.
  if (chat && !body->contains("add_generation_prompt")) parsed->add_generation_prompt = false;
  std::vector<int32_t> ids;
  if (chat) {
    absl::StatusOr<std::string> text = RenderChat(*parsed, gateway_.model());
    if (!text.ok()) return SendError(route, responder, ApiErrorFromStatus(text.status()));
    absl::StatusOr<std::vector<int32_t>> encoded =
        gateway_.model().tokenizer().Encode(*text, parsed->add_special_tokens.value_or(false));
    if (!encoded.ok()) return SendError(route, responder, BadRequest(std::string(encoded.status().message())));
    ids = *std::move(encoded);
  } else {
    if (parsed->prompts.size() != 1) {
      return SendError(route, responder, BadRequest("/tokenize takes one prompt", "prompt"));
    }
    const PromptInput& prompt = parsed->prompts[0];
    if (prompt.text.has_value()) {
      absl::StatusOr<std::vector<int32_t>> encoded =
          gateway_.model().tokenizer().Encode(*prompt.text, parsed->add_special_tokens.value_or(true));
      if (!encoded.ok()) return SendError(route, responder, BadRequest(std::string(encoded.status().message()), "prompt"));
      ids = *std::move(encoded);
    } else {
      ids = prompt.token_ids;
    }
  }
  Json answer = {{"count", ids.size()}};
  const std::optional<EngineLimits> limits = gateway_.pool().limits();
  answer["max_model_len"] = limits.has_value() ? Json(limits->max_model_len) : Json(nullptr);
  answer["tokens"] = ids;
  SendJson(route, responder, Dump(answer));
}

void OpenAiHttpFront::Detokenize(const HttpRequest& request, const std::shared_ptr<HttpResponder>& responder) {
  const std::string route = "/detokenize";
  absl::StatusOr<Json> body = ParseJsonBody(request.body);
  if (!body.ok()) return SendError(route, responder, BadRequest(std::string(body.status().message())));
  auto model = body->find("model");
  if (model != body->end() && model->is_string()) {
    if (absl::Status status = CheckModelName(model->get<std::string>(), gateway_.model()); !status.ok()) {
      return SendError(route, responder, ApiErrorFromStatus(status));
    }
  }
  auto tokens = body->find("tokens");
  if (tokens == body->end() || !tokens->is_array()) {
    return SendError(route, responder, BadRequest("'tokens' must be an array of token ids", "tokens"));
  }
  std::vector<int32_t> ids;
  for (const Json& id : *tokens) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= gateway_.model().vocab_size()) {
      return SendError(route, responder,
                       BadRequest(absl::StrCat("'tokens' must hold token ids in [0, ", gateway_.model().vocab_size(), ")"),
                                  "tokens"));
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  absl::StatusOr<std::string> text = gateway_.model().tokenizer().Decode(ids);
  if (!text.ok()) return SendError(route, responder, BadRequest(std::string(text.status().message()), "tokens"));
  SendJson(route, responder, Dump(Json{{"prompt", *text}}));
}

}  // namespace tern

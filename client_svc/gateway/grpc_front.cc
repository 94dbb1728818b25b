#include "client_svc/gateway/grpc_front.h"

#include <deque>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/field_error.h"

namespace tern {
namespace {

using Json = nlohmann::ordered_json;

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::StatusOr<Json> ParseEmbedded(const std::string& text, absl::string_view field) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return FieldError(field, absl::StrCat("'", field, "' is not valid JSON"));
  return value;
}

void AddOptions(const v1::GenerationOptions& o, GenerationKind kind, Json* body) {
  Json& b = *body;
  if (o.has_max_tokens()) b["max_tokens"] = o.max_tokens();
  if (o.has_temperature()) b["temperature"] = o.temperature();
  if (o.has_top_p()) b["top_p"] = o.top_p();
  if (o.has_top_k()) b["top_k"] = o.top_k();
  if (o.has_min_p()) b["min_p"] = o.min_p();
  if (o.has_seed()) b["seed"] = o.seed();
  if (o.has_presence_penalty()) b["presence_penalty"] = o.presence_penalty();
  if (o.has_frequency_penalty()) b["frequency_penalty"] = o.frequency_penalty();
  if (o.has_repetition_penalty()) b["repetition_penalty"] = o.repetition_penalty();
  if (!o.logit_bias().empty()) {
    Json bias = Json::object();
    for (const auto& [token, value] : o.logit_bias()) bias[std::to_string(token)] = value;
    b["logit_bias"] = std::move(bias);
  }
  if (o.has_n()) b["n"] = o.n();
  if (o.min_tokens() > 0) b["min_tokens"] = o.min_tokens();
  if (o.ignore_eos()) b["ignore_eos"] = true;
  if (o.stop_token_ids_size() > 0) b["stop_token_ids"] = std::vector<int32_t>(o.stop_token_ids().begin(), o.stop_token_ids().end());
  if (o.stop_size() > 0) b["stop"] = std::vector<std::string>(o.stop().begin(), o.stop().end());
  if (o.include_stop_str_in_output()) b["include_stop_str_in_output"] = true;
  if (o.has_skip_special_tokens()) b["skip_special_tokens"] = o.skip_special_tokens();
  if (o.has_logprobs()) {
    if (kind == GenerationKind::kChat) {
      b["logprobs"] = true;
      b["top_logprobs"] = o.logprobs();
    } else {
      b["logprobs"] = o.logprobs();
    }
  }
  if (o.priority() != 0) b["priority"] = o.priority();
  if (!o.cache_salt().empty()) b["cache_salt"] = o.cache_salt();
  b["stream"] = true;
}

v1::TokenText ToProto(const TokenText& t) {
  v1::TokenText out;
  out.set_id(t.id);
  out.set_text(t.text);
  out.set_logprob(t.logprob);
  return out;
}

// One streaming call. The generation's events queue chunks; whoever finds
// no write in progress takes the baton and writes the next one, so StartWrite
// and Finish are never called with the lock held or twice at once. The call
// is not finished before its setup (planning on a worker) is over, so the
// worker never touches a deleted stream; a finished call cancels its
// generation before it goes, so no event reaches a deleted stream either.
class ChunkStream : public grpc::ServerWriteReactor<v1::GenerationChunk> {
 public:
  ChunkStream(Gateway& gateway, std::string route) : gateway_(gateway), route_(std::move(route)) {}

  // Events from the generation (any thread, one at a time).
  class Sink : public GenerationSink {
   public:
    Sink(ChunkStream* stream, std::unique_ptr<Gateway::Admission> admission)
        : stream_(stream), admission_(std::move(admission)) {}
    void OnDelta(ChoiceDelta delta) override {
      if (delta.empty()) return;
      v1::GenerationChunk chunk;
      *chunk.add_choices() = ToProto(delta);
      stream_->Push(std::move(chunk), std::nullopt);
    }
    void OnComplete(const GenerationUsage& usage) override {
      v1::GenerationChunk chunk;
      *chunk.mutable_usage() = ToProto(usage);
      stream_->gateway_.metrics().CountRequest(stream_->route_, 200);
      stream_->Push(std::move(chunk), grpc::Status::OK);
    }
    void OnError(const ApiError& error) override {
      stream_->gateway_.metrics().CountRequest(stream_->route_, error.http_status);
      stream_->Push(std::nullopt, ToGrpc(error.ToStatus()));
    }

   private:
    ChunkStream* stream_;
    std::unique_ptr<Gateway::Admission> admission_;  // Held until the last event.
  };

  void SetHeader(std::string id, std::string model) {
    absl::MutexLock lock(&mu_);
    id_ = std::move(id);
    model_ = std::move(model);
  }

  // Ends the setup, with the generation it started (or null if it failed).
  void SetupDone(std::shared_ptr<Generation> generation) {
    bool cancel;
    {
      absl::MutexLock lock(&mu_);
      generation_ = generation;
      setup_done_ = true;
      cancel = final_.has_value() && generation != nullptr;
    }
    if (cancel) generation->Cancel();
    Push(std::nullopt, std::nullopt);
  }

  // Fails the call with `error` (counted under this call's route).
  void Fail(const ApiError& error) {
    gateway_.metrics().CountRequest(route_, error.http_status);
    Push(std::nullopt, ToGrpc(error.ToStatus()));
  }

  // Queues a chunk and/or the final status; writes if no write is on.
  void Push(std::optional<v1::GenerationChunk> chunk, std::optional<grpc::Status> status) {
    {
      absl::MutexLock lock(&mu_);
      if (chunk.has_value() && !final_.has_value()) {
        chunk->set_id(id_);
        chunk->set_model(model_);
        queue_.push_back(*std::move(chunk));
      }
      if (status.has_value() && !final_.has_value()) final_ = std::move(status);
      if (writing_) return;
      writing_ = true;
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      queue_.clear();
      if (!final_.has_value()) final_ = grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke");
    }
    Pump();
  }

  void OnCancel() override {
    std::shared_ptr<Generation> generation;
    {
      absl::MutexLock lock(&mu_);
      generation = generation_;
    }
    if (generation != nullptr) generation->Cancel();
    Push(std::nullopt, grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

  void OnDone() override {
    std::shared_ptr<Generation> generation;
    {
      absl::MutexLock lock(&mu_);
      generation = std::move(generation_);
    }
    if (generation != nullptr) generation->Cancel();
    delete this;
  }

 private:
  // With the baton: writes the next chunk, or finishes, or drops the baton.
  void Pump() {
    bool finish = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
      } else if (final_.has_value() && setup_done_ && !finished_) {
        finished_ = true;
        finish = true;
        status = *final_;
      } else {
        writing_ = false;
        return;
      }
    }
    if (finish) {
      Finish(status);
    } else {
      StartWrite(&current_);
    }
  }

  Gateway& gateway_;
  std::string route_;
  absl::Mutex mu_;
  std::string id_ ABSL_GUARDED_BY(mu_), model_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::GenerationChunk> queue_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> final_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool setup_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<Generation> generation_ ABSL_GUARDED_BY(mu_);
  v1::GenerationChunk current_;  // The chunk being written (baton holder only).
};

grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

absl::StatusOr<nlohmann::ordered_json> ToOpenAiBody(const v1::CompleteRequest& request) {
  Json body = Json::object();
  if (!request.model().empty()) body["model"] = request.model();
  Json prompts = Json::array();
  for (int i = 0; i < request.prompts_size(); ++i) {
    const v1::Prompt& prompt = request.prompts(i);
    if (prompt.has_token_ids()) {
      prompts.push_back(std::vector<int32_t>(prompt.token_ids().ids().begin(), prompt.token_ids().ids().end()));
    } else if (prompt.kind_case() == v1::Prompt::kText) {
      prompts.push_back(prompt.text());
    } else {
      return FieldError("prompts", absl::StrCat("prompts[", i, "] has neither text nor token_ids"));
    }
  }
  body["prompt"] = std::move(prompts);
  if (request.has_add_special_tokens()) body["add_special_tokens"] = request.add_special_tokens();
  AddOptions(request.options(), GenerationKind::kCompletion, &body);
  return body;
}

absl::StatusOr<nlohmann::ordered_json> ToOpenAiBody(const v1::ChatRequest& request) {
  Json body = Json::object();
  if (!request.model().empty()) body["model"] = request.model();
  Json messages = Json::array();
  for (const v1::ChatMessage& m : request.messages()) {
    Json message = {{"role", m.role()}, {"content", m.content()}};
    if (!m.name().empty()) message["name"] = m.name();
    if (!m.tool_call_id().empty()) message["tool_call_id"] = m.tool_call_id();
    if (!m.tool_calls_json().empty()) {
      absl::StatusOr<Json> calls = ParseEmbedded(m.tool_calls_json(), "tool_calls_json");
      if (!calls.ok()) return calls.status();
      message["tool_calls"] = *std::move(calls);
    }
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  if (!request.tools_json().empty()) {
    absl::StatusOr<Json> tools = ParseEmbedded(request.tools_json(), "tools_json");
    if (!tools.ok()) return tools.status();
    body["tools"] = *std::move(tools);
  }
  if (!request.chat_template_kwargs_json().empty()) {
    absl::StatusOr<Json> kwargs = ParseEmbedded(request.chat_template_kwargs_json(), "chat_template_kwargs_json");
    if (!kwargs.ok()) return kwargs.status();
    body["chat_template_kwargs"] = *std::move(kwargs);
  }
  if (request.has_add_generation_prompt()) body["add_generation_prompt"] = request.add_generation_prompt();
  if (request.continue_final_message()) body["continue_final_message"] = true;
  AddOptions(request.options(), GenerationKind::kChat, &body);
  return body;
}

v1::ChoiceUpdate ToProto(const ChoiceDelta& delta) {
  v1::ChoiceUpdate update;
  update.set_index(static_cast<uint32_t>(delta.index));
  update.set_text(delta.text);
  update.mutable_token_ids()->Add(delta.token_ids.begin(), delta.token_ids.end());
  for (const TokenLogprobs& entry : delta.logprobs) {
    v1::TokenLogprobs* out = update.add_logprobs();
    *out->mutable_sampled() = ToProto(entry.sampled);
    for (const TokenText& t : entry.top) *out->add_top() = ToProto(t);
  }
  if (delta.finish_reason.has_value()) update.set_finish_reason(*delta.finish_reason);
  if (delta.stop_reason.is_string()) update.set_stop_string(delta.stop_reason.get<std::string>());
  if (delta.stop_reason.is_number_integer()) update.set_stop_token_id(delta.stop_reason.get<int32_t>());
  return update;
}

v1::UsageInfo ToProto(const GenerationUsage& usage) {
  v1::UsageInfo out;
  out.set_prompt_tokens(static_cast<uint32_t>(usage.prompt_tokens));
  out.set_completion_tokens(static_cast<uint32_t>(usage.completion_tokens));
  out.set_cached_tokens(static_cast<uint32_t>(usage.cached_tokens));
  return out;
}

absl::Status GenerationService::CheckAuth(const grpc::CallbackServerContext* context) const {
  if (!gateway_.requires_auth()) return absl::OkStatus();
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end() || !gateway_.Authorized(absl::string_view(it->second.data(), it->second.size()))) {
    return Unauthorized().ToStatus();
  }
  return absl::OkStatus();
}

grpc::ServerWriteReactor<v1::GenerationChunk>* GenerationService::Complete(grpc::CallbackServerContext* context,
                                                                           const v1::CompleteRequest* request) {
  return Generate(context, GenerationKind::kCompletion, ToOpenAiBody(*request));
}

grpc::ServerWriteReactor<v1::GenerationChunk>* GenerationService::Chat(grpc::CallbackServerContext* context,
                                                                       const v1::ChatRequest* request) {
  return Generate(context, GenerationKind::kChat, ToOpenAiBody(*request));
}

grpc::ServerWriteReactor<v1::GenerationChunk>* GenerationService::Generate(
    grpc::CallbackServerContext* context, GenerationKind kind, absl::StatusOr<nlohmann::ordered_json> body) {
  auto* stream = new ChunkStream(gateway_, kind == GenerationKind::kChat ? "grpc:Chat" : "grpc:Complete");
  auto fail_now = [&](const ApiError& error) {
    stream->Fail(error);
    stream->SetupDone(nullptr);
    return stream;
  };
  if (absl::Status auth = CheckAuth(context); !auth.ok()) return fail_now(Unauthorized());
  if (!body.ok()) return fail_now(ApiErrorFromStatus(body.status()));
  absl::StatusOr<std::unique_ptr<Gateway::Admission>> admission = gateway_.Admit();
  if (!admission.ok()) return fail_now(ApiErrorFromStatus(admission.status()));
  // Templates and tokenization run on a worker.
  gateway_.Schedule([this, kind, stream, body = *std::move(body), admission = *std::move(admission)]() mutable {
    absl::StatusOr<GenerationRequest> parsed = kind == GenerationKind::kChat
                                                   ? ParseChatRequest(body, gateway_.bounds())
                                                   : ParseCompletionRequest(body, gateway_.bounds());
    if (!parsed.ok()) {
      stream->Fail(ApiErrorFromStatus(parsed.status()));
      return stream->SetupDone(nullptr);
    }
    const std::string id = NewResponseId(kind);
    stream->SetHeader(id, parsed->model.empty() ? gateway_.model().name() : parsed->model);
    absl::StatusOr<GenerationPlan> plan = gateway_.Plan(*std::move(parsed), id);
    if (!plan.ok()) {
      stream->Fail(ApiErrorFromStatus(plan.status()));
      return stream->SetupDone(nullptr);
    }
    auto sink = std::make_shared<ChunkStream::Sink>(stream, std::move(admission));
    stream->SetupDone(Generation::Start(*std::move(plan), gateway_, std::move(sink)));
  });
  return stream;
}

grpc::ServerUnaryReactor* GenerationService::Tokenize(grpc::CallbackServerContext* context,
                                                      const v1::TokenizeRequest* request,
                                                      v1::TokenizeResponse* response) {
  if (absl::Status auth = CheckAuth(context); !auth.ok()) return FinishUnary(context, ToGrpc(auth));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  gateway_.Schedule([this, reactor, request, response] {
    const ServedModel& model = gateway_.model();
    if (absl::Status status = CheckModelName(request->model(), model); !status.ok()) {
      return reactor->Finish(ToGrpc(status));
    }
    std::string text;
    bool add_special = request->has_add_special_tokens() ? request->add_special_tokens() : true;
    if (request->has_chat()) {
      absl::StatusOr<Json> body = ToOpenAiBody(request->chat());
      if (!body.ok()) return reactor->Finish(ToGrpc(body.status()));
      absl::StatusOr<GenerationRequest> parsed = ParseChatRequest(*body, gateway_.bounds());
      if (!parsed.ok()) return reactor->Finish(ToGrpc(ApiErrorFromStatus(parsed.status()).ToStatus()));
      if (!request->chat().has_add_generation_prompt()) parsed->add_generation_prompt = false;
      absl::StatusOr<std::string> rendered = RenderChat(*parsed, model);
      if (!rendered.ok()) return reactor->Finish(ToGrpc(rendered.status()));
      text = *std::move(rendered);
      add_special = request->has_add_special_tokens() && request->add_special_tokens();
    } else {
      text = request->text();
    }
    absl::StatusOr<std::vector<int32_t>> ids = model.tokenizer().Encode(text, add_special);
    if (!ids.ok()) return reactor->Finish(ToGrpc(ids.status()));
    response->mutable_token_ids()->Add(ids->begin(), ids->end());
    if (std::optional<EngineLimits> limits = gateway_.pool().limits()) {
      response->set_max_model_len(static_cast<uint32_t>(limits->max_model_len));
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* GenerationService::Models(grpc::CallbackServerContext* context,
                                                    const v1::ModelsRequest* request, v1::ModelsResponse* response) {
  if (absl::Status auth = CheckAuth(context); !auth.ok()) return FinishUnary(context, ToGrpc(auth));
  for (const std::string& name : gateway_.model().names()) response->add_names(name);
  if (std::optional<EngineLimits> limits = gateway_.pool().limits()) {
    response->set_max_model_len(static_cast<uint32_t>(limits->max_model_len));
  }
  return FinishUnary(context, grpc::Status::OK);
}

}  // namespace tern

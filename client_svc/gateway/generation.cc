#include "client_svc/gateway/generation.h"

#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tern {
namespace {

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// Worth trying on another engine: this one could not take the request.
bool Retryable(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) return true;
  return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         !absl::StrContains(status.error_message(), "the cache holds only");
}

}  // namespace

std::string NewResponseId(GenerationKind kind) {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* rng = nullptr;
  uint64_t a, b;
  {
    absl::MutexLock lock(&mu);
    if (rng == nullptr) rng = new std::mt19937_64(std::random_device{}());
    a = (*rng)();
    b = (*rng)();
  }
  return absl::StrCat(kind == GenerationKind::kChat ? "chatcmpl-" : "cmpl-", absl::Hex(a, absl::kZeroPad16),
                      absl::Hex(b, absl::kZeroPad16));
}

Generation::Generation(GenerationPlan plan, Gateway& gateway, std::shared_ptr<GenerationSink> sink)
    : plan_(std::move(plan)),
      gateway_(gateway),
      model_(gateway.model()),
      pool_(gateway.pool()),
      sink_(std::move(sink)) {
  streams_.resize(plan_.engine_requests.size());
  choices_.reserve(plan_.num_choices());
  for (int64_t i = 0; i < plan_.num_choices(); ++i) choices_.emplace_back(i, model_.tokenizer(), plan_.request);
}

std::shared_ptr<Generation> Generation::Start(GenerationPlan plan, Gateway& gateway,
                                              std::shared_ptr<GenerationSink> sink) {
  std::shared_ptr<Generation> generation(new Generation(std::move(plan), gateway, std::move(sink)));
  for (size_t p = 0; p < generation->plan_.engine_requests.size(); ++p) generation->StartStream(p);
  return generation;
}

void Generation::StartStream(size_t p) {
  RouterClient* router = gateway_.router();
  if (router == nullptr) return LaunchOrFail(p, nullptr);
  // A null engine (a fallback) makes Launch take the pool's least-loaded pick.
  router->Route(plan_.engine_requests[p], pool_, [self = shared_from_this(), p](RouteResult result) {
    self->gateway_.metrics().CountRouting(result.outcome);
    self->LaunchOrFail(p, std::move(result.engine), result.prefill_engine);
  });
}

void Generation::LaunchOrFail(size_t p, std::shared_ptr<Engine> engine, const std::string& prefill_engine) {
  if (Launch(p, std::move(engine), prefill_engine)) return;
  std::vector<std::shared_ptr<EngineCall>> cancel;
  {
    absl::MutexLock lock(&mu_);
    if (sink_ != nullptr) cancel = FailLocked(Unavailable("no engine is serving"));
  }
  for (const auto& call : cancel) call->Cancel();
}

bool Generation::Launch(size_t p, std::shared_ptr<Engine> engine, const std::string& prefill_engine) {
  int64_t attempt;
  {
    absl::MutexLock lock(&mu_);
    if (sink_ == nullptr) return true;  // Ended meanwhile: nothing to start.
    Stream& stream = streams_[p];
    if (engine == nullptr) engine = pool_.Pick(stream.tried);
    if (engine == nullptr) return false;
    stream.tried.push_back(engine.get());
    attempt = ++stream.attempt;
    stream.done = false;
  }
  // No lock here: a call may finish inside Generate.
  std::shared_ptr<Generation> self = shared_from_this();
  EngineCall::Callbacks callbacks;
  callbacks.on_response = [self, p, attempt](const v1::GenerateResponse& r) { self->OnResponse(p, attempt, r); };
  callbacks.on_done = [self, p, attempt](const grpc::Status& s) { self->OnDone(p, attempt, s); };
  std::shared_ptr<EngineCall> call;
  if (prefill_engine.empty()) {
    call = pool_.Generate(engine, plan_.engine_requests[p], std::move(callbacks));
  } else {
    v1::GenerateRequest request = plan_.engine_requests[p];
    request.set_prefill_engine(prefill_engine);
    call = pool_.Generate(engine, request, std::move(callbacks));
  }
  bool cancel = false;
  {
    absl::MutexLock lock(&mu_);
    Stream& stream = streams_[p];
    if (stream.attempt == attempt) stream.call = call;
    cancel = sink_ == nullptr;
  }
  if (cancel) call->Cancel();
  return true;
}

void Generation::OnResponse(size_t p, int64_t attempt, const v1::GenerateResponse& response) {
  std::vector<std::shared_ptr<EngineCall>> cancel;
  {
    absl::MutexLock lock(&mu_);
    Stream& stream = streams_[p];
    if (sink_ == nullptr || stream.attempt != attempt) return;
    stream.responded = true;
    if (response.num_cached_tokens() > 0) stream.cached_tokens = response.num_cached_tokens();
    if (response.sample_index() >= static_cast<uint32_t>(plan_.request.n)) {
      cancel = FailLocked(InternalError(absl::StrCat("the engine answered for sample ", response.sample_index(),
                                                     " of ", plan_.request.n)));
    } else {
      ChoiceStream& choice = choices_[p * plan_.request.n + response.sample_index()];
      absl::StatusOr<ChoiceDelta> delta = choice.Add(response);
      if (!delta.ok()) {
        cancel = FailLocked(InternalError(absl::StrCat("detokenization failed: ", delta.status().message())));
      } else {
        if (!delta->empty()) sink_->OnDelta(*std::move(delta));
        // Stop strings may have finished every choice of this prompt before
        // the engine did: free the engine's request.
        bool all_finished = true;
        for (int64_t j = 0; j < plan_.request.n; ++j) all_finished &= choices_[p * plan_.request.n + j].finished();
        if (all_finished && !stream.done && stream.call != nullptr) cancel.push_back(stream.call);
        MaybeCompleteLocked();
      }
    }
  }
  for (const auto& call : cancel) call->Cancel();
}

void Generation::OnDone(size_t p, int64_t attempt, const grpc::Status& status) {
  std::vector<std::shared_ptr<EngineCall>> cancel;
  bool retry = false;
  {
    absl::MutexLock lock(&mu_);
    Stream& stream = streams_[p];
    if (stream.attempt != attempt) return;
    stream.done = true;
    if (sink_ == nullptr) return;
    bool all_finished = true;
    for (int64_t j = 0; j < plan_.request.n; ++j) all_finished &= choices_[p * plan_.request.n + j].finished();
    if (all_finished) {
      MaybeCompleteLocked();
      return;
    }
    if (status.ok()) {
      // The engine ended without finishing every sample: end them here.
      for (int64_t j = 0; j < plan_.request.n; ++j) {
        ChoiceDelta delta = choices_[p * plan_.request.n + j].Abort();
        if (!delta.empty()) sink_->OnDelta(std::move(delta));
      }
      MaybeCompleteLocked();
      return;
    }
    retry = !stream.responded && Retryable(status);
    if (!retry) {
      const std::string address = stream.call ? stream.call->engine()->address() : "";
      ApiError error = ApiErrorFromStatus(ToAbsl(status));
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        error.message = absl::StrCat("the engine serving this request (", address,
                                     ") became unavailable: ", status.error_message());
      }
      cancel = FailLocked(error);
    }
  }
  if (retry && !Launch(p)) {
    absl::MutexLock lock(&mu_);
    if (sink_ != nullptr) {
      ApiError error = ApiErrorFromStatus(ToAbsl(status));
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        error.message = absl::StrCat("no engine could take the request: ", status.error_message());
      }
      cancel = FailLocked(error);
    }
  }
  for (const auto& call : cancel) call->Cancel();
}

std::vector<std::shared_ptr<EngineCall>> Generation::FailLocked(const ApiError& error) {
  sink_->OnError(error);
  sink_ = nullptr;
  std::vector<std::shared_ptr<EngineCall>> calls;
  for (Stream& stream : streams_) {
    if (!stream.done && stream.call != nullptr) calls.push_back(stream.call);
  }
  return calls;
}

void Generation::MaybeCompleteLocked() {
  for (const ChoiceStream& choice : choices_) {
    if (!choice.finished()) return;
  }
  GenerationUsage usage;
  usage.prompt_tokens = plan_.num_prompt_tokens;
  for (const ChoiceStream& choice : choices_) usage.completion_tokens += choice.num_tokens();
  for (const Stream& stream : streams_) usage.cached_tokens += stream.cached_tokens;
  sink_->OnComplete(usage);
  sink_ = nullptr;
}

void Generation::Cancel() {
  std::vector<std::shared_ptr<EngineCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    sink_ = nullptr;
    for (Stream& stream : streams_) {
      if (!stream.done && stream.call != nullptr) calls.push_back(stream.call);
    }
  }
  for (const auto& call : calls) call->Cancel();
}

}  // namespace tern

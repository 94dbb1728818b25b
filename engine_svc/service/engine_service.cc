#include "engine_svc/service/engine_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "engine_svc/service/request_conversion.h"
#include "engine_svc/service/write_pump.h"

namespace tern {

namespace {

// Appends `next` (a later response of the same sample) to `into`.
void Coalesce(v1::GenerateResponse next, v1::GenerateResponse& into) {
  into.mutable_token_ids()->MergeFrom(next.token_ids());
  for (v1::StepLogprobs& step : *next.mutable_logprobs()) *into.add_logprobs() = std::move(step);
  into.set_num_cached_tokens(next.num_cached_tokens());
  if (next.finished()) {
    into.set_finished(true);
    into.set_finish_reason(next.finish_reason());
    if (next.has_stop_token_id()) into.set_stop_token_id(next.stop_token_id());
    *into.mutable_usage() = next.usage();
  }
}

// A Generate stream. The reactor is owned by gRPC until OnDone; the sink side
// is shared with the engine loop, so the state they share lives in `Stream`,
// which outlives whichever side finishes first. Finish is called exactly
// once: after the last response is written, at an error, or at cancellation.
class GenerateReactor : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  using Action = WriteAction<v1::GenerateResponse>;

  struct Stream : RequestSink,
                  QueuedStreamWriter<Stream, v1::GenerateResponse>,
                  std::enable_shared_from_this<Stream> {
    explicit Stream(WritePump& pump) : QueuedStreamWriter(pump) {}
    int64_t samples_left ABSL_GUARDED_BY(mu) = 0;

    void OnOutput(EngineOutput output) override {
      {
        absl::MutexLock lock(&mu);
        if (output.finished && --samples_left == 0) final_status = grpc::Status::OK;
        if (reactor == nullptr || cancelled) return;
        v1::GenerateResponse response = ToGenerateResponse(output);
        // A client that reads slower than the engine produces gets the
        // backlog as one message, not one per step.
        const bool back_in_flight = writing && queue.size() == 1;
        if (!queue.empty() && !back_in_flight && queue.back().sample_index() == response.sample_index() &&
            !queue.back().finished()) {
          Coalesce(std::move(response), queue.back());
        } else {
          queue.push_back(std::move(response));
        }
        QueuePump();
      }
    }
    void OnError(absl::Status status) override {
      absl::MutexLock lock(&mu);
      if (!final_status.has_value()) final_status = ToGrpcStatus(status);
      QueuePump();
    }
  };

  // `refusal`, when not OK, fails the request without submitting it.
  GenerateReactor(EngineLoop& loop, WritePump& pump, const v1::GenerateRequest& request,
                  const SamplingParams& defaults, const absl::Status& refusal)
      : loop_(loop), stream_(std::make_shared<Stream>(pump)) {
    RequestSpec spec = ToRequestSpec(request, defaults);
    id_ = spec.id;
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->reactor = this;
      stream_->samples_left = spec.sampling.n;
    }
    SubmitOptions options;
    if (!request.prefill_engine().empty()) {
      options.prefill_engine = request.prefill_engine();
      options.original = request;
    }
    const absl::Status status = refusal.ok() ? loop_.Submit(spec, stream_, std::move(options)) : refusal;
    if (!status.ok()) stream_->OnError(status);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->writing = false;
      if (!ok) {
        // The stream broke (the client went away): stop writing.
        stream_->cancelled = true;
        stream_->queue.clear();
        AbortIfRunning();
      } else {
        stream_->queue.pop_front();
      }
      action = stream_->Next();
    }
    action.Run();
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->cancelled = true;
      DropUnwritten(stream_->queue, stream_->writing);
      AbortIfRunning();
      action = stream_->Next();
    }
    action.Run();
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->reactor = nullptr;
      AbortIfRunning();
    }
    delete this;
  }

 private:
  // Aborts the engine request unless it already ended: once it has, its id
  // may belong to a new request.
  void AbortIfRunning() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stream_->mu) {
    if (!stream_->final_status.has_value()) loop_.Abort(id_);
  }

  EngineLoop& loop_;
  std::shared_ptr<Stream> stream_;
  std::string id_;
};

// A WatchState stream: a bounded queue the hub fills and this drains.
class WatchReactor : public grpc::ServerWriteReactor<v1::EngineState> {
 public:
  using Action = WriteAction<v1::EngineState>;

  struct Subscriber : StateSubscriber {
    size_t max_queued = 1024;
    mutable absl::Mutex mu;
    WatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
    std::deque<v1::EngineState> queue ABSL_GUARDED_BY(mu);
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool ended ABSL_GUARDED_BY(mu) = false;  // Cancelled or broken.
    bool finish_called ABSL_GUARDED_BY(mu) = false;

    Action Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      Action action;
      if (reactor == nullptr || writing || finish_called) return action;
      action.reactor = reactor;
      if (ended) {
        finish_called = true;
        action.finish = grpc::Status::CANCELLED;
      } else if (!queue.empty()) {
        writing = true;
        action.write = &queue.front();
      }
      return action;
    }
    bool Offer(v1::EngineState state) override {
      Action action;
      {
        absl::MutexLock lock(&mu);
        if (ended) return true;
        if (queue.size() >= max_queued) return false;
        queue.push_back(std::move(state));
        action = Next();
      }
      action.Run();
      return true;
    }
    bool closed() const override {
      absl::MutexLock lock(&mu);
      return ended || reactor == nullptr;
    }
  };

  WatchReactor(StateHub& hub, size_t max_queued) : subscriber_(std::make_shared<Subscriber>()) {
    subscriber_->max_queued = max_queued;
    {
      absl::MutexLock lock(&subscriber_->mu);
      subscriber_->reactor = this;
    }
    hub.Subscribe(subscriber_);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&subscriber_->mu);
      subscriber_->writing = false;
      if (ok) {
        subscriber_->queue.pop_front();
      } else {
        subscriber_->ended = true;
        subscriber_->queue.clear();
      }
      action = subscriber_->Next();
    }
    action.Run();
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&subscriber_->mu);
      subscriber_->ended = true;
      DropUnwritten(subscriber_->queue, subscriber_->writing);
      action = subscriber_->Next();
    }
    action.Run();
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&subscriber_->mu);
      subscriber_->reactor = nullptr;
      subscriber_->ended = true;
    }
    delete this;
  }

 private:
  std::shared_ptr<Subscriber> subscriber_;
};

}  // namespace

EngineServiceImpl::EngineServiceImpl(EngineLoop& loop, StateHub& hub, v1::EngineInfo info,
                                     SamplingParams defaults, size_t watch_queue_limit,
                                     absl::Duration kv_send_delay, EngineMetrics* metrics)
    : loop_(loop),
      hub_(hub),
      info_(std::move(info)),
      defaults_(std::move(defaults)),
      watch_queue_limit_(watch_queue_limit),
      prefill_options_{FromProto(info_.kv_layout()), defaults_, kv_send_delay, metrics},
      pump_(std::make_unique<WritePump>(kWritePumpThreads)) {}

EngineServiceImpl::~EngineServiceImpl() = default;

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::ServerWriteReactor<v1::GenerateResponse>* EngineServiceImpl::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  absl::Status refusal;
  if (!request->prefill_engine().empty() && info_.role() == v1::ENGINE_ROLE_PREFILL) {
    refusal = absl::FailedPreconditionError(
        "this engine's role is prefill: send requests naming a prefill engine to a decode engine");
  }
  return new GenerateReactor(loop_, *pump_, *request, defaults_, refusal);
}

grpc::ServerWriteReactor<v1::PrefillResponse>* EngineServiceImpl::Prefill(grpc::CallbackServerContext* context,
                                                                          const v1::PrefillRequest* request) {
  if (info_.role() == v1::ENGINE_ROLE_DECODE) {
    // A reactor that only reports the refusal.
    class Refusal : public grpc::ServerWriteReactor<v1::PrefillResponse> {
     public:
      Refusal() {
        Finish(grpc::Status(grpc::FAILED_PRECONDITION, "this engine's role is decode: it serves no prefill requests"));
      }
      void OnDone() override { delete this; }
    };
    return new Refusal();
  }
  return NewPrefillReactor(loop_, *pump_, prefill_options_, *request);
}

grpc::ServerUnaryReactor* EngineServiceImpl::Abort(grpc::CallbackServerContext* context,
                                                   const v1::AbortRequest* request,
                                                   v1::AbortResponse* response) {
  response->set_found(loop_.Abort(request->request_id()));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EngineServiceImpl::GetInfo(grpc::CallbackServerContext* context,
                                                     const v1::GetInfoRequest* request,
                                                     v1::EngineInfo* response) {
  *response = info_;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::EngineState>* EngineServiceImpl::WatchState(
    grpc::CallbackServerContext* context, const v1::WatchStateRequest* request) {
  return new WatchReactor(hub_, watch_queue_limit_);
}

}  // namespace tern

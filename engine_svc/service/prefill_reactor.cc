#include "engine_svc/service/prefill_reactor.h"

#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "engine_svc/service/engine_service.h"
#include "engine_svc/service/request_conversion.h"

namespace tern {
namespace {

// A Prefill stream. As with Generate, the state shared with the engine loop
// lives in `Stream`, which outlives whichever side finishes first; Finish is
// called exactly once.
class PrefillReactor : public grpc::ServerWriteReactor<v1::PrefillResponse> {
 public:
  using Action = WriteAction<v1::PrefillResponse>;

  struct Stream : RequestSink,
                  QueuedStreamWriter<Stream, v1::PrefillResponse>,
                  std::enable_shared_from_this<Stream> {
    Stream(WritePump& pump, const PrefillServeOptions& options)
        : QueuedStreamWriter(pump, options.send_delay), metrics(options.metrics) {}
    EngineMetrics* const metrics;
    // The loop has the request in flight (computing it, or holding its
    // blocks): ending the stream must release it.
    bool loop_holds ABSL_GUARDED_BY(mu) = false;
    bool failed ABSL_GUARDED_BY(mu) = false;           // The loop reported an error.
    bool outcome_counted ABSL_GUARDED_BY(mu) = false;  // In the handoff metrics.

    void CountOutcome(EngineMetrics::HandoffOutcome outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      if (outcome_counted || metrics == nullptr) return;
      outcome_counted = true;
      metrics->CountHandoff(EngineMetrics::HandoffSide::kPrefill, outcome);
    }

    void OnKvBlocks(int64_t first_block, int64_t num_blocks, std::string data) override {
      absl::MutexLock lock(&mu);
      if (reactor == nullptr || cancelled) return;
      v1::KvBlocks* blocks = queue.emplace_back().mutable_blocks();
      blocks->set_first_block(static_cast<uint32_t>(first_block));
      blocks->set_num_blocks(static_cast<uint32_t>(num_blocks));
      *blocks->mutable_data() = std::move(data);
      QueuePump();
    }
    void OnOutput(EngineOutput output) override {
      absl::MutexLock lock(&mu);
      if (!output.finished) return;  // A sending request's one output ends it.
      if (output.finish_reason == FinishReason::kAbort || output.new_token_ids.empty()) {
        loop_holds = false;  // Aborted: the loop let it go.
        if (!final_status.has_value()) final_status = grpc::Status(grpc::ABORTED, "the prefill was aborted");
      } else {
        v1::PrefillResponse& done = queue.emplace_back();
        done.set_done(true);
        done.set_first_token_id(output.new_token_ids[0]);
        if (!output.logprobs.empty()) ToProto(output.logprobs[0], done.mutable_first_token_logprobs());
        done.set_num_cached_tokens(static_cast<uint32_t>(output.num_cached_tokens));
        if (!final_status.has_value()) final_status = grpc::Status::OK;
      }
      if (reactor == nullptr || cancelled) return;
      QueuePump();
    }
    void OnError(absl::Status status) override {
      absl::MutexLock lock(&mu);
      loop_holds = false;
      failed = true;
      if (!final_status.has_value()) final_status = ToGrpcStatus(status);
      QueuePump();
    }
  };

  PrefillReactor(EngineLoop& loop, WritePump& pump, const PrefillServeOptions& options,
                 const v1::PrefillRequest& request)
      : loop_(loop), stream_(std::make_shared<Stream>(pump, options)) {
    id_ = request.request().request_id();
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->reactor = this;
    }
    absl::Status status = Check(options, request);
    if (status.ok()) {
      RequestSpec spec = ToRequestSpec(request.request(), options.defaults);
      spec.kv_handoff = KvHandoff::kSend;
      {
        // Before Submit: the loop may report an error before Submit returns.
        absl::MutexLock lock(&stream_->mu);
        stream_->loop_holds = true;
      }
      SubmitOptions submit;
      submit.num_skip_blocks = request.num_skip_blocks();
      status = loop_.Submit(spec, stream_, std::move(submit));
    }
    if (!status.ok()) stream_->OnError(status);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->writing = false;
      if (!ok) {
        stream_->cancelled = true;
        stream_->queue.clear();
        ReleaseLease();
      } else {
        if (stream_->queue.front().done()) stream_->CountOutcome(EngineMetrics::HandoffOutcome::kSuccess);
        stream_->queue.pop_front();
        if (stream_->send_delay > absl::ZeroDuration()) {
          stream_->QueuePump();  // The delay is waited on a pump thread, not here.
          return;
        }
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
      ReleaseLease();
      action = stream_->Next();
    }
    action.Run();
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->reactor = nullptr;
      stream_->CountOutcome(stream_->failed ? EngineMetrics::HandoffOutcome::kFailed
                                            : EngineMetrics::HandoffOutcome::kAborted);
      ReleaseLease();
    }
    delete this;
  }

 private:
  static absl::Status Check(const PrefillServeOptions& options, const v1::PrefillRequest& request) {
    RETURN_IF_ERROR(
        CheckKvLayoutsMatch(options.layout, "the prefill engine", FromProto(request.layout()), "the decode engine"));
    if (!request.request().sampling().has_seed()) {
      return absl::InvalidArgumentError("a prefill request needs sampling.seed (the decode engine's seed for it)");
    }
    const int64_t prompt = request.request().prompt_token_ids_size();
    if (static_cast<int64_t>(request.num_skip_blocks()) * options.layout.block_size >= prompt) {
      return absl::InvalidArgumentError(absl::StrCat("num_skip_blocks ", request.num_skip_blocks(),
                                                     " covers the whole prompt of ", prompt, " tokens"));
    }
    return absl::OkStatus();
  }

  // The stream ended or broke: the loop releases the blocks, or aborts the
  // prefill still running. Only while it holds the request: once it let go,
  // the id may belong to a new request.
  void ReleaseLease() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stream_->mu) {
    if (!stream_->loop_holds) return;
    stream_->loop_holds = false;
    loop_.Abort(id_);
  }

  EngineLoop& loop_;
  std::shared_ptr<Stream> stream_;
  std::string id_;
};

}  // namespace

grpc::ServerWriteReactor<v1::PrefillResponse>* NewPrefillReactor(EngineLoop& loop, WritePump& pump,
                                                                 const PrefillServeOptions& options,
                                                                 const v1::PrefillRequest& request) {
  return new PrefillReactor(loop, pump, options, request);
}

}  // namespace tern

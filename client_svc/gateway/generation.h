// One client request in flight: its engine streams (one per prompt), the
// choices they feed, and the events a front turns into its wire format.
//
// Engines: each prompt goes to the engine the router names under --routing
// router (router_client.h; counted in the gateway's metrics), else, and
// whenever the router cannot answer, to the engine the pool picks. A stream that
// fails before its first response with UNAVAILABLE, or RESOURCE_EXHAUSTED
// for a full queue, is retried once on every other serving engine; after the
// first response there is no retry (the client has seen tokens). A failure
// after that, or of every engine, ends the request with an error event at
// once, and cancels its other streams. When stop strings finish every choice
// of a prompt, its stream is cancelled (the engine frees the request).
//
// Events: OnDelta per choice in stream order, then exactly one of
// OnComplete or OnError. Never two at once; never after Cancel returns.
//
// Thread safety: Start and Cancel may be called from any thread.
#ifndef TERN_CLIENT_SVC_GATEWAY_GENERATION_H_
#define TERN_CLIENT_SVC_GATEWAY_GENERATION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client_svc/gateway/api_error.h"
#include "client_svc/gateway/choice_stream.h"
#include "client_svc/gateway/engine_pool.h"
#include "client_svc/gateway/gateway.h"
#include "client_svc/gateway/generation_plan.h"
#include "client_svc/gateway/served_model.h"

namespace tern {

struct GenerationUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
};

// A fresh id for a response and its engine requests: "chatcmpl-" or "cmpl-"
// and 32 hex digits.
std::string NewResponseId(GenerationKind kind);

class GenerationSink {
 public:
  virtual ~GenerationSink() = default;
  virtual void OnDelta(ChoiceDelta delta) = 0;
  virtual void OnComplete(const GenerationUsage& usage) = 0;
  virtual void OnError(const ApiError& error) = 0;
};

class Generation : public std::enable_shared_from_this<Generation> {
 public:
  // Starts the engine streams (after asking the router, if there is one).
  // `gateway` must outlive the generation's streams.
  static std::shared_ptr<Generation> Start(GenerationPlan plan, Gateway& gateway, std::shared_ptr<GenerationSink> sink);

  // The client went away: cancels every stream; no more events.
  void Cancel();

 private:
  struct Stream {  // One prompt's engine request.
    std::shared_ptr<EngineCall> call;
    std::vector<const Engine*> tried;
    int64_t attempt = 0;     // Callbacks of earlier attempts are ignored.
    bool responded = false;  // The client may have seen its tokens.
    bool done = false;
    int64_t cached_tokens = 0;
  };

  Generation(GenerationPlan plan, Gateway& gateway, std::shared_ptr<GenerationSink> sink);

  // Starts stream `p` for the first time: on the router's engine, if there
  // is a router and it names a usable one, else on the pool's pick.
  void StartStream(size_t p);
  // Launches `p` and ends the request if no engine is serving.
  void LaunchOrFail(size_t p, std::shared_ptr<Engine> engine, const std::string& prefill_engine = "");
  // Starts (or restarts) stream `p` on `engine`, or when null on an untried
  // engine the pool picks; false if none is left. A non-empty
  // `prefill_engine` (the router's pick) asks the engine to have that engine
  // compute the prompt; retries go without.
  bool Launch(size_t p, std::shared_ptr<Engine> engine = nullptr, const std::string& prefill_engine = "");
  void OnResponse(size_t p, int64_t attempt, const v1::GenerateResponse& response);
  void OnDone(size_t p, int64_t attempt, const grpc::Status& status);
  // Ends the request with `error` (under mu_); returns the calls to cancel.
  std::vector<std::shared_ptr<EngineCall>> FailLocked(const ApiError& error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends OnComplete if every choice has finished (under mu_).
  void MaybeCompleteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const GenerationPlan plan_;
  Gateway& gateway_;
  const ServedModel& model_;
  EnginePool& pool_;
  absl::Mutex mu_;
  std::shared_ptr<GenerationSink> sink_ ABSL_GUARDED_BY(mu_);  // Null once ended or cancelled.
  std::vector<Stream> streams_ ABSL_GUARDED_BY(mu_);
  std::vector<ChoiceStream> choices_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_GENERATION_H_

// What the gateway's fronts (OpenAI HTTP, tern.v1.Generation gRPC) share:
// the served model, the engine pool (and the router client under --routing
// router), the metrics, a worker pool for prompt
// work (templates and tokenization stay off the I/O threads), the API keys
// and the bound on requests in flight.
//
// Thread safety: every method may be called from any thread.
#ifndef TERN_CLIENT_SVC_GATEWAY_GATEWAY_H_
#define TERN_CLIENT_SVC_GATEWAY_GATEWAY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client_svc/gateway/api_error.h"
#include "client_svc/gateway/engine_pool.h"
#include "client_svc/gateway/gateway_metrics.h"
#include "client_svc/gateway/generation_plan.h"
#include "client_svc/gateway/openai_request.h"
#include "client_svc/gateway/router_client.h"
#include "client_svc/gateway/served_model.h"
#include "common/thread_pool.h"

namespace tern {

struct GatewayOptions {
  ServedModelOptions model;
  EnginePoolOptions engines;
  // Required with engines.routing == kRouter, and only then.
  std::optional<RouterClientOptions> router;
  std::vector<std::string> api_keys;  // Empty: no authentication.
  int64_t max_concurrent_requests = 0;  // 0: unbounded.
  int worker_threads = 2;
  RequestBounds bounds;
};

class Gateway {
 public:
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(const GatewayOptions& options);

  // A held slot of max_concurrent_requests; released when destroyed.
  class Admission {
   public:
    explicit Admission(Gateway* gateway) : gateway_(gateway) {}
    ~Admission();
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

   private:
    Gateway* gateway_;
  };
  // A slot; RESOURCE_EXHAUSTED when max_concurrent_requests are in flight,
  // UNAVAILABLE once draining.
  absl::StatusOr<std::unique_ptr<Admission>> Admit();

  // Refuses new requests from now on (shutdown); those in flight go on.
  void StartDraining() { draining_.store(true); }
  bool draining() const { return draining_.load(); }
  // Waits until no request is in flight, up to `timeout`; true if none is.
  bool WaitIdle(absl::Duration timeout) const;

  // Whether `authorization` ("Bearer <key>", or the bare key as gRPC
  // metadata carries it) names a configured key; always true without keys.
  // Compares in time independent of where the strings differ.
  bool Authorized(absl::string_view authorization) const;
  bool requires_auth() const { return !api_keys_.empty(); }

  // Plans a request against the engines' limits: NOT_FOUND for another
  // model, UNAVAILABLE while no engine serves, INVALID_ARGUMENT (with the
  // field) for anything the request gets wrong.
  absl::StatusOr<GenerationPlan> Plan(GenerationRequest request, const std::string& request_id) const;

  // Runs `work` on a worker thread.
  void Schedule(absl::AnyInvocable<void()> work) { workers_.Schedule(std::move(work)); }

  const ServedModel& model() const { return *model_; }
  EnginePool& pool() { return *pool_; }
  // Null unless the routing policy is kRouter.
  RouterClient* router() { return router_.get(); }
  GatewayMetrics& metrics() { return *metrics_; }
  const RequestBounds& bounds() const { return bounds_; }
  int64_t in_flight() const { return in_flight_.load(); }

 private:
  explicit Gateway(int worker_threads) : workers_(worker_threads + 1) {}

  std::unique_ptr<ServedModel> model_;
  std::unique_ptr<EnginePool> pool_;
  std::unique_ptr<RouterClient> router_;
  std::unique_ptr<GatewayMetrics> metrics_;
  std::vector<std::string> api_keys_;
  int64_t max_concurrent_ = 0;
  RequestBounds bounds_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
  // Last, so it is destroyed first: queued work may use everything above.
  ThreadPool workers_;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_GATEWAY_H_

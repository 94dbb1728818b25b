// The engines a gateway sends work to: a gRPC channel per engine, a watcher
// per engine that learns its EngineInfo and follows its health
// (grpc.health.v1 Watch on tern.v1.EngineCore: SERVING while its loop runs;
// a broken stream or connection marks it unavailable at once, and the
// watcher reconnects with backoff), the gateway's own count of outstanding
// requests per engine, and the choice of an engine for a new request.
//
// Thread safety: every method may be called from any thread.
#ifndef TERN_CLIENT_SVC_GATEWAY_ENGINE_POOL_H_
#define TERN_CLIENT_SVC_GATEWAY_ENGINE_POOL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client_svc/gateway/generation_plan.h"
#include "grpcpp/grpcpp.h"
#include "tern/v1/engine.grpc.pb.h"

namespace tern {

// kRouter asks tern-router (router_client.h) for each request's engine and
// picks least-loaded whenever the router cannot answer.
enum class RoutingPolicy { kLeastLoaded, kRoundRobin, kRouter };

// "least-loaded", "round-robin" or "router".
absl::StatusOr<RoutingPolicy> ParseRoutingPolicy(absl::string_view name);

// One engine as the pool sees it.
class Engine {
 public:
  const std::string& address() const { return address_; }
  bool serving() const { return serving_.load(std::memory_order_acquire); }
  int64_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  // The engine's GetInfo answer, once connected.
  std::optional<v1::EngineInfo> info() const;

 private:
  friend class EnginePool;
  friend class EngineCall;

  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EngineCore::Stub> stub_;
  std::atomic<bool> serving_{false};
  std::atomic<int64_t> outstanding_{0};
  mutable absl::Mutex mu_;
  std::optional<v1::EngineInfo> info_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread watcher_;
};

// One Generate stream. The callbacks run on gRPC threads: on_response for
// each message in order, then on_done exactly once with the final status.
// They must not block.
class EngineCall : public grpc::ClientReadReactor<v1::GenerateResponse>,
                   public std::enable_shared_from_this<EngineCall> {
 public:
  struct Callbacks {
    std::function<void(const v1::GenerateResponse&)> on_response;
    std::function<void(const grpc::Status&)> on_done;
  };

  // Cancels the stream (the engine aborts the request within a step). Safe
  // at any time, also after on_done.
  void Cancel() { context_.TryCancel(); }
  const std::shared_ptr<Engine>& engine() const { return engine_; }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  friend class EnginePool;
  EngineCall(std::shared_ptr<Engine> engine, Callbacks callbacks)
      : engine_(std::move(engine)), callbacks_(std::move(callbacks)) {}

  std::shared_ptr<Engine> engine_;
  Callbacks callbacks_;
  grpc::ClientContext context_;
  v1::GenerateRequest request_;
  v1::GenerateResponse response_;
  std::shared_ptr<EngineCall> self_;  // Keeps the call alive until OnDone.
};

struct EnginePoolOptions {
  std::vector<std::string> addresses;  // HOST:PORT or unix:PATH.
  RoutingPolicy routing = RoutingPolicy::kLeastLoaded;
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
};

class EnginePool {
 public:
  // Starts a watcher per engine; engines become serving as they connect.
  // INVALID_ARGUMENT for an empty or duplicate address list.
  static absl::StatusOr<std::unique_ptr<EnginePool>> Create(const EnginePoolOptions& options);
  // Stops the watchers. Calls in flight keep their engines alive.
  ~EnginePool();

  // True once some engine serves; waits up to `timeout`.
  bool WaitForServing(absl::Duration timeout);
  bool AnyServing() const;
  // What the serving engines accept (from the first serving engine's info).
  std::optional<EngineLimits> limits() const;

  // A serving engine for a new request, skipping `exclude`; null if none.
  // kRouter picks as kLeastLoaded: this is its fallback.
  std::shared_ptr<Engine> Pick(absl::Span<const Engine* const> exclude = {});
  // The engine at `address` (as listed in the options); null if none is.
  std::shared_ptr<Engine> Find(absl::string_view address) const;

  // Starts `request` on `engine`.
  std::shared_ptr<EngineCall> Generate(std::shared_ptr<Engine> engine, const v1::GenerateRequest& request,
                                       EngineCall::Callbacks callbacks);

  const std::vector<std::shared_ptr<Engine>>& engines() const { return engines_; }

 private:
  explicit EnginePool(const EnginePoolOptions& options) : options_(options) {}
  void Watch(Engine* engine);
  // Sleeps up to `d` unless the pool stops; false once stopping.
  bool SleepUnlessStopping(absl::Duration d);

  EnginePoolOptions options_;
  std::vector<std::shared_ptr<Engine>> engines_;
  std::atomic<uint64_t> next_{0};  // Rotation for round-robin and ties.
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_ENGINE_POOL_H_

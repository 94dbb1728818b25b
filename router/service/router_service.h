// The tern.v1.Router gRPC service, and the sink the engine watchers report
// to: one RouterCore behind a mutex. Route converts and checks the request,
// hashes a token-id prompt (outside the lock) at each block size the model's
// engines use, and asks the core.
//
// Thread safety: every method may be called from any thread. The lock is
// held only for core calls (microseconds), never across I/O.
#ifndef TERN_ROUTER_SERVICE_ROUTER_SERVICE_H_
#define TERN_ROUTER_SERVICE_ROUTER_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "router/core/router_core.h"
#include "router/service/engine_watcher.h"
#include "router/service/router_metrics.h"
#include "tern/v1/router.grpc.pb.h"

namespace tern {

class RouterService final : public v1::Router::CallbackService, public EngineStateSink {
 public:
  // Limits on what one Route request may carry.
  static constexpr int kMaxPromptTokens = 1 << 21;
  static constexpr int kMaxBlockKeys = 1 << 17;

  // `metrics` must outlive the service and serve no other.
  RouterService(const RouterCoreConfig& config, RouterMetrics& metrics);

  // Adds an engine (a target slot); call before serving. Returns its slot.
  int AddEngine(const std::string& address);

  // The placement for one request. Errors as in router.proto.
  absl::StatusOr<v1::RouteResponse> RouteOne(const v1::RouteRequest& request);
  v1::ListEnginesResponse ListAll();
  bool AnyEngineAvailable();
  // Brings the index and per-engine gauges up to date (before a scrape).
  void RefreshGauges();

  // v1::Router.
  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* context, const v1::RouteRequest* request,
                                  v1::RouteResponse* response) override;
  grpc::ServerUnaryReactor* ListEngines(grpc::CallbackServerContext* context, const v1::ListEnginesRequest* request,
                                        v1::ListEnginesResponse* response) override;

  // EngineStateSink.
  absl::Status OnConnected(int target, const v1::EngineInfo& info) override;
  StreamVerdict OnState(int target, const v1::EngineState& state) override;
  void OnDisconnected(int target) override;
  void OnServing(int target, bool serving) override;

 private:
  // The request's keys as core chains (hashing token ids per block size).
  absl::StatusOr<RouteQuery> ToQuery(const v1::RouteRequest& request);
  std::string AddressOf(int target);

  RouterMetrics& metrics_;
  absl::Mutex mu_;
  RouterCore core_ ABSL_GUARDED_BY(mu_);
  std::vector<std::optional<v1::EngineInfo>> infos_ ABSL_GUARDED_BY(mu_);
};

// absl status -> gRPC status (the codes are the same numbers).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace tern

#endif  // TERN_ROUTER_SERVICE_ROUTER_SERVICE_H_

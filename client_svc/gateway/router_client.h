// The gateway's side of tern-router (--routing router): for each prompt it
// computes the block keys exactly as the engines do (common/block_hash.h, at
// the engines' block size, with the request's cache salt), asks
// tern.v1.Router/Route under a short deadline, and resolves the answer to
// one of the pool's engines. Whenever that fails (the router is unreachable
// or slow, answers an error, or names an engine this gateway does not have
// or that is not serving) the result says why and carries no engine: the
// caller falls back to the pool's least-loaded pick, so a request never
// fails for the router's sake.
//
// Engines are matched by address: the router and the gateway must be given
// the same spelling (HOST:PORT) of each engine.
//
// Thread safety: every method may be called from any thread.
#ifndef TERN_CLIENT_SVC_GATEWAY_ROUTER_CLIENT_H_
#define TERN_CLIENT_SVC_GATEWAY_ROUTER_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client_svc/gateway/engine_pool.h"
#include "grpcpp/grpcpp.h"
#include "tern/v1/engine.pb.h"
#include "tern/v1/router.grpc.pb.h"

namespace tern {

enum class RouteOutcome {
  kRouted,             // The router's engine.
  kTimeout,            // No answer within the deadline.
  kUnavailable,        // Unreachable, or it had no available engine (gRPC UNAVAILABLE).
  kRouterError,        // It answered another error.
  kUnknownEngine,      // It named an engine this gateway does not have.
  kEngineUnavailable,  // It named one of ours that this gateway does not see serving.
};

// The metric label of a fallback: "timeout", "unavailable", "error",
// "unknown_engine" or "engine_unavailable"; empty for kRouted.
absl::string_view FallbackReason(RouteOutcome outcome);

// What the engines agree on, for computing keys the way they do.
struct RouteKeying {
  std::string model;       // Empty: they differ (or none is known): any engine.
  int64_t block_size = 0;  // 0: they differ or none is known yet.
};

// The model name and block size of every engine whose EngineInfo the pool
// has.
RouteKeying KeyingOf(const EnginePool& pool);

// The Route request for one engine request. With keying.block_size > 0 it
// carries the prompt's full-block keys at that size (with the request's
// cache salt) and the prompt length; otherwise the token ids and salt, and
// the router hashes them at each block size its engines use.
v1::RouteRequest MakeRouteRequest(const v1::GenerateRequest& request, const RouteKeying& keying);

struct RouteResult {
  std::shared_ptr<Engine> engine;  // Null unless outcome is kRouted.
  RouteOutcome outcome = RouteOutcome::kRouted;
  // With kRouted, the engine to compute the prompt for `engine` (prefill/
  // decode disaggregation: GenerateRequest.prefill_engine); empty: none.
  // The decode engine connects to it, so the gateway need not know it.
  std::string prefill_engine;
};

// The router's answer resolved against `pool`.
RouteResult ResolveRoute(const v1::RouteResponse& response, const EnginePool& pool);
// The fallback outcome of a failed Route call.
RouteOutcome OutcomeOfError(const grpc::Status& status);

struct RouterClientOptions {
  std::string address;                              // HOST:PORT or unix:PATH.
  absl::Duration timeout = absl::Milliseconds(20);  // Per Route call, > 0.
};

class RouterClient {
 public:
  // Connects in the background. INVALID_ARGUMENT for an empty address or a
  // timeout that is not positive.
  static absl::StatusOr<std::unique_ptr<RouterClient>> Create(const RouterClientOptions& options);

  using Done = absl::AnyInvocable<void(RouteResult)>;
  // Asks where `request` should run among `pool`'s engines. Never blocks:
  // `done` runs exactly once, on a gRPC thread (or inline), within about the
  // timeout. `pool` and this client must outlive the call.
  void Route(const v1::GenerateRequest& request, const EnginePool& pool, Done done);

  const std::string& address() const { return options_.address; }

 private:
  explicit RouterClient(const RouterClientOptions& options) : options_(options) {}
  // Logs when Route calls start or stop failing (not per request).
  void NoteStatus(const grpc::Status& status);

  RouterClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Router::Stub> stub_;
  std::atomic<bool> routing_{true};  // The last call succeeded.
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_ROUTER_CLIENT_H_

#include "client_svc/gateway/router_client.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "client_svc/gateway/peer_channel.h"
#include "common/block_hash.h"
#include "common/logging.h"

namespace tern {

absl::string_view FallbackReason(RouteOutcome outcome) {
  switch (outcome) {
    case RouteOutcome::kRouted:
      return "";
    case RouteOutcome::kTimeout:
      return "timeout";
    case RouteOutcome::kUnavailable:
      return "unavailable";
    case RouteOutcome::kRouterError:
      return "error";
    case RouteOutcome::kUnknownEngine:
      return "unknown_engine";
    case RouteOutcome::kEngineUnavailable:
      return "engine_unavailable";
  }
  return "error";
}

RouteKeying KeyingOf(const EnginePool& pool) {
  RouteKeying keying;
  bool first = true;
  for (const std::shared_ptr<Engine>& engine : pool.engines()) {
    const std::optional<v1::EngineInfo> info = engine->info();
    if (!info.has_value()) continue;
    if (first) {
      keying.model = info->model();
      keying.block_size = info->block_size();
      first = false;
      continue;
    }
    if (info->model() != keying.model) keying.model.clear();
    if (static_cast<int64_t>(info->block_size()) != keying.block_size) keying.block_size = 0;
  }
  return keying;
}

v1::RouteRequest MakeRouteRequest(const v1::GenerateRequest& request, const RouteKeying& keying) {
  v1::RouteRequest route;
  route.set_request_id(request.request_id());
  route.set_model(keying.model);
  route.set_max_tokens(request.sampling().max_tokens());
  const absl::Span<const int32_t> tokens(request.prompt_token_ids().data(), request.prompt_token_ids_size());
  if (keying.block_size <= 0) {
    v1::PromptTokens* prompt = route.mutable_tokens();
    prompt->mutable_token_ids()->Add(tokens.begin(), tokens.end());
    prompt->set_cache_salt(request.cache_salt());
    return route;
  }
  BlockExtraKeys extra;
  extra.cache_salt = request.cache_salt();
  v1::BlockKeyChain* chain = route.mutable_block_keys();
  chain->set_block_size(static_cast<uint32_t>(keying.block_size));
  for (const BlockKey& key : ComputeBlockKeys(tokens, keying.block_size, extra)) {
    chain->add_keys(std::string(key.AsBytes()));
  }
  route.set_num_prompt_tokens(static_cast<uint32_t>(tokens.size()));
  return route;
}

RouteResult ResolveRoute(const v1::RouteResponse& response, const EnginePool& pool) {
  RouteResult result;
  std::shared_ptr<Engine> engine = pool.Find(response.engine_address());
  if (engine == nullptr) {
    result.outcome = RouteOutcome::kUnknownEngine;
  } else if (!engine->serving()) {
    result.outcome = RouteOutcome::kEngineUnavailable;
  } else {
    result.engine = std::move(engine);
    result.prefill_engine = response.prefill_engine_address();
  }
  return result;
}

RouteOutcome OutcomeOfError(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return RouteOutcome::kTimeout;
    case grpc::StatusCode::UNAVAILABLE:
      return RouteOutcome::kUnavailable;
    default:
      return RouteOutcome::kRouterError;
  }
}

absl::StatusOr<std::unique_ptr<RouterClient>> RouterClient::Create(const RouterClientOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("the router address is empty");
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the router timeout must be positive, got ", absl::FormatDuration(options.timeout)));
  }
  auto client = std::unique_ptr<RouterClient>(new RouterClient(options));
  // A router that went away is noticed at once (its calls then fail fast
  // and fall back).
  client->channel_ = CreatePeerChannel(options.address);
  client->channel_->GetState(/*try_to_connect=*/true);
  client->stub_ = v1::Router::NewStub(client->channel_);
  return client;
}

void RouterClient::Route(const v1::GenerateRequest& request, const EnginePool& pool, Done done) {
  struct Call {
    grpc::ClientContext context;
    v1::RouteRequest request;
    v1::RouteResponse response;
    Done done;
  };
  auto call = std::make_shared<Call>();
  call->request = MakeRouteRequest(request, KeyingOf(pool));
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  stub_->async()->Route(&call->context, &call->request, &call->response, [this, call, &pool](grpc::Status status) {
    RouteResult result;
    if (status.ok()) {
      result = ResolveRoute(call->response, pool);
    } else {
      result.outcome = OutcomeOfError(status);
    }
    NoteStatus(status);
    call->done(std::move(result));
  });
}

void RouterClient::NoteStatus(const grpc::Status& status) {
  const bool ok = status.ok();
  if (routing_.exchange(ok, std::memory_order_relaxed) == ok) return;
  if (ok) {
    LOG(INFO) << "router " << options_.address << " routes again";
  } else {
    LOG(WARNING) << "router " << options_.address << ": " << status.error_message()
                 << "; requests go least-loaded until it routes again";
  }
}

}  // namespace tern

#include "router/service/router_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "router/service/state_conversion.h"

namespace tern {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

RouterService::RouterService(const RouterCoreConfig& config, RouterMetrics& metrics)
    : metrics_(metrics), core_(config) {}

int RouterService::AddEngine(const std::string& address) {
  absl::MutexLock lock(&mu_);
  const int target = core_.AddTarget(address);
  CHECK_EQ(metrics_.AddEngine(address), target);
  infos_.emplace_back();
  return target;
}

absl::StatusOr<RouteQuery> RouterService::ToQuery(const v1::RouteRequest& request) {
  RouteQuery query;
  query.model = request.model();
  query.max_tokens = request.max_tokens();
  query.session_id = request.session_id();
  if (!v1::EngineRole_IsValid(request.role())) {
    return absl::InvalidArgumentError(absl::StrCat("'role' is ", request.role(), "; it is not an EngineRole"));
  }
  query.role = RoleFromProto(request.role());
  switch (request.prompt_case()) {
    case v1::RouteRequest::kBlockKeys: {
      const v1::BlockKeyChain& chain = request.block_keys();
      if (chain.keys_size() > kMaxBlockKeys) {
        return absl::InvalidArgumentError(absl::StrCat("the request carries ", chain.keys_size(),
                                                       " block keys; at most ", kMaxBlockKeys, " are allowed"));
      }
      if (chain.block_size() > 65536) {
        return absl::InvalidArgumentError(
            absl::StrCat("'block_keys.block_size' is ", chain.block_size(), "; it must be at most 65536"));
      }
      if (request.num_prompt_tokens() == 0) {
        return absl::InvalidArgumentError("'num_prompt_tokens' is required with block_keys");
      }
      const int64_t covered = static_cast<int64_t>(chain.keys_size()) * chain.block_size();
      if (covered > request.num_prompt_tokens()) {
        return absl::InvalidArgumentError(absl::StrCat("'block_keys' cover ", covered, " tokens (", chain.keys_size(),
                                                       " keys of ", chain.block_size(), "), more than the prompt's ",
                                                       request.num_prompt_tokens()));
      }
      query.prompt_tokens = request.num_prompt_tokens();
      KeyChain keys{chain.block_size(), {}};
      keys.keys.reserve(chain.keys_size());
      for (int i = 0; i < chain.keys_size(); ++i) {
        ASSIGN_OR_RETURN(BlockKey key, KeyFromBytes(chain.keys(i), absl::StrCat("'block_keys.keys[", i, "]'")));
        keys.keys.push_back(key);
      }
      query.chains.push_back(std::move(keys));
      return query;
    }
    case v1::RouteRequest::kTokens: {
      const v1::PromptTokens& tokens = request.tokens();
      if (tokens.token_ids_size() > kMaxPromptTokens) {
        return absl::InvalidArgumentError(absl::StrCat("the prompt has ", tokens.token_ids_size(), " tokens; at most ",
                                                       kMaxPromptTokens, " are allowed"));
      }
      query.prompt_tokens = tokens.token_ids_size();
      std::vector<int64_t> sizes;
      {
        absl::MutexLock lock(&mu_);
        sizes = core_.BlockSizes(query.model);
      }
      const BlockExtraKeys extra{tokens.cache_salt(), ""};
      const absl::Span<const int32_t> ids(tokens.token_ids().data(), tokens.token_ids_size());
      for (int64_t size : sizes) query.chains.push_back(KeyChain{size, ComputeBlockKeys(ids, size, extra)});
      return query;
    }
    default:
      return absl::InvalidArgumentError("the request carries neither 'block_keys' nor 'tokens'");
  }
}

absl::StatusOr<v1::RouteResponse> RouterService::RouteOne(const v1::RouteRequest& request) {
  absl::StatusOr<RouteQuery> query = ToQuery(request);
  if (!query.ok()) {
    metrics_.CountOutcome(query.status());
    return query.status();
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<RouteDecision> decision;
  {
    absl::MutexLock lock(&mu_);
    decision = core_.Route(*query, absl::Now());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.CountOutcome(decision.status());
  if (!decision.ok()) return decision.status();
  const bool disaggregated = decision->prefill_target >= 0;
  metrics_.CountRouted(decision->target, decision->prefill_target, query->prompt_tokens,
                       disaggregated ? decision->prefill_cached_tokens : decision->cached_tokens, seconds);
  v1::RouteResponse response;
  response.set_engine_address(decision->address);
  response.set_predicted_cached_tokens(static_cast<uint32_t>(decision->cached_tokens));
  response.set_predicted_seconds_to_first_token(decision->cost);
  response.set_num_candidates(static_cast<uint32_t>(decision->num_candidates));
  if (disaggregated) {
    response.set_prefill_engine_address(decision->prefill_address);
    response.set_predicted_prefill_cached_tokens(static_cast<uint32_t>(decision->prefill_cached_tokens));
  }
  return response;
}

v1::ListEnginesResponse RouterService::ListAll() {
  v1::ListEnginesResponse response;
  absl::MutexLock lock(&mu_);
  for (const TargetStatus& status : core_.Targets()) {
    const std::optional<v1::EngineInfo>& info = infos_[status.target];
    *response.add_engines() = StatusToProto(status, info.has_value() ? &*info : nullptr);
  }
  return response;
}

bool RouterService::AnyEngineAvailable() {
  absl::MutexLock lock(&mu_);
  for (int t = 0; t < core_.num_targets(); ++t) {
    if (core_.Target(t).routable) return true;
  }
  return false;
}

void RouterService::RefreshGauges() {
  absl::MutexLock lock(&mu_);
  const PrefixIndex& index = core_.index();
  metrics_.index_blocks->Set(static_cast<double>(index.num_blocks()));
  metrics_.index_bytes->Set(static_cast<double>(index.MemoryBytes()));
  metrics_.index_capacity->Set(static_cast<double>(index.max_blocks()));
  metrics_.index_capacity_evictions->Set(static_cast<double>(index.num_capacity_evictions()));
  const InFlightPrefixes* in_flight = core_.in_flight();
  metrics_.in_flight_blocks->Set(in_flight != nullptr ? static_cast<double>(in_flight->num_blocks()) : 0);
  for (const TargetStatus& status : core_.Targets()) {
    RouterMetrics::Engine& e = metrics_.engines[status.target];
    e.available->Set(status.routable ? 1 : 0);
    e.indexed_blocks->Set(static_cast<double>(status.num_indexed_blocks));
    e.pending->Set(static_cast<double>(status.num_pending));
    e.reported_cached_tokens->Set(static_cast<double>(status.load.prefix_cache_hit_tokens));
    e.reported_prompt_tokens->Set(static_cast<double>(status.load.prefix_cache_queried_tokens));
  }
}

grpc::ServerUnaryReactor* RouterService::Route(grpc::CallbackServerContext* context, const v1::RouteRequest* request,
                                               v1::RouteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::RouteResponse> placed = RouteOne(*request);
  if (placed.ok()) *response = std::move(*placed);
  reactor->Finish(ToGrpcStatus(placed.status()));
  return reactor;
}

grpc::ServerUnaryReactor* RouterService::ListEngines(grpc::CallbackServerContext* context,
                                                     const v1::ListEnginesRequest* request,
                                                     v1::ListEnginesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  *response = ListAll();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::Status RouterService::OnConnected(int target, const v1::EngineInfo& info) {
  absl::MutexLock lock(&mu_);
  const std::optional<v1::EngineInfo>& before = infos_[target];
  RETURN_IF_ERROR(core_.OnConnected(target, DescriptionFromProto(info)));
  if (before.has_value()) {
    metrics_.CountResync(target, before->epoch() != info.epoch() ? ResyncReason::kEpoch : ResyncReason::kReconnect);
  }
  infos_[target] = info;
  return absl::OkStatus();
}

StreamVerdict RouterService::OnState(int target, const v1::EngineState& state) {
  absl::StatusOr<EngineStateUpdate> update = StateFromProto(state);
  if (!update.ok()) {
    LOG(WARNING) << "engine " << AddressOf(target) << " sent a malformed state message: " << update.status().message();
    metrics_.CountResync(target, ResyncReason::kMalformed);
    return StreamVerdict::kReconnect;
  }
  StateOutcome outcome;
  {
    absl::MutexLock lock(&mu_);
    outcome = core_.OnState(target, *update, absl::Now());
  }
  switch (outcome) {
    case StateOutcome::kApplied:
      return StreamVerdict::kFollowing;
    case StateOutcome::kAwaitingSnapshot:
      return StreamVerdict::kAwaitingSnapshot;
    case StateOutcome::kSequenceGap:
      LOG(WARNING) << "engine " << AddressOf(target) << ": state sequence gap at " << state.sequence()
                   << "; awaiting its snapshot";
      metrics_.CountResync(target, ResyncReason::kGap);
      return StreamVerdict::kAwaitingSnapshot;
    case StateOutcome::kNewEpoch:
      metrics_.CountResync(target, ResyncReason::kEpoch);
      return StreamVerdict::kReconnect;
  }
  return StreamVerdict::kReconnect;
}

std::string RouterService::AddressOf(int target) {
  absl::MutexLock lock(&mu_);
  return core_.Target(target).address;
}

void RouterService::OnDisconnected(int target) {
  absl::MutexLock lock(&mu_);
  core_.OnDisconnected(target);
}

void RouterService::OnServing(int target, bool serving) {
  absl::MutexLock lock(&mu_);
  core_.OnServing(target, serving);
}

}  // namespace tern

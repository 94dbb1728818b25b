#include "client_svc/gateway/engine_pool.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "client_svc/gateway/peer_channel.h"
#include "common/logging.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tern {
namespace {

constexpr absl::Duration kInfoDeadline = absl::Seconds(2);

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return CreatePeerChannel(address, args);
}

}  // namespace

absl::StatusOr<RoutingPolicy> ParseRoutingPolicy(absl::string_view name) {
  if (name == "least-loaded") return RoutingPolicy::kLeastLoaded;
  if (name == "round-robin") return RoutingPolicy::kRoundRobin;
  if (name == "router") return RoutingPolicy::kRouter;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown routing policy '", name, "'; use least-loaded, round-robin or router"));
}

std::optional<v1::EngineInfo> Engine::info() const {
  absl::MutexLock lock(&mu_);
  return info_;
}

void EngineCall::OnReadDone(bool ok) {
  if (!ok) return;  // The stream ended; OnDone follows.
  callbacks_.on_response(response_);
  StartRead(&response_);
}

void EngineCall::OnDone(const grpc::Status& status) {
  engine_->outstanding_.fetch_sub(1, std::memory_order_relaxed);
  callbacks_.on_done(status);
  // Release the callbacks (and what they hold) with the last reference.
  callbacks_ = {};
  std::shared_ptr<EngineCall> self = std::move(self_);
}

absl::StatusOr<std::unique_ptr<EnginePool>> EnginePool::Create(const EnginePoolOptions& options) {
  if (options.addresses.empty()) return absl::InvalidArgumentError("no engine addresses given");
  absl::flat_hash_set<std::string> seen;
  for (const std::string& address : options.addresses) {
    if (address.empty()) return absl::InvalidArgumentError("an engine address is empty");
    if (!seen.insert(address).second) {
      return absl::InvalidArgumentError(absl::StrCat("engine address ", address, " is listed twice"));
    }
  }
  auto pool = std::unique_ptr<EnginePool>(new EnginePool(options));
  for (const std::string& address : options.addresses) {
    auto engine = std::make_shared<Engine>();
    engine->address_ = address;
    engine->channel_ = MakeChannel(address);
    engine->stub_ = v1::EngineCore::NewStub(engine->channel_);
    pool->engines_.push_back(engine);
  }
  for (const std::shared_ptr<Engine>& engine : pool->engines_) {
    engine->watcher_ = std::thread([p = pool.get(), e = engine.get()] { p->Watch(e); });
  }
  return pool;
}

EnginePool::~EnginePool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (const std::shared_ptr<Engine>& engine : engines_) {
    {
      absl::MutexLock lock(&engine->mu_);
      if (engine->watch_context_ != nullptr) engine->watch_context_->TryCancel();
    }
    if (engine->watcher_.joinable()) engine->watcher_.join();
  }
}

bool EnginePool::SleepUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  const absl::Time until = absl::Now() + d;
  while (!stopping_ && !changed_.WaitWithDeadline(&mu_, until)) {
  }
  return !stopping_;
}

void EnginePool::Watch(Engine* engine) {
  auto health = grpc::health::v1::Health::NewStub(engine->channel_);
  absl::Duration backoff = options_.min_backoff;
  bool was_serving = false;
  auto set_serving = [&](bool serving) {
    if (serving == engine->serving()) return;
    engine->serving_.store(serving, std::memory_order_release);
    if (serving != was_serving) {
      LOG(INFO) << "engine " << engine->address() << (serving ? " is serving" : " is unavailable");
      was_serving = serving;
    }
    absl::MutexLock lock(&mu_);
    changed_.SignalAll();
  };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    grpc::ClientContext info_context;
    info_context.set_deadline(absl::ToChronoTime(absl::Now() + kInfoDeadline));
    info_context.set_wait_for_ready(true);
    v1::EngineInfo info;
    grpc::Status status = engine->stub_->GetInfo(&info_context, v1::GetInfoRequest(), &info);
    if (status.ok()) {
      {
        absl::MutexLock lock(&engine->mu_);
        engine->info_ = info;
      }
      grpc::ClientContext watch_context;
      {
        absl::MutexLock lock(&engine->mu_);
        engine->watch_context_ = &watch_context;
      }
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) watch_context.TryCancel();
      }
      grpc::health::v1::HealthCheckRequest request;
      request.set_service(v1::EngineCore::service_full_name());
      std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> reader =
          health->Watch(&watch_context, request);
      grpc::health::v1::HealthCheckResponse response;
      while (reader->Read(&response)) {
        set_serving(response.status() == grpc::health::v1::HealthCheckResponse::SERVING);
        backoff = options_.min_backoff;
      }
      set_serving(false);
      status = reader->Finish();
      absl::MutexLock lock(&engine->mu_);
      engine->watch_context_ = nullptr;
    }
    set_serving(false);
    if (!SleepUnlessStopping(backoff)) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool EnginePool::WaitForServing(absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (!AnyServing()) {
    if (stopping_ || changed_.WaitWithDeadline(&mu_, until)) return AnyServing();
  }
  return true;
}

bool EnginePool::AnyServing() const {
  return std::any_of(engines_.begin(), engines_.end(), [](const auto& e) { return e->serving(); });
}

std::optional<EngineLimits> EnginePool::limits() const {
  for (const std::shared_ptr<Engine>& engine : engines_) {
    if (!engine->serving()) continue;
    std::optional<v1::EngineInfo> info = engine->info();
    if (!info.has_value()) continue;
    return EngineLimits{static_cast<int64_t>(info->vocab_size()), static_cast<int64_t>(info->max_model_len())};
  }
  return std::nullopt;
}

std::shared_ptr<Engine> EnginePool::Pick(absl::Span<const Engine* const> exclude) {
  const size_t n = engines_.size();
  const uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<Engine> best;
  for (size_t k = 0; k < n; ++k) {
    const std::shared_ptr<Engine>& engine = engines_[(start + k) % n];
    if (!engine->serving() || std::find(exclude.begin(), exclude.end(), engine.get()) != exclude.end()) {
      continue;
    }
    // Round-robin takes the first serving engine after the rotating start;
    // least-loaded the fewest outstanding requests, ties in rotation order.
    if (options_.routing == RoutingPolicy::kRoundRobin) return engine;
    if (best == nullptr || engine->outstanding() < best->outstanding()) best = engine;
  }
  return best;
}

std::shared_ptr<Engine> EnginePool::Find(absl::string_view address) const {
  for (const std::shared_ptr<Engine>& engine : engines_) {
    if (engine->address() == address) return engine;
  }
  return nullptr;
}

std::shared_ptr<EngineCall> EnginePool::Generate(std::shared_ptr<Engine> engine,
                                                 const v1::GenerateRequest& request,
                                                 EngineCall::Callbacks callbacks) {
  std::shared_ptr<EngineCall> call(new EngineCall(engine, std::move(callbacks)));
  call->self_ = call;
  call->request_ = request;
  engine->outstanding_.fetch_add(1, std::memory_order_relaxed);
  engine->stub_->async()->Generate(&call->context_, &call->request_, call.get());
  call->StartRead(&call->response_);
  call->StartCall();
  return call;
}

}  // namespace tern

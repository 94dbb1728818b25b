#include "client_svc/gateway/gateway.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// Equal strings, in time that depends only on the lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(const GatewayOptions& options) {
  if (options.worker_threads < 1) return absl::InvalidArgumentError("worker_threads must be at least 1");
  for (const std::string& key : options.api_keys) {
    if (key.empty()) return absl::InvalidArgumentError("an API key is empty");
  }
  const bool routed = options.engines.routing == RoutingPolicy::kRouter;
  if (routed && !options.router.has_value()) {
    return absl::InvalidArgumentError("routing by the router needs the router's address");
  }
  if (!routed && options.router.has_value()) {
    return absl::InvalidArgumentError("a router address is only used when routing by the router");
  }
  auto gateway = std::unique_ptr<Gateway>(new Gateway(options.worker_threads));
  ASSIGN_OR_RETURN(gateway->model_, ServedModel::Load(options.model));
  ASSIGN_OR_RETURN(gateway->pool_, EnginePool::Create(options.engines));
  if (routed) {
    ASSIGN_OR_RETURN(gateway->router_, RouterClient::Create(*options.router));
  }
  gateway->metrics_ = std::make_unique<GatewayMetrics>(gateway->model_->name());
  gateway->api_keys_ = options.api_keys;
  gateway->max_concurrent_ = options.max_concurrent_requests;
  gateway->bounds_ = options.bounds;
  return gateway;
}

Gateway::Admission::~Admission() {
  gateway_->in_flight_.fetch_sub(1);
  gateway_->metrics_->requests_in_flight->Decrement();
}

absl::StatusOr<std::unique_ptr<Gateway::Admission>> Gateway::Admit() {
  if (draining()) return absl::UnavailableError("the gateway is shutting down");
  const int64_t now = in_flight_.fetch_add(1) + 1;
  metrics_->requests_in_flight->Increment();
  auto admission = std::make_unique<Admission>(this);
  if (max_concurrent_ > 0 && now > max_concurrent_) {
    return absl::ResourceExhaustedError(absl::StrCat("the gateway is serving its maximum of ", max_concurrent_,
                                                     " concurrent requests; retry shortly"));
  }
  return admission;
}

bool Gateway::WaitIdle(absl::Duration timeout) const {
  const absl::Time until = absl::Now() + timeout;
  while (in_flight_.load() > 0) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

bool Gateway::Authorized(absl::string_view authorization) const {
  if (api_keys_.empty()) return true;
  absl::string_view key = authorization;
  if (absl::StartsWithIgnoreCase(key, "bearer ")) key.remove_prefix(7);
  bool match = false;
  for (const std::string& expected : api_keys_) match |= ConstantTimeEquals(key, expected);
  return match;
}

absl::StatusOr<GenerationPlan> Gateway::Plan(GenerationRequest request, const std::string& request_id) const {
  RETURN_IF_ERROR(CheckModelName(request.model, *model_));
  std::optional<EngineLimits> limits = pool_->limits();
  if (!limits.has_value()) return absl::UnavailableError("no engine is serving");
  return PlanGeneration(std::move(request), *model_, *limits, request_id);
}

}  // namespace tern

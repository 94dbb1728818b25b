// tern-router: placement for a set of engines over the tern.v1.Router gRPC
// service, with grpc.health.v1 and Prometheus metrics.
//
//   tern-router --engines 10.0.0.1:8100,10.0.0.2:8100 --listen 0.0.0.0:8200
//       --max-indexed-blocks 4194304 --metrics-port 9200
//
// SIGTERM (or SIGINT) stops it: watchers are cancelled, in-flight calls get
// two seconds, then the process exits 0.
#include <atomic>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/flags.h"
#include "common/grpc_server_limits.h"
#include "common/http_server.h"
#include "common/logging.h"
#include "common/shutdown_signals.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "router/service/engine_watcher.h"
#include "router/service/router_metrics.h"
#include "router/service/router_service.h"

ABSL_FLAG(std::string, engines, "", "Comma-separated engine addresses (HOST:PORT), one target each.");
ABSL_FLAG(std::string, listen, "127.0.0.1:8200", "gRPC address: HOST:PORT (port 0: any) or unix:PATH.");
ABSL_FLAG(std::string, metrics_host, "127.0.0.1", "Address of the /metrics HTTP endpoint.");
ABSL_FLAG(int32_t, metrics_port, -1, "Port of the /metrics HTTP endpoint (0: any; -1: off).");
ABSL_FLAG(int64_t, max_indexed_blocks, int64_t{1} << 22, "Cap on block keys in the prefix index (all engines).");
ABSL_FLAG(double, load_bound_epsilon, 0.25,
          "No engine takes more than ceil((1 + epsilon) x the average outstanding requests) + slack.");
ABSL_FLAG(int64_t, load_bound_slack, 2, "Requests added to the load bound (lets cache affinity win at light load).");
ABSL_FLAG(double, decode_seconds_per_sequence, 0.001, "Cost weight of each running sequence, in seconds.");
ABSL_FLAG(double, default_prefill_tokens_per_second, 5000,
          "Prefill rate assumed before any engine of a model has shown one.");
ABSL_FLAG(int32_t, assignment_settle_ms, 200,
          "A routed request counts on top of its engine's load reports until they show it admitted, at most this "
          "long.");
ABSL_FLAG(int64_t, pd_min_uncached_tokens, 0,
          "Prefill/decode disaggregation: whole requests go to decode-capable engines, and a prompt with at least "
          "this many uncached tokens there is computed by a prefill engine with room (0: off).");
ABSL_FLAG(int32_t, in_flight_prefix_ms, 1000,
          "How long a routed request's prefix counts as cached on its engine before the engine reports it (0: off).");
ABSL_FLAG(std::string, log_level, "info", "info, warning or error.");

namespace tern {
namespace {

absl::StatusOr<RouterCoreConfig> ConfigFromFlags(int num_engines) {
  RouterCoreConfig config;
  config.index.max_blocks = absl::GetFlag(FLAGS_max_indexed_blocks);
  config.index.max_targets = std::max(1, num_engines);
  config.load.assignment_settle = absl::Milliseconds(absl::GetFlag(FLAGS_assignment_settle_ms));
  config.in_flight_ttl = absl::Milliseconds(absl::GetFlag(FLAGS_in_flight_prefix_ms));
  config.placement.load_bound_epsilon = absl::GetFlag(FLAGS_load_bound_epsilon);
  config.placement.load_bound_slack = absl::GetFlag(FLAGS_load_bound_slack);
  config.placement.decode_seconds_per_sequence = absl::GetFlag(FLAGS_decode_seconds_per_sequence);
  config.default_prefill_tokens_per_second = absl::GetFlag(FLAGS_default_prefill_tokens_per_second);
  config.pd_min_uncached_tokens = absl::GetFlag(FLAGS_pd_min_uncached_tokens);
  RETURN_IF_ERROR(config.Validate());
  return config;
}

absl::Status Serve() {
  std::vector<std::string> engines;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_engines), ',', absl::SkipWhitespace())) {
    engines.emplace_back(part);
  }
  if (engines.empty()) return absl::InvalidArgumentError("--engines ADDR[,ADDR...] is required");
  if (static_cast<int>(engines.size()) > kMaxTargets) {
    return absl::InvalidArgumentError(
        absl::StrCat("--engines names ", engines.size(), " engines; one router follows at most ", kMaxTargets));
  }
  for (size_t i = 0; i < engines.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (engines[i] == engines[j])
        return absl::InvalidArgumentError(absl::StrCat("--engines names ", engines[i], " twice"));
    }
  }
  ASSIGN_OR_RETURN(const RouterCoreConfig config, ConfigFromFlags(static_cast<int>(engines.size())));

  RouterMetrics metrics;
  RouterService service(config, metrics);
  std::vector<std::unique_ptr<EngineWatcher>> watchers;
  for (const std::string& address : engines) {
    const int target = service.AddEngine(address);
    watchers.push_back(std::make_unique<EngineWatcher>(target, address, service, EngineWatcherOptions()));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  ApplyGrpcServerLimits({.max_message_bytes = 16 << 20, .max_concurrent_streams = 1024}, builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(v1::Router::service_full_name(), false);
  for (std::unique_ptr<EngineWatcher>& watcher : watchers) watcher->Start();

  std::unique_ptr<HttpServer> metrics_server;
  if (absl::GetFlag(FLAGS_metrics_port) >= 0) {
    HttpServerOptions http;
    http.host = absl::GetFlag(FLAGS_metrics_host);
    http.port = absl::GetFlag(FLAGS_metrics_port);
    ASSIGN_OR_RETURN(metrics_server, HttpServer::Start(http, [&metrics, &service](HttpRequest request,
                                                                                  std::shared_ptr<HttpResponder> out) {
                       if (request.path() == "/metrics") {
                         service.RefreshGauges();
                         return out->Send(200, "text/plain; version=0.0.4; charset=utf-8", metrics.Serialize());
                       }
                       if (request.path() == "/health") {
                         return service.AnyEngineAvailable() ? out->Send(200, "text/plain", "ok\n")
                                                             : out->Send(503, "text/plain", "no engine available\n");
                       }
                       out->Send(404, "text/plain", "not found\n");
                     }));
    std::cerr << absl::StrCat("tern-router: metrics on http://", absl::GetFlag(FLAGS_metrics_host), ":",
                              metrics_server->port(), "/metrics\n")
              << std::flush;
  }
  const std::string address =
      listen.rfind("unix:", 0) == 0 ? listen : absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
  std::cerr << absl::StrCat("tern-router: following ", engines.size(), " engines\n") << std::flush;
  std::cerr << absl::StrCat("tern-router: listening on ", address, "\n") << std::flush;

  // Health: the router serves while at least one engine is available.
  std::atomic<bool> stopping{false};
  std::thread monitor([&] {
    bool last = false, first = true;
    while (!stopping.load()) {
      const bool serving = service.AnyEngineAvailable();
      if (first || serving != last) {
        health->SetServingStatus(v1::Router::service_full_name(), serving);
        LOG(INFO) << "health: " << (serving ? "SERVING" : "NOT_SERVING (no engine available)");
        last = serving;
        first = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  const int signal = WaitForShutdownSignal();
  LOG(INFO) << "received signal " << signal << ": stopping";
  stopping = true;
  monitor.join();
  health->SetServingStatus(false);
  for (std::unique_ptr<EngineWatcher>& watcher : watchers) watcher->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return absl::OkStatus();
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  // Block the shutdown signals in every thread; Serve() waits for them.
  tern::BlockShutdownSignals();
  tern::ParseTernFlags(argc, argv,
                       "Places requests on engines by predicted prefix-cache hits and load (tern.v1.Router).\n"
                       "Usage: tern-router --engines ADDR,... [--listen HOST:PORT] [--max-indexed-blocks N]\n"
                       "       [--metrics-port P] ...");
  if (!tern::SetMinLogSeverityByName(absl::GetFlag(FLAGS_log_level))) {
    std::cerr << "tern-router: --log-level must be info, warning or error\n";
    return 2;
  }
  const absl::Status status = tern::Serve();
  if (!status.ok()) {
    std::cerr << "tern-router: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

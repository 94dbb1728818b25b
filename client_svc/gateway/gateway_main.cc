// tern-gateway: the OpenAI-compatible HTTP API over a pool of tern-engine
// processes.
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client_svc/gateway/gateway.h"
#include "client_svc/gateway/grpc_front.h"
#include "client_svc/gateway/openai_http.h"
#include "common/file_util.h"
#include "common/flags.h"
#include "common/http_server.h"
#include "common/logging.h"
#include "common/shutdown_signals.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

ABSL_FLAG(std::string, model, "", "Model directory: tokenizer, chat template and generation defaults.");
ABSL_FLAG(std::string, tokenizer, "", "Tokenizer directory (default: --model).");
ABSL_FLAG(std::string, served_model_name, "", "Names clients may use, comma-separated (default: the directory name).");
ABSL_FLAG(std::string, engines, "", "tern-engine addresses, comma-separated: HOST:PORT or unix:PATH.");
ABSL_FLAG(std::string, routing, "least-loaded",
          "How engines are picked: least-loaded, round-robin, or router (ask --router; least-loaded when it "
          "cannot answer).");
ABSL_FLAG(std::string, router, "", "tern-router address (HOST:PORT or unix:PATH), for --routing router.");
ABSL_FLAG(int32_t, router_timeout_ms, 20, "Deadline of each Route call; past it the request goes least-loaded.");
ABSL_FLAG(std::string, host, "0.0.0.0", "HTTP listen address.");
ABSL_FLAG(int32_t, port, 8000, "HTTP port (0: any free port).");
ABSL_FLAG(int32_t, grpc_port, 8001, "tern.v1.Generation gRPC port (0: any free port; -1: off).");
ABSL_FLAG(std::string, api_key, "", "API keys clients must send as Bearer tokens, comma-separated.");
ABSL_FLAG(std::string, api_key_file, "", "A file of API keys, one per line (adds to --api-key).");
ABSL_FLAG(int64_t, max_concurrent_requests, 0, "Generation requests in flight before 429 (0: no limit).");
ABSL_FLAG(int64_t, max_request_body_bytes, 16 << 20, "Largest request body (413 past it).");
ABSL_FLAG(int64_t, max_header_bytes, 64 << 10, "Largest request header block (431 past it).");
ABSL_FLAG(int32_t, io_threads, 2, "HTTP I/O threads.");
ABSL_FLAG(int32_t, worker_threads, 2, "Threads for chat templates and tokenization.");
ABSL_FLAG(double, engine_wait_timeout, 0.0, "Seconds to wait at start for an engine to serve (0: do not wait).");
ABSL_FLAG(double, drain_timeout, 30.0, "Seconds requests in flight get to finish after SIGTERM.");
ABSL_FLAG(std::string, log_level, "info", "info, warning or error.");

namespace tern {
namespace {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    items.emplace_back(absl::StripAsciiWhitespace(item));
  }
  return items;
}

absl::StatusOr<std::vector<std::string>> ApiKeys() {
  std::vector<std::string> keys = SplitList(absl::GetFlag(FLAGS_api_key));
  const std::string file = absl::GetFlag(FLAGS_api_key_file);
  if (!file.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(file));
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
      keys.emplace_back(absl::StripAsciiWhitespace(line));
    }
    if (keys.empty()) return absl::InvalidArgumentError(absl::StrCat(file, " holds no API key"));
  }
  return keys;
}

absl::Status Serve() {
  GatewayOptions options;
  options.model.model_dir = absl::GetFlag(FLAGS_model);
  if (options.model.model_dir.empty()) return absl::InvalidArgumentError("--model DIR is required");
  options.model.tokenizer_dir = absl::GetFlag(FLAGS_tokenizer);
  options.model.served_names = SplitList(absl::GetFlag(FLAGS_served_model_name));
  options.engines.addresses = SplitList(absl::GetFlag(FLAGS_engines));
  if (options.engines.addresses.empty()) return absl::InvalidArgumentError("--engines ADDR,... is required");
  ASSIGN_OR_RETURN(options.engines.routing, ParseRoutingPolicy(absl::GetFlag(FLAGS_routing)));
  const std::string router = absl::GetFlag(FLAGS_router);
  if (options.engines.routing == RoutingPolicy::kRouter) {
    if (router.empty()) return absl::InvalidArgumentError("--routing router needs --router HOST:PORT");
    if (absl::GetFlag(FLAGS_router_timeout_ms) <= 0) {
      return absl::InvalidArgumentError("--router-timeout-ms must be positive");
    }
    options.router = RouterClientOptions{router, absl::Milliseconds(absl::GetFlag(FLAGS_router_timeout_ms))};
  } else if (!router.empty()) {
    return absl::InvalidArgumentError("--router is used only with --routing router");
  }
  ASSIGN_OR_RETURN(options.api_keys, ApiKeys());
  options.max_concurrent_requests = absl::GetFlag(FLAGS_max_concurrent_requests);
  options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  ASSIGN_OR_RETURN(std::unique_ptr<Gateway> gateway, Gateway::Create(options));
  LOG(INFO) << "serving '" << gateway->model().name() << "' over " << options.engines.addresses.size()
            << " engine(s)" << (gateway->router() != nullptr ? absl::StrCat(", routed by ", router) : "")
            << (gateway->requires_auth() ? ", API keys required" : "");

  const double wait = absl::GetFlag(FLAGS_engine_wait_timeout);
  if (wait > 0 && !gateway->pool().WaitForServing(absl::Seconds(wait))) {
    return absl::UnavailableError(absl::StrCat("no engine was serving after ", wait, " s"));
  }

  OpenAiHttpFront front(*gateway, PROJECT_VERSION);
  HttpServerOptions http;
  http.host = absl::GetFlag(FLAGS_host);
  http.port = absl::GetFlag(FLAGS_port);
  http.io_threads = absl::GetFlag(FLAGS_io_threads);
  http.max_body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_request_body_bytes));
  http.max_header_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_header_bytes));
  ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                   HttpServer::Start(http, [&front](HttpRequest request, std::shared_ptr<HttpResponder> out) {
                     front.Handle(std::move(request), std::move(out));
                   }));
  // One write: other threads log to stderr too.
  std::cerr << absl::StrCat("tern-gateway: listening on http://", http.host, ":", server->port(), "\n") << std::flush;

  // The gRPC front, its health (SERVING while an engine serves) and reflection.
  GenerationService generation_service(*gateway);
  std::unique_ptr<grpc::Server> grpc_server;
  std::atomic<bool> stopping{false};
  std::thread health_monitor;
  if (absl::GetFlag(FLAGS_grpc_port) >= 0) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int grpc_port = 0;
    const std::string address = absl::StrCat(http.host, ":", absl::GetFlag(FLAGS_grpc_port));
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &grpc_port);
    builder.RegisterService(&generation_service);
    builder.SetMaxReceiveMessageSize(static_cast<int>(http.max_body_bytes));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 4096);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    grpc_server = builder.BuildAndStart();
    if (grpc_server == nullptr) return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
    grpc::HealthCheckServiceInterface* health = grpc_server->GetHealthCheckService();
    health_monitor = std::thread([&stopping, health, &gateway] {
      bool first = true, last = false;
      while (!stopping.load()) {
        const bool serving = gateway->pool().AnyServing() && !gateway->draining();
        if (first || serving != last) {
          health->SetServingStatus(serving);
          health->SetServingStatus(v1::Generation::service_full_name(), serving);
          first = false;
          last = serving;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    std::cerr << absl::StrCat("tern-gateway: gRPC on ", http.host, ":", grpc_port, "\n") << std::flush;
  }

  const int signal = WaitForShutdownSignal();
  LOG(INFO) << "received signal " << signal << ": draining (" << gateway->in_flight() << " requests in flight)";
  gateway->StartDraining();
  if (!gateway->WaitIdle(absl::Seconds(absl::GetFlag(FLAGS_drain_timeout)))) {
    // Streams still in flight reference the gateway: end the process, not them.
    LOG(WARNING) << "drain timeout: exiting with " << gateway->in_flight() << " requests in flight";
    std::_Exit(0);
  }
  server.reset();
  stopping = true;
  if (health_monitor.joinable()) health_monitor.join();
  if (grpc_server != nullptr) grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  LOG(INFO) << "drained; exiting";
  return absl::OkStatus();
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  tern::BlockShutdownSignals();
  tern::ParseTernFlags(argc, argv,
                       "Serves the OpenAI-compatible HTTP API over tern-engine processes.\n"
                       "Usage: tern-gateway --model DIR --engines HOST:PORT,... [--port 8000]\n"
                       "       [--served-model-name NAME] [--api-key KEY] [--routing least-loaded|round-robin|router]\n"
                       "       [--router HOST:PORT] [--router-timeout-ms 20] ...");
  if (!tern::SetMinLogSeverityByName(absl::GetFlag(FLAGS_log_level))) {
    std::cerr << "tern-gateway: --log-level must be info, warning or error\n";
    return 2;
  }
  const absl::Status status = tern::Serve();
  if (!status.ok()) {
    std::cerr << "tern-gateway: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

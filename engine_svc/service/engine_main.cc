// tern-engine: one model replica behind the tern.v1.EngineCore gRPC service.
//
//   tern-engine --model DIR --listen 127.0.0.1:8100 --metrics-port 9100
//
// SIGTERM (or SIGINT) drains: new requests are refused, in-flight ones get
// --drain-timeout seconds to finish, then the process exits 0.

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/flags.h"
#include "common/grpc_server_limits.h"
#include "common/http_server.h"
#include "common/logging.h"
#include "common/shutdown_signals.h"
#include "common/status_macros.h"
#include "engine_svc/engine_setup.h"
#include "engine_svc/executor/backend_factory.h"
#include "engine_svc/service/engine_loop.h"
#include "engine_svc/service/engine_metrics.h"
#include "engine_svc/service/engine_service.h"
#include "engine_svc/service/grpc_kv_transport.h"
#include "engine_svc/service/request_conversion.h"
#include "engine_svc/service/state_hub.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

ABSL_FLAG(std::string, model, "", "Model directory (HF layout: config.json + safetensors).");
ABSL_FLAG(std::string, served_model_name, "", "Name reported to clients (default: the directory name).");
ABSL_FLAG(std::string, listen, "127.0.0.1:8100", "gRPC address: HOST:PORT (port 0: any) or unix:PATH.");
ABSL_FLAG(std::string, metrics_host, "127.0.0.1", "Address of the /metrics HTTP endpoint.");
ABSL_FLAG(int32_t, metrics_port, -1, "Port of the /metrics HTTP endpoint (0: any; -1: off).");
ABSL_FLAG(std::string, backend, "cpu", "Compute backend: cpu, cuda, or auto (cuda when a GPU is visible).");
ABSL_FLAG(std::string, load_format, "auto", "auto|safetensors, or dummy for random weights.");
ABSL_FLAG(int64_t, max_model_len, 0, "Longest prompt + output; 0 uses the model's limit.");
ABSL_FLAG(int64_t, max_num_seqs, 256, "Most sequences running at once.");
ABSL_FLAG(int64_t, max_num_batched_tokens, 2048, "Token budget of one engine step.");
ABSL_FLAG(int64_t, block_size, 16, "Tokens per KV cache block.");
ABSL_FLAG(int64_t, num_kv_blocks, 0, "KV cache blocks; 0: from --kv-cache-memory-gib or GPU memory.");
ABSL_FLAG(double, kv_cache_memory_gib, 0.0, "KV cache size in GiB (default: 4 on the CPU backend).");
ABSL_FLAG(double, gpu_memory_utilization, 0.9, "GPU backends: fraction of GPU memory to use.");
ABSL_FLAG(bool, enable_prefix_caching, true, "Reuse cached KV blocks of identical prefixes.");
ABSL_FLAG(std::string, scheduling_policy, "fcfs", "fcfs, or priority (lower value first).");
ABSL_FLAG(std::string, role, "both",
          "both, prefill or decode (disaggregated serving): prefill engines serve Prefill, decode engines take "
          "requests naming a prefill engine; both does either.");
ABSL_FLAG(std::string, pd_fallback, "local",
          "Decode side, when a prefill engine fails mid-handoff: local (compute the prompt here) or fail.");
ABSL_FLAG(int32_t, kv_send_delay_ms, 0, "Test hook: each KV message of a Prefill stream waits this long.");
ABSL_FLAG(bool, enforce_eager, false, "Never use CUDA graphs.");
ABSL_FLAG(int32_t, threads, 0, "CPU backend threads; 0 uses every available core.");
ABSL_FLAG(uint64_t, seed, 0, "Seeds the seeds of requests that bring none.");
ABSL_FLAG(int64_t, max_queued_requests, 4096, "Admission queue bound.");
ABSL_FLAG(double, drain_timeout, 30.0, "Seconds in-flight requests get to finish after SIGTERM.");
ABSL_FLAG(double, health_stall_timeout, 10.0, "Seconds without loop progress before NOT_SERVING.");
ABSL_FLAG(int32_t, state_interval_ms, 50, "Most milliseconds between load snapshots on WatchState.");
ABSL_FLAG(int32_t, watch_queue_limit, 1024,
          "Messages queued per WatchState stream before it is resynced with a snapshot.");
ABSL_FLAG(std::string, stall_file, "", "Test hook: the engine loop stalls while this file exists.");
ABSL_FLAG(std::string, log_level, "info", "info, warning or error.");

namespace tern {
namespace {

absl::StatusOr<v1::EngineRole> ParseRole(const std::string& role) {
  if (role == "both") return v1::ENGINE_ROLE_BOTH;
  if (role == "prefill") return v1::ENGINE_ROLE_PREFILL;
  if (role == "decode") return v1::ENGINE_ROLE_DECODE;
  return absl::InvalidArgumentError(absl::StrCat("--role must be both, prefill or decode, got '", role, "'"));
}

std::string DirectoryName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path.substr(path.find_last_of('/') + 1);
}

// Waits for SIGTERM or SIGINT (blocked in every thread, so only here).
absl::Status Serve() {
  const std::string model_dir = absl::GetFlag(FLAGS_model);
  if (model_dir.empty()) return absl::InvalidArgumentError("--model DIR is required");
  EngineOptions options;
  ModelRunnerConfig& runner = options.runner;
  runner.model_dir = model_dir;
  ASSIGN_OR_RETURN(runner.load_format, ParseLoadFormat(absl::GetFlag(FLAGS_load_format)));
  runner.backend.name = ResolveBackendName(absl::GetFlag(FLAGS_backend));
  runner.backend.num_threads = absl::GetFlag(FLAGS_threads);
  runner.block_size = absl::GetFlag(FLAGS_block_size);
  runner.max_num_batched_tokens = absl::GetFlag(FLAGS_max_num_batched_tokens);
  runner.num_kv_blocks = absl::GetFlag(FLAGS_num_kv_blocks);
  double kv_gib = absl::GetFlag(FLAGS_kv_cache_memory_gib);
  if (kv_gib == 0 && runner.backend.name == "cpu") kv_gib = 4.0;
  runner.kv_cache_bytes = static_cast<int64_t>(kv_gib * (1 << 30));
  runner.gpu_memory_utilization = absl::GetFlag(FLAGS_gpu_memory_utilization);
  runner.enforce_eager = absl::GetFlag(FLAGS_enforce_eager);
  options.max_num_seqs = absl::GetFlag(FLAGS_max_num_seqs);
  options.max_model_len = absl::GetFlag(FLAGS_max_model_len);
  options.enable_prefix_caching = absl::GetFlag(FLAGS_enable_prefix_caching);
  ASSIGN_OR_RETURN(options.policy, ParseSchedulingPolicy(absl::GetFlag(FLAGS_scheduling_policy)));
  options.seed = absl::GetFlag(FLAGS_seed);
  options.record_kv_events = true;
  ASSIGN_OR_RETURN(v1::EngineRole role, ParseRole(absl::GetFlag(FLAGS_role)));
  const std::string pd_fallback = absl::GetFlag(FLAGS_pd_fallback);
  if (pd_fallback != "local" && pd_fallback != "fail") {
    return absl::InvalidArgumentError(absl::StrCat("--pd-fallback must be local or fail, got '", pd_fallback, "'"));
  }
  const std::string model_name = absl::GetFlag(FLAGS_served_model_name).empty()
                                     ? DirectoryName(model_dir)
                                     : absl::GetFlag(FLAGS_served_model_name);

  const absl::Time load_start = absl::Now();
  ASSIGN_OR_RETURN(Engine engine, BuildEngine(options, [](int64_t done, int64_t total) {
                     if (done == total || done % std::max<int64_t>(1, total / 8) == 0) {
                       LOG(INFO) << "loading weights: layer " << done << "/" << total;
                     }
                   }));
  const ModelConfig& model = engine.model_config;
  const int64_t block_bytes = engine.runner->model()
                                  .CacheShape(1, engine.runner->block_size())
                                  .BytesPerBlock(engine.runner->backend().activation_dtype());
  LOG(INFO) << "loaded " << model.architecture << " '" << model_name << "' (" << model.NumParameters()
            << " parameters, " << engine.runner->model().weight_bytes() / double(1 << 20) << " MiB) on "
            << engine.runner->backend().name() << " in " << absl::ToDoubleSeconds(absl::Now() - load_start)
            << " s; KV cache: " << engine.runner->num_kv_blocks() << " blocks of "
            << engine.runner->block_size() << " tokens ("
            << engine.runner->num_kv_blocks() * block_bytes / double(1 << 30) << " GiB), max model length "
            << engine.core_config.scheduler.max_model_len;

  std::random_device random;
  const uint64_t epoch = (static_cast<uint64_t>(random()) << 32) ^ random() ^
                         static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  EngineCore core(engine.core_config, *engine.executor);
  EngineMetrics metrics(model_name);
  StateHub hub(epoch);
  const KvLayout kv_layout = MakeKvLayout(model, model_name, engine.runner->block_size(),
                                         engine.runner->backend().activation_dtype());
  // Decode-capable engines fetch prompts' KV from prefill engines.
  std::unique_ptr<GrpcKvTransport> kv_transport;
  if (role != v1::ENGINE_ROLE_PREFILL) kv_transport = std::make_unique<GrpcKvTransport>(kv_layout);
  EngineLoopOptions loop_options;
  loop_options.kv_io = engine.runner.get();
  loop_options.kv_transport = kv_transport.get();
  loop_options.pd_fallback_local = pd_fallback == "local";
  loop_options.max_queued_requests = absl::GetFlag(FLAGS_max_queued_requests);
  loop_options.stall_file = absl::GetFlag(FLAGS_stall_file);
  loop_options.state_interval = absl::Milliseconds(std::max(1, absl::GetFlag(FLAGS_state_interval_ms)));
  EngineLoop loop(core, metrics, hub, loop_options);

  v1::EngineInfo info;
  info.set_model(model_name);
  info.set_vocab_size(static_cast<uint32_t>(model.vocab_size));
  info.set_max_model_len(static_cast<uint32_t>(engine.core_config.scheduler.max_model_len));
  info.set_block_size(static_cast<uint32_t>(engine.runner->block_size()));
  info.set_layout_fingerprint(kv_layout.Fingerprint());
  *info.mutable_kv_layout() = ToProto(kv_layout);
  info.set_role(role);
  info.set_num_kv_blocks(static_cast<uint32_t>(engine.runner->num_kv_blocks()));
  for (int32_t id : engine.eos_token_ids) info.add_eos_token_ids(id);
  info.set_epoch(epoch);
  EngineServiceImpl service(loop, hub, info, engine.default_sampling,
                            static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_watch_queue_limit))),
                            absl::Milliseconds(std::max(0, absl::GetFlag(FLAGS_kv_send_delay_ms))), &metrics);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  ApplyGrpcServerLimits({.max_message_bytes = 64 << 20, .max_concurrent_streams = 4096}, builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  // Names the service so health checks can ask for it ("" is the server).
  health->SetServingStatus(v1::EngineCore::service_full_name(), false);
  loop.Start();

  std::unique_ptr<HttpServer> metrics_server;
  if (absl::GetFlag(FLAGS_metrics_port) >= 0) {
    HttpServerOptions http;
    http.host = absl::GetFlag(FLAGS_metrics_host);
    http.port = absl::GetFlag(FLAGS_metrics_port);
    ASSIGN_OR_RETURN(metrics_server,
                     HttpServer::Start(http, [&metrics, &loop](HttpRequest request,
                                                               std::shared_ptr<HttpResponder> out) {
                       if (request.path() == "/metrics") {
                         return out->Send(200, "text/plain; version=0.0.4; charset=utf-8", metrics.Serialize());
                       }
                       if (request.path() == "/health") {
                         return loop.accepting() ? out->Send(200, "text/plain", "ok\n")
                                                 : out->Send(503, "text/plain", "draining\n");
                       }
                       out->Send(404, "text/plain", "not found\n");
                     }));
    // One write per line: other threads log to stderr too.
    std::cerr << absl::StrCat("tern-engine: metrics on http://", absl::GetFlag(FLAGS_metrics_host), ":",
                              metrics_server->port(), "/metrics\n")
              << std::flush;
  }
  const std::string address =
      listen.rfind("unix:", 0) == 0 ? listen : absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
  std::cerr << absl::StrCat("tern-engine: listening on ", address, "\n") << std::flush;

  // Health: SERVING while the loop makes progress and admission is open.
  std::atomic<bool> stopping{false};
  const auto stall_limit = std::chrono::duration<double>(absl::GetFlag(FLAGS_health_stall_timeout));
  std::thread monitor([&] {
    bool last = false, first = true;
    while (!stopping.load()) {
      const bool serving = loop.accepting() && std::chrono::steady_clock::now() - loop.last_heartbeat() < stall_limit;
      if (first || serving != last) {
        health->SetServingStatus(serving);
        if (!first) LOG(WARNING) << "health: " << (serving ? "SERVING" : "NOT_SERVING");
        last = serving;
        first = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  const int signal = WaitForShutdownSignal();
  LOG(INFO) << "received signal " << signal << ": draining (" << loop.num_in_flight() << " requests in flight)";
  loop.StopAdmission();
  const absl::Duration drain = absl::Seconds(absl::GetFlag(FLAGS_drain_timeout));
  if (!loop.WaitIdle(drain)) {
    LOG(WARNING) << "drain timeout: aborting " << loop.num_in_flight() << " requests";
    loop.AbortAll();
    loop.WaitIdle(absl::Seconds(5));
  }
  stopping = true;
  monitor.join();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  loop.Stop();
  LOG(INFO) << "drained; exiting";
  return absl::OkStatus();
}

}  // namespace
}  // namespace tern

int main(int argc, char** argv) {
  // Block the shutdown signals in every thread; Serve() waits for them.
  tern::BlockShutdownSignals();
  tern::ParseTernFlags(argc, argv,
                       "Serves one model replica over the tern.v1.EngineCore gRPC service.\n"
                       "Usage: tern-engine --model DIR [--listen HOST:PORT|unix:PATH] [--backend cpu|cuda]\n"
                       "       [--metrics-port N] [--max-num-seqs N] [--max-num-batched-tokens N] ...");
  if (!tern::SetMinLogSeverityByName(absl::GetFlag(FLAGS_log_level))) {
    std::cerr << "tern-engine: --log-level must be info, warning or error\n";
    return 2;
  }
  const absl::Status status = tern::Serve();
  if (!status.ok()) {
    std::cerr << "tern-engine: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

// The gRPC face of an engine: tern.v1.EngineCore over an EngineLoop, with
// callback reactors that never block.
#ifndef TERN_ENGINE_SVC_SERVICE_ENGINE_SERVICE_H_
#define TERN_ENGINE_SVC_SERVICE_ENGINE_SERVICE_H_

#include "engine_svc/core/sampling_params.h"
#include "engine_svc/service/engine_loop.h"
#include "engine_svc/service/prefill_reactor.h"
#include "engine_svc/service/state_hub.h"
#include "tern/v1/engine.grpc.pb.h"

namespace tern {

// Thread safety: gRPC calls it from its threads; all state lives in the loop
// and the hub, which are thread-safe.
class EngineServiceImpl final : public v1::EngineCore::CallbackService {
 public:
  // REQUIRES: loop and hub outlive the service.
  // Threads that start stream writes for the engine loop.
  static constexpr int kWritePumpThreads = 2;

  // `watch_queue_limit`: messages a WatchState stream may have queued before
  // it is considered behind (and resynced).
  // `kv_send_delay`: the Prefill test hook (PrefillServeOptions).
  // `metrics`, if given, counts Prefill streams' outcomes.
  EngineServiceImpl(EngineLoop& loop, StateHub& hub, v1::EngineInfo info, SamplingParams defaults,
                    size_t watch_queue_limit = 1024, absl::Duration kv_send_delay = absl::ZeroDuration(),
                    EngineMetrics* metrics = nullptr);
  ~EngineServiceImpl() override;

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(grpc::CallbackServerContext* context,
                                                           const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* context, const v1::AbortRequest* request,
                                  v1::AbortResponse* response) override;
  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context, const v1::GetInfoRequest* request,
                                    v1::EngineInfo* response) override;
  grpc::ServerWriteReactor<v1::EngineState>* WatchState(grpc::CallbackServerContext* context,
                                                        const v1::WatchStateRequest* request) override;
  grpc::ServerWriteReactor<v1::PrefillResponse>* Prefill(grpc::CallbackServerContext* context,
                                                         const v1::PrefillRequest* request) override;

 private:
  EngineLoop& loop_;
  StateHub& hub_;
  const v1::EngineInfo info_;
  const SamplingParams defaults_;
  const size_t watch_queue_limit_;
  PrefillServeOptions prefill_options_;
  std::unique_ptr<WritePump> pump_;
};

// The gRPC code for a Status code (they share numbering).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_ENGINE_SERVICE_H_

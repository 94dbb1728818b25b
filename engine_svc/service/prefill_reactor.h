// The prefill engine's side of a prefill/decode handoff: the Prefill RPC.
#ifndef TERN_ENGINE_SVC_SERVICE_PREFILL_REACTOR_H_
#define TERN_ENGINE_SVC_SERVICE_PREFILL_REACTOR_H_

#include "absl/time/time.h"
#include "engine_svc/core/kv_layout.h"
#include "engine_svc/core/sampling_params.h"
#include "engine_svc/service/engine_loop.h"
#include "engine_svc/service/write_pump.h"
#include "tern/v1/engine.grpc.pb.h"

namespace tern {

struct PrefillServeOptions {
  KvLayout layout;          // This engine's: a decode engine's must equal it.
  SamplingParams defaults;  // For the request's unset sampling fields.
  // Test hook: each KV message waits this long before it is written, so a
  // transfer can be interrupted midway.
  absl::Duration send_delay = absl::ZeroDuration();
  // Counts each stream's outcome (tern:pd_handoffs_total{side="prefill"}):
  // success once the first token is written, failed on an error, aborted
  // when the stream ends before.
  EngineMetrics* metrics = nullptr;
};

// Checks the request (layouts, seed, skipped blocks), submits it to `loop` as
// a sending request and streams its blocks and first token. The stream is
// the lease: when it ends — done, cancelled or broken — the loop releases the
// request's blocks (or aborts it, if still computing). gRPC owns the reactor.
// REQUIRES: loop and pump outlive every stream.
grpc::ServerWriteReactor<v1::PrefillResponse>* NewPrefillReactor(EngineLoop& loop, WritePump& pump,
                                                                 const PrefillServeOptions& options,
                                                                 const v1::PrefillRequest& request);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_PREFILL_REACTOR_H_

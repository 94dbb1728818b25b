// How a decode engine gets a prompt's KV from a prefill engine: the
// transport seam of prefill/decode disaggregation (docs/architecture.md).
// GrpcKvTransport moves the blocks over the Prefill stream (any backend);
// GPU transports (NCCL, CUDA IPC) can implement the same interface, with the
// gRPC stream left to carry only the control messages.
#ifndef TERN_ENGINE_SVC_SERVICE_KV_TRANSPORT_H_
#define TERN_ENGINE_SVC_SERVICE_KV_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "engine_svc/core/scheduler.h"
#include "tern/v1/engine.pb.h"

namespace tern {

struct KvFetchRequest {
  std::string prefill_engine;  // Its address, HOST:PORT.
  // As the client sent it, with sampling.seed set to the seed this engine
  // uses for the request and prefill_engine cleared.
  v1::GenerateRequest request;
  int64_t num_skip_blocks = 0;  // Leading prompt blocks cached here: not wanted.
  int64_t num_blocks = 0;       // The prompt's blocks.
};

// Where one fetch's results go. Called on transport threads, one call at a
// time and in order; must not block. Calls may still arrive after the fetch
// was cancelled (the receiver ignores them).
class KvFetchSink {
 public:
  virtual ~KvFetchSink() = default;
  // The KV of prompt blocks [first_block, first_block + num_blocks), as
  // KvBlockIo lays them out.
  virtual void OnBlocks(int64_t first_block, int64_t num_blocks, std::string data) = 0;
  // Every block was sent; the prefill engine's first token. The last call.
  virtual void OnDone(KvReceived received) = 0;
  // The fetch failed or was refused: the status says why and names the
  // prefill engine. The last call.
  virtual void OnFailed(absl::Status status) = 0;
};

// A fetch in flight. Destroying it before OnDone cancels the fetch, which
// ends the lease: the prefill engine aborts the prefill or frees the blocks
// it holds. After OnDone the fetch ends by itself.
class KvFetch {
 public:
  virtual ~KvFetch() = default;
};

// Thread safety: Start may be called from any thread.
class KvTransport {
 public:
  virtual ~KvTransport() = default;
  // Starts fetching; results go to `sink`. Never blocks.
  virtual std::unique_ptr<KvFetch> Start(KvFetchRequest request, std::shared_ptr<KvFetchSink> sink) = 0;
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_KV_TRANSPORT_H_

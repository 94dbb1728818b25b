// KvTransport over the prefill engine's Prefill stream: the KV blocks travel
// in the stream's messages (works with any backend; the CPU backend's
// transport).
#ifndef TERN_ENGINE_SVC_SERVICE_GRPC_KV_TRANSPORT_H_
#define TERN_ENGINE_SVC_SERVICE_GRPC_KV_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "engine_svc/core/kv_layout.h"
#include "engine_svc/service/kv_transport.h"
#include "grpcpp/grpcpp.h"

namespace tern {

// Thread safety: thread-safe. Calls in flight keep what they use alive, so
// the transport may be destroyed before they end.
class GrpcKvTransport : public KvTransport {
 public:
  // `layout` is this engine's: the prefill engine refuses a different one.
  explicit GrpcKvTransport(KvLayout layout) : layout_(std::move(layout)) {}

  std::unique_ptr<KvFetch> Start(KvFetchRequest request, std::shared_ptr<KvFetchSink> sink) override;

 private:
  // One channel per prefill engine, kept for reuse.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address);

  const KvLayout layout_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_GRPC_KV_TRANSPORT_H_

// The gateway's gRPC front, tern.v1.Generation (proto/tern/v1/generation.proto).
// A request becomes the OpenAI body it stands for and goes through the same
// parsing, planning and generation as the HTTP front, so both check and
// answer alike. Streams write one chunk at a time; a cancelled call cancels
// its engine work.
//
// Thread safety: gRPC calls the service from its own threads.
#ifndef TERN_CLIENT_SVC_GATEWAY_GRPC_FRONT_H_
#define TERN_CLIENT_SVC_GATEWAY_GRPC_FRONT_H_

#include "absl/status/statusor.h"
#include "client_svc/gateway/choice_stream.h"
#include "client_svc/gateway/gateway.h"
#include "client_svc/gateway/generation.h"
#include "nlohmann/json.hpp"
#include "tern/v1/generation.grpc.pb.h"

namespace tern {

// The OpenAI request body a gRPC request means. INVALID_ARGUMENT (with the
// field) when an embedded JSON string does not parse.
absl::StatusOr<nlohmann::ordered_json> ToOpenAiBody(const v1::CompleteRequest& request);
absl::StatusOr<nlohmann::ordered_json> ToOpenAiBody(const v1::ChatRequest& request);

// A generation event as a stream message.
v1::ChoiceUpdate ToProto(const ChoiceDelta& delta);
v1::UsageInfo ToProto(const GenerationUsage& usage);

class GenerationService : public v1::Generation::CallbackService {
 public:
  // REQUIRES: `gateway` outlives the service and its calls.
  explicit GenerationService(Gateway& gateway) : gateway_(gateway) {}

  grpc::ServerWriteReactor<v1::GenerationChunk>* Complete(grpc::CallbackServerContext* context,
                                                          const v1::CompleteRequest* request) override;
  grpc::ServerWriteReactor<v1::GenerationChunk>* Chat(grpc::CallbackServerContext* context,
                                                      const v1::ChatRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context, const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Models(grpc::CallbackServerContext* context, const v1::ModelsRequest* request,
                                   v1::ModelsResponse* response) override;

 private:
  grpc::ServerWriteReactor<v1::GenerationChunk>* Generate(grpc::CallbackServerContext* context, GenerationKind kind,
                                                          absl::StatusOr<nlohmann::ordered_json> body);
  // UNAUTHENTICATED unless the call carries a configured key.
  absl::Status CheckAuth(const grpc::CallbackServerContext* context) const;

  Gateway& gateway_;
};

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_GRPC_FRONT_H_

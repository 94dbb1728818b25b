// The limits every Tern gRPC server sets explicitly, since this gRPC release
// predates the HTTP/2 rapid-reset fixes: message sizes, concurrent streams
// per connection, ping abuse (strikes, minimum interval), and keepalive.
#ifndef TERN_COMMON_GRPC_SERVER_LIMITS_H_
#define TERN_COMMON_GRPC_SERVER_LIMITS_H_

#include "grpcpp/server_builder.h"

namespace tern {

struct GrpcServerLimits {
  int max_message_bytes = 16 << 20;  // Sent and received.
  int max_concurrent_streams = 1024;
};

void ApplyGrpcServerLimits(const GrpcServerLimits& limits, grpc::ServerBuilder& builder);

}  // namespace tern

#endif  // TERN_COMMON_GRPC_SERVER_LIMITS_H_

// The gRPC channel the gateway opens to another Tern process (an engine or
// the router): keepalive pings notice a peer that vanished on an idle
// connection within seconds, and reconnection is retried within two seconds
// of its return (gRPC's default backoff grows to two minutes).
#ifndef TERN_CLIENT_SVC_GATEWAY_PEER_CHANNEL_H_
#define TERN_CLIENT_SVC_GATEWAY_PEER_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace tern {

// `args` carries any further settings of the caller's (message sizes...).
std::shared_ptr<grpc::Channel> CreatePeerChannel(const std::string& address,
                                                 grpc::ChannelArguments args = {});

}  // namespace tern

#endif  // TERN_CLIENT_SVC_GATEWAY_PEER_CHANNEL_H_

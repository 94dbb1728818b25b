// Between the engine contract's protos (tern.v1) and the router core's plain
// values. Everything that crosses from an engine is checked here: a key that
// is not 32 bytes is an error, never a crash.
#ifndef TERN_ROUTER_SERVICE_STATE_CONVERSION_H_
#define TERN_ROUTER_SERVICE_STATE_CONVERSION_H_

#include "absl/status/statusor.h"
#include "router/core/engine_state.h"
#include "router/core/router_core.h"
#include "tern/v1/engine.pb.h"
#include "tern/v1/router.pb.h"

namespace tern {

TargetRole RoleFromProto(v1::EngineRole role);  // UNSPECIFIED: kBoth.
v1::EngineRole RoleToProto(TargetRole role);

EngineDescription DescriptionFromProto(const v1::EngineInfo& info);
LoadReport LoadFromProto(const v1::LoadSnapshot& load);
v1::LoadSnapshot LoadToProto(const LoadReport& load);

// A 32-byte key, or INVALID_ARGUMENT naming `what`.
absl::StatusOr<BlockKey> KeyFromBytes(const std::string& bytes, absl::string_view what);

// Errors: INVALID_ARGUMENT for a key that is not 32 bytes or an unknown
// event kind.
absl::StatusOr<EngineStateUpdate> StateFromProto(const v1::EngineState& state);

// What ListEngines reports of one target.
v1::EngineStatus StatusToProto(const TargetStatus& status, const v1::EngineInfo* info);

}  // namespace tern

#endif  // TERN_ROUTER_SERVICE_STATE_CONVERSION_H_

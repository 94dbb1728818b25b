// Conversions between the engine's gRPC messages and the engine core's types.
#ifndef TERN_ENGINE_SVC_SERVICE_REQUEST_CONVERSION_H_
#define TERN_ENGINE_SVC_SERVICE_REQUEST_CONVERSION_H_

#include "engine_svc/core/kv_layout.h"
#include "engine_svc/core/request.h"
#include "engine_svc/core/step_types.h"
#include "tern/v1/engine.pb.h"

namespace tern {

// The request as the core takes it: unset sampling fields from `defaults`.
// Ranges are checked later (ValidateRequestSpec).
RequestSpec ToRequestSpec(const v1::GenerateRequest& request, const SamplingParams& defaults);

// One engine output as a stream response. `usage` is filled when finished.
v1::GenerateResponse ToGenerateResponse(const EngineOutput& output);

v1::FinishReason ToProto(FinishReason reason);

void ToProto(const StepLogprobs& step, v1::StepLogprobs* out);
StepLogprobs FromProto(const v1::StepLogprobs& step);

v1::KvLayout ToProto(const KvLayout& layout);
KvLayout FromProto(const v1::KvLayout& layout);

}  // namespace tern

#endif  // TERN_ENGINE_SVC_SERVICE_REQUEST_CONVERSION_H_

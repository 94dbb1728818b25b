#include "engine_svc/service/request_conversion.h"

#include <algorithm>

namespace tern {

RequestSpec ToRequestSpec(const v1::GenerateRequest& request, const SamplingParams& defaults) {
  RequestSpec spec;
  spec.id = request.request_id();
  spec.prompt_token_ids.assign(request.prompt_token_ids().begin(), request.prompt_token_ids().end());
  spec.priority = request.priority();
  spec.cache_salt = request.cache_salt();
  SamplingParams& p = spec.sampling;
  p = defaults;
  const v1::SamplingParams& s = request.sampling();
  if (s.has_max_tokens()) p.max_tokens = s.max_tokens();
  if (s.has_temperature()) p.temperature = s.temperature();
  if (s.has_top_p()) p.top_p = s.top_p();
  if (s.has_top_k()) p.top_k = s.top_k();
  if (s.has_min_p()) p.min_p = s.min_p();
  if (s.has_seed()) p.seed = s.seed();
  if (s.has_presence_penalty()) p.presence_penalty = s.presence_penalty();
  if (s.has_frequency_penalty()) p.frequency_penalty = s.frequency_penalty();
  if (s.has_repetition_penalty()) p.repetition_penalty = s.repetition_penalty();
  if (s.has_min_tokens()) p.min_tokens = s.min_tokens();
  if (s.has_logprobs()) p.logprobs = s.logprobs();
  if (s.has_n()) p.n = s.n();
  p.ignore_eos = s.ignore_eos();
  p.stop_token_ids.assign(s.stop_token_ids().begin(), s.stop_token_ids().end());
  p.logit_bias.assign(s.logit_bias().begin(), s.logit_bias().end());
  // Map order is unspecified; keep the bias list deterministic.
  std::sort(p.logit_bias.begin(), p.logit_bias.end());
  return spec;
}

v1::FinishReason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return v1::FINISH_REASON_STOP;
    case FinishReason::kLength:
      return v1::FINISH_REASON_LENGTH;
    case FinishReason::kAbort:
      return v1::FINISH_REASON_ABORT;
    case FinishReason::kNone:
      break;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

v1::GenerateResponse ToGenerateResponse(const EngineOutput& output) {
  v1::GenerateResponse response;
  response.set_sample_index(static_cast<uint32_t>(output.sample_index));
  response.mutable_token_ids()->Add(output.new_token_ids.begin(), output.new_token_ids.end());
  for (const StepLogprobs& step : output.logprobs) {
    v1::StepLogprobs* entry = response.add_logprobs();
    entry->mutable_sampled()->set_token_id(step.sampled.token_id);
    entry->mutable_sampled()->set_logprob(step.sampled.logprob);
    entry->set_sampled_rank(step.sampled_rank);
    for (const TokenLogprob& top : step.top) {
      v1::TokenLogprob* t = entry->add_top();
      t->set_token_id(top.token_id);
      t->set_logprob(top.logprob);
    }
  }
  response.set_num_cached_tokens(static_cast<uint32_t>(output.num_cached_tokens));
  if (output.finished) {
    response.set_finished(true);
    response.set_finish_reason(ToProto(output.finish_reason));
    if (output.stop_token_id >= 0) response.set_stop_token_id(output.stop_token_id);
    v1::Usage* usage = response.mutable_usage();
    usage->set_prompt_tokens(static_cast<uint32_t>(output.num_prompt_tokens));
    usage->set_completion_tokens(static_cast<uint32_t>(output.num_output_tokens));
    usage->set_cached_tokens(static_cast<uint32_t>(output.num_cached_tokens));
  }
  return response;
}

}  // namespace tern

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

void ToProto(const StepLogprobs& step, v1::StepLogprobs* out) {
  out->mutable_sampled()->set_token_id(step.sampled.token_id);
  out->mutable_sampled()->set_logprob(step.sampled.logprob);
  out->set_sampled_rank(step.sampled_rank);
  for (const TokenLogprob& top : step.top) {
    v1::TokenLogprob* t = out->add_top();
    t->set_token_id(top.token_id);
    t->set_logprob(top.logprob);
  }
}

StepLogprobs FromProto(const v1::StepLogprobs& step) {
  StepLogprobs out;
  out.sampled = {step.sampled().token_id(), step.sampled().logprob()};
  out.sampled_rank = step.sampled_rank();
  for (const v1::TokenLogprob& top : step.top()) out.top.push_back({top.token_id(), top.logprob()});
  return out;
}

v1::KvLayout ToProto(const KvLayout& layout) {
  v1::KvLayout out;
  out.set_model(layout.model);
  out.set_architecture(layout.architecture);
  out.set_kv_dtype(layout.kv_dtype);
  out.set_block_size(static_cast<uint32_t>(layout.block_size));
  out.set_num_layers(static_cast<uint32_t>(layout.num_layers));
  out.set_num_kv_heads(static_cast<uint32_t>(layout.num_kv_heads));
  out.set_head_dim(static_cast<uint32_t>(layout.head_dim));
  out.set_tensor_parallel_size(static_cast<uint32_t>(layout.tensor_parallel_size));
  out.set_pipeline_parallel_size(static_cast<uint32_t>(layout.pipeline_parallel_size));
  out.set_block_hash_scheme(layout.block_hash_scheme);
  return out;
}

KvLayout FromProto(const v1::KvLayout& layout) {
  KvLayout out;
  out.model = layout.model();
  out.architecture = layout.architecture();
  out.kv_dtype = layout.kv_dtype();
  out.block_size = layout.block_size();
  out.num_layers = layout.num_layers();
  out.num_kv_heads = layout.num_kv_heads();
  out.head_dim = layout.head_dim();
  out.tensor_parallel_size = layout.tensor_parallel_size();
  out.pipeline_parallel_size = layout.pipeline_parallel_size();
  out.block_hash_scheme = layout.block_hash_scheme();
  return out;
}

v1::GenerateResponse ToGenerateResponse(const EngineOutput& output) {
  v1::GenerateResponse response;
  response.set_sample_index(static_cast<uint32_t>(output.sample_index));
  response.mutable_token_ids()->Add(output.new_token_ids.begin(), output.new_token_ids.end());
  for (const StepLogprobs& step : output.logprobs) ToProto(step, response.add_logprobs());
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

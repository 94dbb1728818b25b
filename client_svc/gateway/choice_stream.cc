#include "client_svc/gateway/choice_stream.h"

#include "common/status_macros.h"

namespace tern {
namespace {

DecodeOptions OutputDecodeOptions(const GenerationRequest& request) {
  DecodeOptions options;
  options.skip_special_tokens = request.skip_special_tokens;
  return options;
}

const char* FinishReasonName(v1::FinishReason reason) {
  switch (reason) {
    case v1::FINISH_REASON_STOP:
      return "stop";
    case v1::FINISH_REASON_LENGTH:
      return "length";
    default:
      return "abort";
  }
}

}  // namespace

ChoiceStream::ChoiceStream(int64_t index, const Tokenizer& tokenizer, const GenerationRequest& request)
    : index_(index),
      tokenizer_(tokenizer),
      detokenizer_(tokenizer, OutputDecodeOptions(request)),
      stops_(request.stop, request.include_stop_str_in_output),
      has_stops_(!request.stop.empty()),
      min_tokens_(request.min_tokens),
      want_logprobs_(request.logprobs.has_value()) {}

absl::StatusOr<std::string> ChoiceStream::TextOf(int32_t id) const {
  return tokenizer_.Decode(absl::MakeConstSpan(&id, 1));
}

absl::Status ChoiceStream::AddToken(int32_t id, ChoiceDelta* delta) {
  ++num_tokens_;
  delta->token_ids.push_back(id);
  ASSIGN_OR_RETURN(std::string piece, detokenizer_.Step(id));
  // Stop strings apply once more than min_tokens tokens exist.
  if (!has_stops_ || num_tokens_ <= min_tokens_) {
    delta->text += piece;
    return absl::OkStatus();
  }
  StopStringMatcher::Result result = stops_.Append(piece);
  delta->text += result.text;
  if (result.stopped) {
    finished_ = true;
    delta->finish_reason = "stop";
    delta->stop_reason = result.stop_string;
  }
  return absl::OkStatus();
}

absl::StatusOr<ChoiceDelta> ChoiceStream::Add(const v1::GenerateResponse& response) {
  ChoiceDelta delta;
  delta.index = index_;
  if (finished_) return delta;
  for (int k = 0; k < response.token_ids_size() && !finished_; ++k) {
    RETURN_IF_ERROR(AddToken(response.token_ids(k), &delta));
    if (!want_logprobs_ || k >= response.logprobs_size()) continue;
    const v1::StepLogprobs& step = response.logprobs(k);
    TokenLogprobs& entry = delta.logprobs.emplace_back();
    entry.sampled.id = step.sampled().token_id();
    entry.sampled.logprob = step.sampled().logprob();
    ASSIGN_OR_RETURN(entry.sampled.text, TextOf(entry.sampled.id));
    for (const v1::TokenLogprob& top : step.top()) {
      TokenText& t = entry.top.emplace_back();
      t.id = top.token_id();
      t.logprob = top.logprob();
      ASSIGN_OR_RETURN(t.text, TextOf(t.id));
    }
  }
  if (response.finished() && !finished_) {
    finished_ = true;
    ASSIGN_OR_RETURN(std::string rest, detokenizer_.Finish());
    if (has_stops_ && num_tokens_ > min_tokens_) {
      StopStringMatcher::Result result = stops_.Append(rest);
      delta.text += result.text;
      if (result.stopped) {
        delta.finish_reason = "stop";
        delta.stop_reason = result.stop_string;
        return delta;
      }
      delta.text += stops_.Flush();
    } else {
      delta.text += rest;
    }
    delta.finish_reason = FinishReasonName(response.finish_reason());
    if (response.has_stop_token_id()) delta.stop_reason = response.stop_token_id();
  }
  return delta;
}

ChoiceDelta ChoiceStream::Abort() {
  ChoiceDelta delta;
  delta.index = index_;
  if (finished_) return delta;
  finished_ = true;
  delta.finish_reason = "abort";
  return delta;
}

}  // namespace tern

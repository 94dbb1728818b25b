#include "bench_tools/stream_recorder.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tern::bench {
namespace {

constexpr size_t kMaxErrorBody = 4096;
constexpr size_t kMaxQuoted = 200;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string HttpErrorReason(int status, absl::string_view body) {
  std::string message;
  nlohmann::json json = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (json.is_object()) {
    const nlohmann::json* source = &json;
    if (auto error = json.find("error"); error != json.end()) {
      if (error->is_string()) message = error->get<std::string>();
      source = &*error;
    }
    if (message.empty() && source->is_object()) {
      for (const char* key : {"message", "detail"}) {
        auto it = source->find(key);
        if (it != source->end() && it->is_string()) {
          message = it->get<std::string>();
          break;
        }
      }
    }
  }
  if (message.empty()) message = std::string(absl::StripAsciiWhitespace(body));
  if (message.size() > kMaxQuoted) message = absl::StrCat(message.substr(0, kMaxQuoted), "...");
  return message.empty() ? absl::StrCat("HTTP ", status) : absl::StrCat("HTTP ", status, ": ", message);
}

StreamRecorder::StreamRecorder(RequestResult result, Clock::time_point run_start, DoneCallback done)
    : result_(std::move(result)), sent_(Clock::now()), done_(std::move(done)) {
  result_.start_s = Seconds(sent_ - run_start);
}

void StreamRecorder::OnStatus(int status, Clock::time_point) { result_.http_status = status; }

void StreamRecorder::OnBody(absl::string_view bytes, Clock::time_point at) {
  if (result_.http_status != 200) {
    const absl::string_view kept = bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size()));
    error_body_.append(kept.data(), kept.size());
    return;
  }
  sse_.Feed(bytes, [&](absl::string_view data) { OnEvent(data, at); });
}

void StreamRecorder::OnEvent(absl::string_view data, Clock::time_point at) {
  ++num_events_;
  StreamChunk chunk = ParseStreamChunk(data);
  switch (chunk.kind) {
    case StreamChunk::Kind::kDone:
      return;
    case StreamChunk::Kind::kError:
      if (stream_error_.empty()) stream_error_ = absl::StrCat("error event in the stream: ", chunk.error);
      return;
    case StreamChunk::Kind::kMalformed:
      if (stream_error_.empty()) stream_error_ = chunk.error;
      return;
    case StreamChunk::Kind::kChunk:
      break;
  }
  // A chunk counts when it carries generated text: a chat stream's opening
  // role-only chunk or a text-less finish chunk is not a token.
  if (!chunk.text.empty()) {
    if (result_.num_chunks == 0) {
      result_.ttft_s = Seconds(at - sent_);
    } else {
      result_.itl_s.push_back(Seconds(at - last_chunk_));
    }
    last_chunk_ = at;
    result_.e2el_s = Seconds(at - sent_);
    ++result_.num_chunks;
    result_.generated_text += chunk.text;
  }
  if (!chunk.finish_reason.empty()) result_.finish_reason = chunk.finish_reason;
  if (chunk.prompt_tokens) result_.usage_prompt_tokens = chunk.prompt_tokens;
  if (chunk.completion_tokens) result_.usage_completion_tokens = chunk.completion_tokens;
}

std::string StreamRecorder::Failure(const absl::Status& status) const {
  if (!status.ok()) {
    std::string reason(status.message());
    if (result_.num_chunks > 0) absl::StrAppend(&reason, " (after ", result_.num_chunks, " chunks)");
    return reason;
  }
  if (result_.http_status != 200) return HttpErrorReason(result_.http_status, error_body_);
  if (!stream_error_.empty()) return stream_error_;
  if (num_events_ == 0) return "the response carried no server-sent events (does the endpoint stream?)";
  if (result_.num_chunks == 0) return "the stream carried no generated text";
  return "";
}

void StreamRecorder::OnEnd(const absl::Status& status, Clock::time_point at) {
  if (status.ok() && result_.http_status == 200) {
    sse_.Finish([&](absl::string_view data) { OnEvent(data, at); });
  }
  if (absl::IsCancelled(status)) {
    result_.cancelled = true;
  } else {
    result_.error = Failure(status);
    result_.success = result_.error.empty();
  }
  done_(std::move(result_));
}

}  // namespace tern::bench

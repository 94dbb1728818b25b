#include "bench_tools/sse_stream.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace tern::bench {
namespace {

constexpr size_t kMaxQuotedLength = 200;

std::optional<int64_t> IntField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

const std::string* StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

std::string ErrorMessage(const nlohmann::json& error) {
  if (error.is_string()) return error.get<std::string>();
  if (error.is_object()) {
    if (const std::string* message = StringField(error, "message")) return *message;
  }
  return error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void SseParser::Feed(absl::string_view bytes, EventCallback on_event) {
  while (!bytes.empty()) {
    const void* newline = std::memchr(bytes.data(), '\n', bytes.size());
    if (newline == nullptr) {
      partial_line_.append(bytes.data(), bytes.size());
      return;
    }
    const size_t length = static_cast<size_t>(static_cast<const char*>(newline) - bytes.data());
    if (partial_line_.empty()) {
      Line(bytes.substr(0, length), on_event);
    } else {
      partial_line_.append(bytes.data(), length);
      std::string line = std::move(partial_line_);
      partial_line_.clear();
      Line(line, on_event);
    }
    bytes.remove_prefix(length + 1);
  }
}

void SseParser::Finish(EventCallback on_event) {
  if (!partial_line_.empty()) {
    std::string line = std::move(partial_line_);
    partial_line_.clear();
    Line(line, on_event);
  }
  Line("", on_event);
}

void SseParser::Line(absl::string_view line, EventCallback on_event) {
  absl::ConsumeSuffix(&line, "\r");
  if (line.empty()) {
    if (has_data_) on_event(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (!absl::ConsumePrefix(&line, "data")) return;  // Comments and other fields.
  if (!line.empty() && line[0] != ':') return;       // A field named "data..." but longer.
  absl::ConsumePrefix(&line, ":");
  absl::ConsumePrefix(&line, " ");
  if (has_data_) data_.push_back('\n');
  data_.append(line.data(), line.size());
  has_data_ = true;
}

StreamChunk ParseStreamChunk(absl::string_view data) {
  StreamChunk chunk;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(data);
  if (trimmed == "[DONE]") {
    chunk.kind = StreamChunk::Kind::kDone;
    return chunk;
  }
  nlohmann::json json = nlohmann::json::parse(trimmed.begin(), trimmed.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    chunk.kind = StreamChunk::Kind::kMalformed;
    chunk.error = absl::StrCat("malformed stream event: ", trimmed.substr(0, kMaxQuotedLength));
    return chunk;
  }
  if (auto error = json.find("error"); error != json.end() && !error->is_null()) {
    chunk.kind = StreamChunk::Kind::kError;
    chunk.error = ErrorMessage(*error);
    return chunk;
  }
  if (const std::string* object = StringField(json, "object"); object != nullptr && *object == "error") {
    chunk.kind = StreamChunk::Kind::kError;
    chunk.error = ErrorMessage(json);
    return chunk;
  }
  if (auto choices = json.find("choices"); choices != json.end() && choices->is_array() && !choices->empty() &&
                                           (*choices)[0].is_object()) {
    const nlohmann::json& choice = (*choices)[0];
    chunk.has_choice = true;
    if (const std::string* text = StringField(choice, "text")) {
      chunk.text = *text;
    } else if (auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
      for (const char* key : {"content", "reasoning_content", "reasoning"}) {
        const std::string* text = StringField(*delta, key);
        if (text != nullptr && !text->empty()) {
          chunk.text = *text;
          break;
        }
      }
    }
    if (const std::string* reason = StringField(choice, "finish_reason")) chunk.finish_reason = *reason;
  }
  if (auto usage = json.find("usage"); usage != json.end() && usage->is_object()) {
    chunk.prompt_tokens = IntField(*usage, "prompt_tokens");
    chunk.completion_tokens = IntField(*usage, "completion_tokens");
  }
  return chunk;
}

}  // namespace tern::bench

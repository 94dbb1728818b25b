#include "client_svc/tokenizer/decoder.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "client_svc/tokenizer/byte_level.h"
#include "client_svc/tokenizer/component_json.h"
#include "client_svc/tokenizer/pattern.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern {
namespace {

// All tokens' byte-level characters back to bytes, as one lossily decoded
// string. A token with a character outside the alphabet contributes its own
// UTF-8 bytes unchanged (special tokens such as "<|im_end|>" or ones with
// spaces).
class ByteLevelDecoder : public Decoder {
 public:
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    std::string bytes;
    for (const std::string& token : *tokens) {
      const size_t mark = bytes.size();
      bool mapped = true;
      for (size_t pos = 0; pos < token.size();) {
        char32_t c;
        const int length = DecodeUtf8(token, pos, &c);
        const int byte = length == 0 ? -1 : ByteLevelByte(c);
        if (byte < 0) {
          mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(byte));
        pos += length;
      }
      if (!mapped) {
        bytes.resize(mark);
        bytes.append(token);
      }
    }
    tokens->assign(1, Utf8Lossy(bytes));
    return absl::OkStatus();
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::unique_ptr<Pattern> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& token : *tokens) RETURN_IF_ERROR(pattern_->Replace(&token, content_));
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  std::string content_;
};

// Runs of "<0xXX>" tokens become the bytes they name: the run's text if it is
// UTF-8, else one U+FFFD per byte.
class ByteFallbackDecoder : public Decoder {
 public:
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens->size());
    std::string run;
    auto flush = [&] {
      if (run.empty()) return;
      if (IsValidUtf8(run)) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < run.size(); ++i) out.emplace_back(kReplacementChar);
      }
      run.clear();
    };
    for (std::string& token : *tokens) {
      int byte = -1;
      if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') {
        byte = HexByte(token[3], token[4]);
      }
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    *tokens = std::move(out);
    return absl::OkStatus();
  }
  bool HasByteFallback() const override { return true; }

 private:
  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int HexByte(char high, char low) {
    const int h = HexDigit(high);
    const int l = HexDigit(low);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }
};

class FuseDecoder : public Decoder {
 public:
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    std::string fused;
    for (const std::string& token : *tokens) fused.append(token);
    tokens->assign(1, std::move(fused));
    return absl::OkStatus();
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters from
// each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& token : *tokens) {
      absl::string_view view = token;
      for (size_t i = 0; i < start_ && absl::StartsWith(view, content_); ++i) {
        view.remove_prefix(content_.size());
      }
      for (size_t i = 0; i < stop_ && absl::EndsWith(view, content_); ++i) {
        view.remove_suffix(content_.size());
      }
      token = std::string(view);
    }
    return absl::OkStatus();
  }

 private:
  std::string content_;  // One character.
  size_t start_;
  size_t stop_;
};

// Replacement characters become spaces; in the first token they are dropped
// unless the prepend scheme is "never".
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepends)
      : replacement_(std::move(replacement)), prepends_(prepends) {}
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      const bool drop = i == 0 && prepends_;
      (*tokens)[i] = absl::StrReplaceAll((*tokens)[i], {{replacement_, drop ? "" : " "}});
    }
    return absl::OkStatus();
  }

 private:
  std::string replacement_;
  bool prepends_;
};

// The end-of-word suffix becomes a space (nothing after the last token).
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      const bool last = i + 1 == tokens->size();
      (*tokens)[i] = absl::StrReplaceAll((*tokens)[i], {{suffix_, last ? "" : " "}});
    }
    return absl::OkStatus();
  }

 private:
  std::string suffix_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  absl::Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (const auto& step : steps_) RETURN_IF_ERROR(step->DecodeChain(tokens));
    return absl::OkStatus();
  }
  bool HasByteFallback() const override {
    for (const auto& step : steps_) {
      if (step->HasByteFallback()) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

absl::StatusOr<std::string> OneCharField(const JsonObject& fields, absl::string_view key,
                                         absl::string_view fallback) {
  ASSIGN_OR_RETURN(std::string value, fields.StringOr(key, std::string(fallback)));
  char32_t c;
  if (value.empty() || DecodeUtf8(value, 0, &c) != static_cast<int>(value.size())) {
    return fields.Error(key, "must be one character");
  }
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const nlohmann::json& json,
                                                      const std::string& path) {
  RETURN_IF_ERROR(CheckNestingDepth(path));
  ASSIGN_OR_RETURN(JsonObject fields, JsonObject::From(json, path));
  ASSIGN_OR_RETURN(std::string type, ComponentType(fields));
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") {
    ASSIGN_OR_RETURN(std::unique_ptr<Pattern> pattern, Pattern::FromJson(fields, "pattern"));
    ASSIGN_OR_RETURN(std::string content, fields.String("content"));
    return std::make_unique<ReplaceDecoder>(std::move(pattern), std::move(content));
  }
  if (type == "Strip") {
    ASSIGN_OR_RETURN(std::string content, OneCharField(fields, "content", " "));
    ASSIGN_OR_RETURN(int64_t start, fields.IntOr("start", 0));
    ASSIGN_OR_RETURN(int64_t stop, fields.IntOr("stop", 0));
    if (start < 0 || stop < 0) return fields.Error("start", "and 'stop' must not be negative");
    return std::make_unique<StripDecoder>(std::move(content), static_cast<size_t>(start),
                                          static_cast<size_t>(stop));
  }
  if (type == "Metaspace") {
    ASSIGN_OR_RETURN(std::string replacement, OneCharField(fields, "replacement", "\xE2\x96\x81"));
    ASSIGN_OR_RETURN(std::string scheme, fields.StringOr("prepend_scheme", "always"));
    ASSIGN_OR_RETURN(bool add_prefix_space, fields.BoolOr("add_prefix_space", true));
    const bool prepends = scheme != "never" && add_prefix_space;
    return std::make_unique<MetaspaceDecoder>(std::move(replacement), prepends);
  }
  if (type == "BPEDecoder") {
    ASSIGN_OR_RETURN(std::string suffix, fields.StringOr("suffix", "</w>"));
    return std::make_unique<BpeSuffixDecoder>(std::move(suffix));
  }
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Decoder>> steps,
                     ParseComponentList<Decoder>(fields, "decoders", ParseDecoder));
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  return UnsupportedComponent(fields, "decoder", type);
}

}  // namespace tern

#include "client_svc/tokenizer/normalizer.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/tokenizer/byte_level.h"
#include "client_svc/tokenizer/component_json.h"
#include "client_svc/tokenizer/pattern.h"
#include "client_svc/tokenizer/unicode.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern {
namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalizationForm form) : form_(form) {}
  absl::Status Normalize(std::string* text) const override {
    ASSIGN_OR_RETURN(*text, NormalizeUnicode(*text, form_));
    return absl::OkStatus();
  }

 private:
  NormalizationForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  absl::Status Normalize(std::string* text) const override {
    std::string out;
    out.reserve(text->size());
    for (size_t pos = 0; pos < text->size();) {
      const auto byte = static_cast<unsigned char>((*text)[pos]);
      if (byte < 0x80) {
        out.push_back(static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte + 32 : byte));
        ++pos;
        continue;
      }
      char32_t c;
      const int length = DecodeUtf8(*text, pos, &c);
      if (length == 0) return absl::InvalidArgumentError("Lowercase: text is not UTF-8");
      AppendLowercase(c, &out);
      pos += length;
    }
    *text = std::move(out);
    return absl::OkStatus();
  }
};

// Removes leading and/or trailing White_Space characters.
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  absl::Status Normalize(std::string* text) const override {
    size_t begin = 0;
    size_t end = text->size();
    char32_t c;
    if (left_) {
      while (begin < end) {
        const int length = DecodeUtf8(*text, begin, &c);
        if (length == 0 || !IsUnicodeWhitespace(c)) break;
        begin += length;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>((*text)[start]) & 0xC0) == 0x80) {
          --start;
        }
        if (DecodeUtf8(*text, start, &c) == 0 || !IsUnicodeWhitespace(c)) break;
        end = start;
      }
    }
    *text = text->substr(begin, end - begin);
    return absl::OkStatus();
  }

 private:
  bool left_;
  bool right_;
};

// Removes combining marks.
class StripAccentsNormalizer : public Normalizer {
 public:
  absl::Status Normalize(std::string* text) const override {
    std::string out;
    out.reserve(text->size());
    for (size_t pos = 0; pos < text->size();) {
      char32_t c;
      const int length = DecodeUtf8(*text, pos, &c);
      if (length == 0) return absl::InvalidArgumentError("StripAccents: text is not UTF-8");
      if (!IsUnicodeMark(c)) out.append(*text, pos, length);
      pos += length;
    }
    *text = std::move(out);
    return absl::OkStatus();
  }
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  absl::Status Normalize(std::string* text) const override {
    if (!text->empty()) text->insert(0, prefix_);
    return absl::OkStatus();
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::unique_ptr<Pattern> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  absl::Status Normalize(std::string* text) const override {
    return pattern_->Replace(text, content_);
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  std::string content_;
};

// Maps every byte to its byte-level character (as the ByteLevel
// pre-tokenizer does, without splitting).
class ByteLevelNormalizer : public Normalizer {
 public:
  absl::Status Normalize(std::string* text) const override {
    std::string out;
    out.reserve(text->size() * 2);
    for (char c : *text) AppendByteLevelChar(static_cast<unsigned char>(c), &out);
    *text = std::move(out);
    return absl::OkStatus();
  }
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  absl::Status Normalize(std::string* text) const override {
    for (const auto& part : parts_) RETURN_IF_ERROR(part->Normalize(text));
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const nlohmann::json& json,
                                                            const std::string& path) {
  RETURN_IF_ERROR(CheckNestingDepth(path));
  ASSIGN_OR_RETURN(JsonObject fields, JsonObject::From(json, path));
  ASSIGN_OR_RETURN(std::string type, ComponentType(fields));
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfkd);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Strip") {
    ASSIGN_OR_RETURN(bool left, fields.BoolOr("strip_left", true));
    ASSIGN_OR_RETURN(bool right, fields.BoolOr("strip_right", true));
    return std::make_unique<StripNormalizer>(left, right);
  }
  if (type == "Prepend") {
    ASSIGN_OR_RETURN(std::string prefix, fields.String("prepend"));
    return std::make_unique<PrependNormalizer>(std::move(prefix));
  }
  if (type == "Replace") {
    ASSIGN_OR_RETURN(std::unique_ptr<Pattern> pattern, Pattern::FromJson(fields, "pattern"));
    ASSIGN_OR_RETURN(std::string content, fields.String("content"));
    return std::make_unique<ReplaceNormalizer>(std::move(pattern), std::move(content));
  }
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Normalizer>> steps,
                     ParseComponentList<Normalizer>(fields, "normalizers", ParseNormalizer));
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  return UnsupportedComponent(fields, "normalizer", type);
}

}  // namespace tern

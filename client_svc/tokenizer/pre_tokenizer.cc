#include "client_svc/tokenizer/pre_tokenizer.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client_svc/tokenizer/byte_level.h"
#include "client_svc/tokenizer/component_json.h"
#include "client_svc/tokenizer/pattern.h"
#include "client_svc/tokenizer/split_behavior.h"
#include "client_svc/tokenizer/unicode.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern {
namespace {

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Pattern> pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  absl::Status PreTokenize(absl::string_view text, bool at_input_start,
                           WordSink sink) const override {
    return SplitText(
        text, at_input_start, behavior_, invert_,
        [this](absl::string_view t, SplitCallback on_split) {
          return pattern_->FindMatches(t, on_split);
        },
        sink);
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// Splits on characters satisfying a predicate.
template <typename Predicate>
class CharSplitPreTokenizer : public PreTokenizer {
 public:
  CharSplitPreTokenizer(Predicate predicate, SplitBehavior behavior)
      : predicate_(predicate), behavior_(behavior) {}
  absl::Status PreTokenize(absl::string_view text, bool at_input_start,
                           WordSink sink) const override {
    return SplitText(
        text, at_input_start, behavior_, /*invert=*/false,
        [this](absl::string_view t, SplitCallback on_split) {
          return FindCharSplits(t, predicate_, on_split);
        },
        sink);
  }

 private:
  Predicate predicate_;
  SplitBehavior behavior_;
};

template <typename Predicate>
std::unique_ptr<PreTokenizer> MakeCharSplit(Predicate predicate, SplitBehavior behavior) {
  return std::make_unique<CharSplitPreTokenizer<Predicate>>(predicate, behavior);
}

// Keeps runs of word characters and runs of other non-space characters
// (the regex \w+|[^\w\s]+ with Unicode classes); drops whitespace.
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  absl::Status PreTokenize(absl::string_view text, bool at_input_start,
                           WordSink sink) const override {
    enum class Kind { kWord, kOther, kSpace };
    size_t run_begin = 0;
    Kind run_kind = Kind::kSpace;
    for (size_t pos = 0;; ) {
      Kind kind = Kind::kSpace;
      int length = 0;
      if (pos < text.size()) {
        char32_t c;
        length = DecodeUtf8(text, pos, &c);
        if (length == 0) return absl::InvalidArgumentError("Whitespace: text is not UTF-8");
        kind = IsUnicodeWordChar(c)     ? Kind::kWord
               : IsUnicodeWhitespace(c) ? Kind::kSpace
                                        : Kind::kOther;
      }
      if (pos == text.size() || kind != run_kind) {
        if (run_kind != Kind::kSpace && pos > run_begin) {
          RETURN_IF_ERROR(
              sink(text.substr(run_begin, pos - run_begin), at_input_start && run_begin == 0));
        }
        run_begin = pos;
        run_kind = kind;
      }
      if (pos == text.size()) return absl::OkStatus();
      pos += length;
    }
  }
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Pattern> gpt2_split)
      : add_prefix_space_(add_prefix_space), gpt2_split_(std::move(gpt2_split)) {}

  absl::Status PreTokenize(absl::string_view text, bool at_input_start,
                           WordSink sink) const override {
    std::string prefixed;
    if (add_prefix_space_ && (text.empty() || text[0] != ' ')) {
      prefixed = absl::StrCat(" ", text);
      text = prefixed;
    }
    if (gpt2_split_ == nullptr) return Emit(text, at_input_start, sink);
    return SplitText(
        text, at_input_start, SplitBehavior::kIsolated, /*invert=*/false,
        [this](absl::string_view t, SplitCallback on_split) {
          return gpt2_split_->FindMatches(t, on_split);
        },
        [&](absl::string_view word, bool start) { return Emit(word, start, sink); });
  }

  bool EndsWithByteLevel() const override { return true; }
  void DeferByteMapping() override { map_bytes_ = false; }
  bool IsIdentity() const override {
    return !map_bytes_ && !add_prefix_space_ && gpt2_split_ == nullptr;
  }

 private:
  absl::Status Emit(absl::string_view word, bool at_input_start, WordSink sink) const {
    if (word.empty()) return absl::OkStatus();
    if (!map_bytes_) return sink(word, at_input_start);
    std::string mapped;
    mapped.reserve(word.size() * 2);
    for (char c : word) AppendByteLevelChar(static_cast<unsigned char>(c), &mapped);
    return sink(mapped, at_input_start);
  }

  bool add_prefix_space_;
  std::unique_ptr<Pattern> gpt2_split_;  // Null unless use_regex.
  bool map_bytes_ = true;
};

enum class PrependScheme { kAlways, kFirst, kNever };

// Spaces become the replacement character (a prefix one is added as the
// scheme says), then the text is cut before each replacement character.
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split,
                        std::unique_ptr<Pattern> splitter)
      : replacement_(std::move(replacement)),
        scheme_(scheme),
        split_(split),
        splitter_(std::move(splitter)) {}

  absl::Status PreTokenize(absl::string_view text, bool at_input_start,
                           WordSink sink) const override {
    if (text.empty()) return absl::OkStatus();
    std::string replaced;
    replaced.reserve(text.size() + replacement_.size() * 4);
    const bool starts_with_replacement =
        absl::StartsWith(text, replacement_) || text[0] == ' ';
    const bool prepend = scheme_ == PrependScheme::kAlways ||
                         (scheme_ == PrependScheme::kFirst && at_input_start);
    if (prepend && !starts_with_replacement) replaced.append(replacement_);
    for (char c : text) {
      if (c == ' ') {
        replaced.append(replacement_);
      } else {
        replaced.push_back(c);
      }
    }
    if (!split_) return sink(replaced, at_input_start);
    return SplitText(
        replaced, at_input_start, SplitBehavior::kMergedWithNext, /*invert=*/false,
        [this](absl::string_view t, SplitCallback on_split) {
          return splitter_->FindMatches(t, on_split);
        },
        sink);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
  std::unique_ptr<Pattern> splitter_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}

  absl::Status PreTokenize(absl::string_view text, bool at_input_start,
                           WordSink sink) const override {
    return RunFrom(0, text, at_input_start, sink);
  }
  bool EndsWithByteLevel() const override {
    return !steps_.empty() && steps_.back()->EndsWithByteLevel();
  }
  bool IsIdentity() const override { return steps_.empty(); }
  void DeferByteMapping() override {
    steps_.back()->DeferByteMapping();
    // A deferred ByteLevel step without a prefix space or regex does nothing.
    if (steps_.back()->IsIdentity()) steps_.pop_back();
  }

 private:
  // Runs steps_[i..] on `text`.
  absl::Status RunFrom(size_t i, absl::string_view text, bool at_input_start,
                       WordSink sink) const {
    if (i == steps_.size()) return sink(text, at_input_start);
    return steps_[i]->PreTokenize(text, at_input_start,
                                  [&](absl::string_view word, bool start) {
                                    return RunFrom(i + 1, word, start, sink);
                                  });
  }

  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

constexpr absl::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

absl::StatusOr<SplitBehavior> BehaviorField(const JsonObject& fields, absl::string_view fallback) {
  ASSIGN_OR_RETURN(std::string name, fields.StringOr("behavior", std::string(fallback)));
  absl::StatusOr<SplitBehavior> behavior = ParseSplitBehavior(name);
  if (!behavior.ok()) return fields.Error("behavior", behavior.status().message());
  return behavior;
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> ParseMetaspace(const JsonObject& fields) {
  ASSIGN_OR_RETURN(std::string replacement, fields.StringOr("replacement", "\xE2\x96\x81"));
  char32_t c;
  if (replacement.empty() ||
      DecodeUtf8(replacement, 0, &c) != static_cast<int>(replacement.size())) {
    return fields.Error("replacement", "must be one character");
  }
  ASSIGN_OR_RETURN(std::string scheme_name, fields.StringOr("prepend_scheme", "always"));
  PrependScheme scheme;
  if (scheme_name == "always") {
    scheme = PrependScheme::kAlways;
  } else if (scheme_name == "first") {
    scheme = PrependScheme::kFirst;
  } else if (scheme_name == "never") {
    scheme = PrependScheme::kNever;
  } else {
    return fields.Error("prepend_scheme", "must be \"always\", \"first\" or \"never\"");
  }
  // Older files carry add_prefix_space instead of prepend_scheme.
  ASSIGN_OR_RETURN(bool add_prefix_space, fields.BoolOr("add_prefix_space", true));
  if (!add_prefix_space) scheme = PrependScheme::kNever;
  ASSIGN_OR_RETURN(bool split, fields.BoolOr("split", true));
  ASSIGN_OR_RETURN(std::unique_ptr<Pattern> splitter, Pattern::FromLiteral(replacement));
  return std::make_unique<MetaspacePreTokenizer>(std::move(replacement), scheme, split,
                                                 std::move(splitter));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const nlohmann::json& json,
                                                                const std::string& path) {
  RETURN_IF_ERROR(CheckNestingDepth(path));
  ASSIGN_OR_RETURN(JsonObject fields, JsonObject::From(json, path));
  ASSIGN_OR_RETURN(std::string type, ComponentType(fields));
  if (type == "Split") {
    ASSIGN_OR_RETURN(std::unique_ptr<Pattern> pattern, Pattern::FromJson(fields, "pattern"));
    ASSIGN_OR_RETURN(SplitBehavior behavior, BehaviorField(fields, "Isolated"));
    ASSIGN_OR_RETURN(bool invert, fields.BoolOr("invert", false));
    return std::make_unique<SplitPreTokenizer>(std::move(pattern), behavior, invert);
  }
  if (type == "ByteLevel") {
    ASSIGN_OR_RETURN(bool add_prefix_space, fields.BoolOr("add_prefix_space", true));
    ASSIGN_OR_RETURN(bool use_regex, fields.BoolOr("use_regex", true));
    std::unique_ptr<Pattern> gpt2;
    if (use_regex) {
      ASSIGN_OR_RETURN(gpt2, Pattern::FromRegex(kGpt2Pattern));
    }
    return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, std::move(gpt2));
  }
  if (type == "Metaspace") return ParseMetaspace(fields);
  if (type == "Digits") {
    ASSIGN_OR_RETURN(bool individual, fields.BoolOr("individual_digits", false));
    return MakeCharSplit(IsUnicodeNumeric,
                         individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (type == "Punctuation") {
    ASSIGN_OR_RETURN(SplitBehavior behavior, BehaviorField(fields, "Isolated"));
    return MakeCharSplit(IsUnicodePunctuation, behavior);
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") return MakeCharSplit(IsUnicodeWhitespace, SplitBehavior::kRemoved);
  if (type == "CharDelimiterSplit") {
    ASSIGN_OR_RETURN(std::string delimiter, fields.String("delimiter"));
    char32_t c;
    if (delimiter.empty() || DecodeUtf8(delimiter, 0, &c) != static_cast<int>(delimiter.size())) {
      return fields.Error("delimiter", "must be one character");
    }
    return MakeCharSplit([c](char32_t x) { return x == c; }, SplitBehavior::kRemoved);
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.push_back(MakeCharSplit(IsUnicodeWhitespace, SplitBehavior::kRemoved));
    steps.push_back(MakeCharSplit(IsUnicodePunctuation, SplitBehavior::kIsolated));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(std::vector<std::unique_ptr<PreTokenizer>> steps,
                     ParseComponentList<PreTokenizer>(fields, "pretokenizers", ParsePreTokenizer));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  return UnsupportedComponent(fields, "pre-tokenizer", type);
}

}  // namespace tern

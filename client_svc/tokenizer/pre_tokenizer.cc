#include "client_svc/tokenizer/pre_tokenizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/tokenizer/byte_level.h"
#include "client_svc/tokenizer/component_json.h"
#include "client_svc/tokenizer/pattern.h"
#include "client_svc/tokenizer/split_behavior.h"
#include "client_svc/tokenizer/unicode.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern {

void PreTokenizedText::Reset(absl::string_view text, bool at_input_start) {
  buffer.assign(text.data(), text.size());
  pieces.clear();
  if (!text.empty()) pieces.push_back({0, static_cast<uint32_t>(text.size()), at_input_start});
}

namespace {

// Rebuilds `text`'s buffer from its pieces, each rewritten by `rewrite`
// (which appends the new text of a piece to `out`).
template <typename Rewrite>
absl::Status RewritePieces(PreTokenizedText* text, Rewrite rewrite) {
  std::string buffer;
  buffer.reserve(text->buffer.size() + text->buffer.size() / 4 + 8);
  for (PreTokenizedText::Piece& piece : text->pieces) {
    const size_t begin = buffer.size();
    RETURN_IF_ERROR(rewrite(text->PieceText(piece), piece.at_input_start, &buffer));
    piece.begin = static_cast<uint32_t>(begin);
    piece.end = static_cast<uint32_t>(buffer.size());
  }
  text->buffer = std::move(buffer);
  return absl::OkStatus();
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Pattern> pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  absl::Status PreTokenize(PreTokenizedText* text) const override {
    return SplitPieces(text, behavior_, invert_,
                       [this](absl::string_view piece, std::vector<PatternSplit>* out) {
                         return pattern_->FindMatches(piece, out);
                       });
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
  absl::Status PreTokenize(PreTokenizedText* text) const override {
    return SplitPieces(text, behavior_, /*invert=*/false,
                       [this](absl::string_view piece, std::vector<PatternSplit>* out) {
                         return FindCharSplits(piece, predicate_, out);
                       });
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
// (the regex \w+|[^\w\s]+); drops whitespace.
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  absl::Status PreTokenize(PreTokenizedText* text) const override {
    return SplitPieces(text, SplitBehavior::kRemoved, /*invert=*/true,
                       [](absl::string_view piece, std::vector<PatternSplit>* out) {
                         return FindWordRuns(piece, out);
                       });
  }

 private:
  enum class Kind { kWord, kOther, kSpace };
  static absl::Status FindWordRuns(absl::string_view piece, std::vector<PatternSplit>* out) {
    if (piece.empty()) {
      out->push_back({0, 0, false});
      return absl::OkStatus();
    }
    size_t run_begin = 0;
    Kind run_kind = Kind::kSpace;
    for (size_t pos = 0; pos <= piece.size();) {
      Kind kind = Kind::kSpace;
      int length = 1;
      if (pos < piece.size()) {
        char32_t c;
        length = DecodeUtf8(piece, pos, &c);
        if (length == 0) return absl::InvalidArgumentError("Whitespace: text is not UTF-8");
        kind = IsUnicodeWordChar(c) ? Kind::kWord
               : IsUnicodeWhitespace(c) ? Kind::kSpace
                                        : Kind::kOther;
      }
      if (pos == piece.size() || kind != run_kind || kind == Kind::kSpace) {
        // Close the current run; whitespace characters are single non-matches.
        if (pos > run_begin) out->push_back({run_begin, pos, run_kind != Kind::kSpace});
        run_begin = pos;
        run_kind = kind;
      }
      if (pos == piece.size()) break;
      pos += length;
    }
    return absl::OkStatus();
  }
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Pattern> gpt2_split)
      : add_prefix_space_(add_prefix_space), gpt2_split_(std::move(gpt2_split)) {}

  absl::Status PreTokenize(PreTokenizedText* text) const override {
    if (add_prefix_space_) {
      RETURN_IF_ERROR(RewritePieces(
          text, [](absl::string_view piece, bool, std::string* out) -> absl::Status {
            if (piece.empty() || piece[0] != ' ') out->push_back(' ');
            out->append(piece.data(), piece.size());
            return absl::OkStatus();
          }));
    }
    if (gpt2_split_ != nullptr) {
      RETURN_IF_ERROR(SplitPieces(text, SplitBehavior::kIsolated, /*invert=*/false,
                                  [this](absl::string_view piece, std::vector<PatternSplit>* out) {
                                    return gpt2_split_->FindMatches(piece, out);
                                  }));
    }
    if (!map_bytes_) return absl::OkStatus();
    return RewritePieces(text, [](absl::string_view piece, bool, std::string* out) {
      for (char c : piece) AppendByteLevelChar(static_cast<unsigned char>(c), out);
      return absl::OkStatus();
    });
  }

  bool EndsWithByteLevel() const override { return true; }
  void DeferByteMapping() override { map_bytes_ = false; }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Pattern> gpt2_split_;  // Null unless use_regex.
  bool map_bytes_ = true;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  absl::Status PreTokenize(PreTokenizedText* text) const override {
    RETURN_IF_ERROR(RewritePieces(
        text, [this](absl::string_view piece, bool at_start, std::string* out) -> absl::Status {
          const bool starts_with_replacement =
              absl::string_view(piece).substr(0, replacement_.size()) == replacement_ ||
              (!piece.empty() && piece[0] == ' ');
          const bool prepend = scheme_ == PrependScheme::kAlways ||
                               (scheme_ == PrependScheme::kFirst && at_start);
          if (prepend && !starts_with_replacement) out->append(replacement_);
          for (char c : piece) {
            if (c == ' ') {
              out->append(replacement_);
            } else {
              out->push_back(c);
            }
          }
          return absl::OkStatus();
        }));
    if (!split_) return absl::OkStatus();
    return SplitPieces(text, SplitBehavior::kMergedWithNext, /*invert=*/false,
                       [this](absl::string_view piece, std::vector<PatternSplit>* out) {
                         return splitter_->FindMatches(piece, out);
                       });
  }

  absl::Status Init() {
    ASSIGN_OR_RETURN(splitter_, Pattern::FromLiteral(replacement_));
    return absl::OkStatus();
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
  absl::Status PreTokenize(PreTokenizedText* text) const override {
    for (const auto& step : steps_) RETURN_IF_ERROR(step->PreTokenize(text));
    return absl::OkStatus();
  }
  bool EndsWithByteLevel() const override {
    return !steps_.empty() && steps_.back()->EndsWithByteLevel();
  }
  void DeferByteMapping() override { steps_.back()->DeferByteMapping(); }

 private:
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
  if (CountUtf8Chars(replacement) != 1 || !IsValidUtf8(replacement)) {
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
  auto metaspace = std::make_unique<MetaspacePreTokenizer>(std::move(replacement), scheme, split);
  RETURN_IF_ERROR(metaspace->Init());
  return metaspace;
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
    ASSIGN_OR_RETURN(const nlohmann::json* list, RequiredArray(fields, "pretokenizers"));
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list->size(); ++i) {
      ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> step,
                       ParsePreTokenizer((*list)[i], absl::StrCat(path, ".pretokenizers[", i, "]")));
      steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  return UnsupportedComponent(fields, "pre-tokenizer", type);
}

}  // namespace tern

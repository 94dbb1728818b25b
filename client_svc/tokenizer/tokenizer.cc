#include "client_svc/tokenizer/tokenizer.h"

#include <cctype>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/status_macros.h"

namespace tern {
namespace {

constexpr char kSource[] = "tokenizer.json";
constexpr char kMetaspace[] = "\xE2\x96\x81";  // U+2581, SentencePiece's space.

// The component under `key`, or nullptr when it is absent or null.
const nlohmann::json* Component(const nlohmann::json& root, const char* key) {
  auto it = root.find(key);
  return it == root.end() || it->is_null() ? nullptr : &*it;
}

std::string Path(absl::string_view key) { return absl::StrCat(kSource, ": ", key); }

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path,
                                                               const TokenizerOptions& options) {
  ASSIGN_OR_RETURN(std::string json, ReadFileToString(path));
  return FromJson(json, options);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(absl::string_view json,
                                                               const TokenizerOptions& options) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(json, kSource));
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(kSource, ": expected a JSON object"));
  }
  auto tokenizer = std::unique_ptr<Tokenizer>(new Tokenizer());
  RETURN_IF_ERROR(tokenizer->Build(root, options));
  return tokenizer;
}

absl::Status Tokenizer::Build(const nlohmann::json& root, const TokenizerOptions& options) {
  const nlohmann::json* model = Component(root, "model");
  if (model == nullptr) return absl::InvalidArgumentError(Path("'model' is required"));
  {
    ASSIGN_OR_RETURN(JsonObject fields, JsonObject::From(*model, Path("model")));
    ASSIGN_OR_RETURN(std::string type, fields.StringOr("type", "BPE"));
    if (type != "BPE") {
      return absl::UnimplementedError(
          absl::StrCat(Path("model"), ": unsupported model type '", type, "' (only BPE)"));
    }
  }
  ASSIGN_OR_RETURN(model_, BpeModel::FromJson(*model, Path("model")));
  if (const nlohmann::json* json = Component(root, "normalizer")) {
    ASSIGN_OR_RETURN(normalizer_, ParseNormalizer(*json, Path("normalizer")));
  }
  if (const nlohmann::json* json = Component(root, "pre_tokenizer")) {
    ASSIGN_OR_RETURN(pre_tokenizer_, ParsePreTokenizer(*json, Path("pre_tokenizer")));
  }
  if (const nlohmann::json* json = Component(root, "post_processor")) {
    ASSIGN_OR_RETURN(post_processor_, ParsePostProcessor(*json, Path("post_processor")));
  }
  if (const nlohmann::json* json = Component(root, "decoder")) {
    ASSIGN_OR_RETURN(decoder_, ParseDecoder(*json, Path("decoder")));
  }
  if (pre_tokenizer_ != nullptr && pre_tokenizer_->EndsWithByteLevel() &&
      model_->EnableByteMode()) {
    pre_tokenizer_->DeferByteMapping();
    if (pre_tokenizer_->IsIdentity()) pre_tokenizer_.reset();
  }

  if (pre_tokenizer_ == nullptr && model_->CanCutBefore(kMetaspace)) cut_marker_ = kMetaspace;

  const nlohmann::json* added_json = Component(root, "added_tokens");
  ASSIGN_OR_RETURN(std::vector<AddedToken> added,
                   AddedVocabulary::ParseTokens(added_json != nullptr ? *added_json : nullptr,
                                                Path("added_tokens")));
  // Normalized tokens are matched (and decoded) by their normalized form.
  std::vector<std::string> normalized_contents;
  for (const AddedToken& token : added) {
    std::string content = token.content;
    if (token.normalized && normalizer_ != nullptr) {
      RETURN_IF_ERROR(normalizer_->Normalize(&content));
    }
    normalized_contents.push_back(std::move(content));
  }

  int32_t size = model_->vocab_size();
  for (const AddedToken& token : added) size = std::max(size, token.id + 1);
  id_to_token_.assign(static_cast<size_t>(size), nullptr);
  is_special_.assign(static_cast<size_t>(size), false);
  for (int32_t id = 0; id < model_->vocab_size(); ++id) id_to_token_[id] = model_->IdToToken(id);
  added_strings_ = normalized_contents;  // Stable from here on: id_to_token_ points into it.
  absl::flat_hash_map<std::string, bool> special_contents;
  for (size_t i = 0; i < added.size(); ++i) {
    id_to_token_[added[i].id] = &added_strings_[i];
    added_ids_[added[i].content] = added[i].id;
    if (added[i].special) special_contents[added[i].content] = true;
  }
  // As in HF, an id is special when its decode string is a special token's
  // content.
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    is_special_[id] = id_to_token_[id] != nullptr && special_contents.contains(*id_to_token_[id]);
  }
  is_byte_fallback_.assign(id_to_token_.size(), false);
  if (decoder_ != nullptr && decoder_->HasByteFallback()) {
    for (size_t id = 0; id < id_to_token_.size(); ++id) {
      const std::string* token = id_to_token_[id];
      is_byte_fallback_[id] = token != nullptr && token->size() == 6 &&
                              token->compare(0, 3, "<0x") == 0 && (*token)[5] == '>' &&
                              std::isxdigit(static_cast<unsigned char>((*token)[3])) &&
                              std::isxdigit(static_cast<unsigned char>((*token)[4]));
    }
  }
  added_ = std::make_unique<AddedVocabulary>(std::move(added), std::move(normalized_contents),
                                             options.split_special_tokens);
  return absl::OkStatus();
}

void Tokenizer::SetPostProcessor(std::unique_ptr<PostProcessor> post_processor) {
  post_processor_ = std::move(post_processor);
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(absl::string_view text,
                                                       bool add_special_tokens) const {
  std::vector<int32_t> ids;
  RETURN_IF_ERROR(EncodeTo(text, add_special_tokens, &ids));
  return ids;
}

absl::Status Tokenizer::EncodeTo(absl::string_view text, bool add_special_tokens,
                                 std::vector<int32_t>* out) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("text is not valid UTF-8");
  std::vector<int32_t> local;
  std::vector<int32_t>* ids = out->empty() ? out : &local;
  std::vector<AddedSplit> splits;
  added_->Split(text, /*normalized_tokens=*/false, &splits);
  std::vector<AddedSplit> inner;
  std::string normalized;
  for (const AddedSplit& split : splits) {
    if (split.token_id >= 0) {
      ids->push_back(split.token_id);
      continue;
    }
    const absl::string_view piece = text.substr(split.begin, split.end - split.begin);
    const bool at_start = split.begin == 0;
    if (normalizer_ == nullptr) {
      // Nothing changes the text, so normalized tokens match the raw text.
      if (!added_->HasTokens(/*normalized_tokens=*/true)) {
        RETURN_IF_ERROR(EncodeSegment(piece, at_start, ids));
        continue;
      }
      normalized.assign(piece.data(), piece.size());
    } else {
      normalized.assign(piece.data(), piece.size());
      RETURN_IF_ERROR(normalizer_->Normalize(&normalized));
    }
    inner.clear();
    added_->Split(normalized, /*normalized_tokens=*/true, &inner);
    for (const AddedSplit& sub : inner) {
      if (sub.token_id >= 0) {
        ids->push_back(sub.token_id);
      } else {
        RETURN_IF_ERROR(EncodeSegment(
            absl::string_view(normalized).substr(sub.begin, sub.end - sub.begin),
            at_start && sub.begin == 0, ids));
      }
    }
  }
  if (post_processor_ != nullptr) post_processor_->Process(ids, add_special_tokens);
  if (ids != out) out->insert(out->end(), ids->begin(), ids->end());
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeSegment(absl::string_view text, bool at_input_start,
                                      std::vector<int32_t>* ids) const {
  if (text.empty()) return absl::OkStatus();
  if (pre_tokenizer_ == nullptr) {
    if (cut_marker_.empty()) {
      model_->Tokenize(text, ids);
      return absl::OkStatus();
    }
    // Word by word: cut before each marker that does not follow a marker.
    const size_t m = cut_marker_.size();
    size_t word_begin = 0;
    for (size_t pos = text.find(cut_marker_, 1); pos != absl::string_view::npos;
         pos = text.find(cut_marker_, pos + m)) {
      if (pos >= m && text.substr(pos - m, m) == cut_marker_) continue;
      model_->Tokenize(text.substr(word_begin, pos - word_begin), ids);
      word_begin = pos;
    }
    model_->Tokenize(text.substr(word_begin), ids);
    return absl::OkStatus();
  }
  return pre_tokenizer_->PreTokenize(text, at_input_start, [&](absl::string_view word, bool) {
    model_->Tokenize(word, ids);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> Tokenizer::Decode(absl::Span<const int32_t> ids,
                                              const DecodeOptions& options) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string* token = IdToToken(id);
    if (token == nullptr) continue;
    if (options.skip_special_tokens && is_special_[static_cast<size_t>(id)]) continue;
    tokens.push_back(*token);
  }
  std::string text;
  if (decoder_ != nullptr) {
    RETURN_IF_ERROR(decoder_->DecodeChain(&tokens));
    for (const std::string& token : tokens) text.append(token);
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) text.push_back(' ');
      text.append(tokens[i]);
    }
  }
  if (!IsValidUtf8(text)) text = Utf8Lossy(text);
  if (options.clean_up_tokenization_spaces) text = CleanUpTokenizationSpaces(text);
  return text;
}

std::optional<int32_t> Tokenizer::TokenToId(absl::string_view token) const {
  auto it = added_ids_.find(token);
  if (it != added_ids_.end()) return it->second;
  return model_->TokenToId(token);
}

const std::string* Tokenizer::IdToToken(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return nullptr;
  return id_to_token_[static_cast<size_t>(id)];
}

std::string CleanUpTokenizationSpaces(absl::string_view text) {
  // Sequential replacements, in transformers' order.
  static constexpr std::pair<absl::string_view, absl::string_view> kRules[] = {
      {" .", "."},    {" ?", "?"},    {" !", "!"},    {" ,", ","},    {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string out(text);
  for (const auto& [from, to] : kRules) out = absl::StrReplaceAll(out, {{from, to}});
  return out;
}

}  // namespace tern

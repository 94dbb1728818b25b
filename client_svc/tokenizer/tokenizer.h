// A Hugging Face tokenizer (tokenizer.json): text -> ids and ids -> text, with
// the same results as HF tokenizers. The pipeline for Encode is
//   added tokens (raw) -> normalizer -> added tokens (normalized)
//     -> pre-tokenizer -> BPE model -> post-processor,
// and for Decode: ids -> token strings -> decoder.
//
//   ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::FromFile(dir + "/tokenizer.json"));
//   ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer->Encode("Hello", true));
//   ASSIGN_OR_RETURN(std::string text, tokenizer->Decode(ids, {.skip_special_tokens = true}));
//
// Thread safety: a Tokenizer is immutable after construction; Encode and
// Decode may run on any number of threads at once.
#ifndef TERN_CLIENT_SVC_TOKENIZER_TOKENIZER_H_
#define TERN_CLIENT_SVC_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client_svc/tokenizer/added_vocabulary.h"
#include "client_svc/tokenizer/bpe_model.h"
#include "client_svc/tokenizer/decoder.h"
#include "client_svc/tokenizer/normalizer.h"
#include "client_svc/tokenizer/post_processor.h"
#include "client_svc/tokenizer/pre_tokenizer.h"

namespace tern {

struct TokenizerOptions {
  // Match special added tokens in text as plain text instead
  // (tokenizer_config.json's split_special_tokens).
  bool split_special_tokens = false;
};

struct DecodeOptions {
  // Leave out the ids of special tokens.
  bool skip_special_tokens = false;
  // Apply transformers' clean_up_tokenization (" ." -> ".", " n't" -> "n't",
  // ...) to the decoded text.
  bool clean_up_tokenization_spaces = false;
};

class Tokenizer {
 public:
  // Builds a tokenizer from the text of a tokenizer.json. Errors name the
  // offending component ("tokenizer.json: pre_tokenizer.pretokenizers[0]:
  // unsupported pre-tokenizer type 'UnicodeScripts'"); never crashes on
  // malformed input.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(absl::string_view json,
                                                             const TokenizerOptions& options = {});
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& path,
                                                             const TokenizerOptions& options = {});

  // The ids of `text`. INVALID_ARGUMENT if `text` is not well-formed UTF-8.
  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text,
                                              bool add_special_tokens) const;
  // Appends the ids of `text` to `ids` (which may already hold ids: the
  // post-processor only sees the new ones).
  absl::Status EncodeTo(absl::string_view text, bool add_special_tokens,
                        std::vector<int32_t>* ids) const;

  // The text of `ids`. Ids without a token are skipped, as HF does. The result
  // is always well-formed UTF-8 (byte tokens that do not form characters
  // become U+FFFD).
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids,
                                     const DecodeOptions& options = {}) const;

  // Replaces the post-processor (used when tokenizer_config.json asks for a
  // BOS/EOS token that tokenizer.json's post-processor does not add).
  void SetPostProcessor(std::unique_ptr<PostProcessor> post_processor);

  std::optional<int32_t> TokenToId(absl::string_view token) const;
  // The string of `id` as Decode sees it, or nullptr.
  const std::string* IdToToken(int32_t id) const;
  // True if `id` is a special token (skipped by skip_special_tokens).
  bool IsSpecial(int32_t id) const {
    return id >= 0 && id < vocab_size() && is_special_[static_cast<size_t>(id)];
  }
  // True if `id` is a "<0xXX>" token that the decoder joins with its
  // neighbours (ByteFallback): its text is not final until the run of such
  // tokens ends.
  bool IsByteFallbackToken(int32_t id) const {
    return id >= 0 && id < vocab_size() && is_byte_fallback_[static_cast<size_t>(id)];
  }
  // One more than the largest id (model vocabulary and added tokens).
  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  const std::vector<AddedToken>& added_tokens() const { return added_->tokens(); }

 private:
  Tokenizer() = default;
  absl::Status Build(const nlohmann::json& root, const TokenizerOptions& options);
  // Encodes one segment that contains no added token.
  absl::Status EncodeSegment(absl::string_view text, bool at_input_start,
                             std::vector<int32_t>* ids) const;

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<AddedVocabulary> added_;
  // Without a pre-tokenizer: cut segments before this marker (see
  // BpeModel::CanCutBefore); empty when that is not safe.
  std::string cut_marker_;

  absl::flat_hash_map<std::string, int32_t> added_ids_;  // Content -> id.
  std::vector<const std::string*> id_to_token_;          // Decode strings, by id.
  std::vector<std::string> added_strings_;               // Owned decode strings.
  std::vector<bool> is_special_;
  std::vector<bool> is_byte_fallback_;
};

// transformers' clean_up_tokenization: removes the space before . ? ! , and
// before the English contractions n't 'm 's 've 're, and around a lone '.
std::string CleanUpTokenizationSpaces(absl::string_view text);

}  // namespace tern

#endif  // TERN_CLIENT_SVC_TOKENIZER_TOKENIZER_H_

#include "bench_tools/exact_text.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tern::bench {
namespace {

constexpr int kMaxAttempts = 64;        // Fresh starts.
constexpr int kMaxFixupsPerAttempt = 12;  // Decode -> encode -> adjust rounds per start.

}  // namespace

absl::StatusOr<ExactTextBuilder> ExactTextBuilder::Create(const Tokenizer& tokenizer) {
  absl::flat_hash_set<int32_t> added;
  for (const AddedToken& token : tokenizer.added_tokens()) added.insert(token.id);
  std::vector<int32_t> allowed;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    if (!added.contains(id) && !tokenizer.IsSpecial(id) && tokenizer.IdToToken(id) != nullptr) {
      allowed.push_back(id);
    }
  }
  if (allowed.empty()) return absl::InvalidArgumentError("the tokenizer has no ordinary tokens");
  ASSIGN_OR_RETURN(std::vector<int32_t> special, tokenizer.Encode("", true));
  return ExactTextBuilder(tokenizer, std::move(allowed), static_cast<int64_t>(special.size()));
}

absl::StatusOr<TokenText> ExactTextBuilder::Extend(const TokenText& prefix, int64_t num_tokens,
                                                   Rng& rng) const {
  if (num_tokens < 0) return absl::InvalidArgumentError("a negative token count");
  if (num_tokens == 0) return prefix;
  TokenText out;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    ASSIGN_OR_RETURN(bool done, TryExtend(prefix, num_tokens, rng, &out));
    if (done) return out;
  }
  return absl::InternalError(absl::StrCat("found no text of exactly ", num_tokens, " tokens after a ",
                                          prefix.ids.size(), "-token prefix in ", kMaxAttempts, " tries"));
}

absl::StatusOr<bool> ExactTextBuilder::TryExtend(const TokenText& prefix, int64_t num_tokens, Rng& rng,
                                                 TokenText* out) const {
  const auto n = static_cast<size_t>(num_tokens);
  const size_t num_allowed = allowed_.size();
  const auto offset = static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(num_allowed) - 1));
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = allowed_[(offset + i) % num_allowed];

  for (int round = 0; round < kMaxFixupsPerAttempt; ++round) {
    ASSIGN_OR_RETURN(std::string text, tokenizer_->Decode(ids));
    std::string whole = prefix.text + text;
    ASSIGN_OR_RETURN(std::vector<int32_t> encoded, tokenizer_->Encode(whole, false));
    // The new text must leave the prefix's tokens as they are.
    if (encoded.size() < prefix.ids.size() ||
        !std::equal(prefix.ids.begin(), prefix.ids.end(), encoded.begin())) {
      return false;
    }
    const size_t got = encoded.size() - prefix.ids.size();
    if (got == n) {
      out->text = std::move(whole);
      out->ids = std::move(encoded);
      return true;
    }
    ids.assign(encoded.begin() + static_cast<std::ptrdiff_t>(prefix.ids.size()), encoded.end());
    if (got > n) {
      ids.resize(n);
    } else {
      while (ids.size() < n) {
        ids.push_back(allowed_[static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(num_allowed) - 1))]);
      }
    }
  }
  return false;
}

}  // namespace tern::bench

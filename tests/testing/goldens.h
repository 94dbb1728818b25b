// Comparison of tern-generate output against the HF reference goldens
// (tests/data/models/*/goldens.json; see tests/data/models/README.md).
#ifndef TERN_TESTS_TESTING_GOLDENS_H_
#define TERN_TESTS_TESTING_GOLDENS_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace tern::testing {

struct GoldenTolerance {
  double logits = 2e-4;    // Absolute, on last_logits and all_logits.
  double logprobs = 2e-4;  // Absolute, on the top-5 logprobs of every step.
  // Greedy tokens are compared up to the first step whose top-1/top-2 margin
  // is below this: there, rounding may legitimately pick the other token.
  double margin = 1e-3;
  // Sequence positions from here on are not compared (logits at a position,
  // and tokens sampled from it): an earlier decision the implementation's
  // precision cannot resolve (a routing near-tie) may have gone either way.
  int64_t first_untrusted_position = INT64_MAX;
};

// A tern-generate request line for golden case `index`: 24 greedy tokens
// (EOS ignored, as the reference generated them),
// top-5 logprobs, last logits, and all logits where the golden has them.
nlohmann::json GoldenRequest(const nlohmann::json& golden_case, int index);

// Adds a gtest failure for every way `result` (a tern-generate output line)
// departs from `golden_case` beyond `tolerance`. `label` prefixes messages.
void ExpectMatchesGolden(const nlohmann::json& golden_case, const nlohmann::json& result,
                         const GoldenTolerance& tolerance, const std::string& label);

// The token part alone: `token_ids` [steps] and `top_logprobs` [steps][rank]
// [id, logprob], as an engine stream returns them (no logits).
void ExpectTokensMatchGolden(const nlohmann::json& golden_case, const nlohmann::json& token_ids,
                             const nlohmann::json& top_logprobs, const GoldenTolerance& tolerance,
                             const std::string& label);

// The e2e fixture (tests/data/e2e/qwen3-tiny/e2e_goldens.json): one
// tern-generate request line per case, its prompt ids, greedy, EOS honoured,
// max_tokens as the fixture says, and top-2 logprobs so every step's margin
// can be read back.
std::string E2eRequests(const nlohmann::json& e2e_goldens);

// Adds a gtest failure unless `result`'s token ids equal the case's output
// ids up to the first step whose top-1/top-2 margin in `margins_from` (a
// result line with top-2 logprobs, on the golden path) is below `margin`;
// when no step is, the finish reason must match too.
void ExpectMatchesE2eGolden(const nlohmann::json& golden_case, const nlohmann::json& result,
                            const nlohmann::json& margins_from, double margin, const std::string& label);

}  // namespace tern::testing

#endif  // TERN_TESTS_TESTING_GOLDENS_H_

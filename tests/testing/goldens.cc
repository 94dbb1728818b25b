#include "tests/testing/goldens.h"

#include <cmath>

#include "gtest/gtest.h"

namespace tern::testing {
namespace {

// Largest absolute difference between two equally long float arrays.
double MaxDifference(const nlohmann::json& a, const nlohmann::json& b, const std::string& what,
                     const std::string& label) {
  EXPECT_EQ(a.size(), b.size()) << label << ": " << what << " length";
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::fabs(a[i].get<double>() - b[i].get<double>()));
  }
  return worst;
}

}  // namespace

nlohmann::json GoldenRequest(const nlohmann::json& golden_case, int index) {
  return {{"id", std::to_string(index)},
          {"prompt_token_ids", golden_case["prompt"]},
          {"max_tokens", golden_case["greedy_tokens"].size()},
          {"temperature", 0},
          {"ignore_eos", true},
          {"logprobs", 5},
          {"return_last_logits", true},
          {"return_all_logits", golden_case.contains("all_logits")}};
}

void ExpectMatchesGolden(const nlohmann::json& golden, const nlohmann::json& result,
                         const GoldenTolerance& tolerance, const std::string& label) {
  ASSERT_FALSE(result.contains("error")) << label << ": " << result["error"];
  const int64_t prompt_len = static_cast<int64_t>(golden["prompt"].size());
  const int64_t trusted = tolerance.first_untrusted_position;
  if (prompt_len - 1 < trusted) {
    EXPECT_LE(MaxDifference(golden["last_logits"], result["last_logits"], "last_logits", label),
              tolerance.logits)
        << label << ": last_logits";
  }
  if (golden.contains("all_logits")) {
    const nlohmann::json& expected = golden["all_logits"];
    const nlohmann::json& actual = result["all_logits"];
    ASSERT_EQ(actual.size(), expected.size()) << label << ": all_logits rows";
    for (size_t row = 0; row < expected.size() && static_cast<int64_t>(row) < trusted; ++row) {
      EXPECT_LE(MaxDifference(expected[row], actual[row], "all_logits", label), tolerance.logits)
          << label << ": all_logits row " << row;
    }
  }

  ExpectTokensMatchGolden(golden, result["token_ids"], result["logprobs"], tolerance, label);
}

void ExpectTokensMatchGolden(const nlohmann::json& golden, const nlohmann::json& token_ids,
                             const nlohmann::json& top_logprobs, const GoldenTolerance& tolerance,
                             const std::string& label) {
  const int64_t prompt_len = static_cast<int64_t>(golden["prompt"].size());
  const int64_t trusted = tolerance.first_untrusted_position;
  const nlohmann::json& tokens = golden["greedy_tokens"];
  const nlohmann::json& margins = golden["greedy_margins"];
  const nlohmann::json& top5 = golden["greedy_top5_logprobs"];
  ASSERT_EQ(token_ids.size(), tokens.size()) << label;
  ASSERT_EQ(top_logprobs.size(), tokens.size()) << label;
  for (size_t step = 0; step < tokens.size(); ++step) {
    if (prompt_len - 1 + static_cast<int64_t>(step) >= trusted) break;
    // Logprobs of a step are comparable while every earlier token agrees.
    const nlohmann::json& expected = top5[step];
    const nlohmann::json& actual = top_logprobs[step];
    ASSERT_EQ(actual.size(), expected.size()) << label << " step " << step;
    for (size_t rank = 0; rank < expected.size(); ++rank) {
      EXPECT_NEAR(actual[rank][1].get<double>(), expected[rank][1].get<double>(),
                  tolerance.logprobs)
          << label << " step " << step << " rank " << rank;
      // Ids must agree at every rank that is not a near-tie with a neighbour.
      // The last rank's lower neighbour is not listed, so its id may swap
      // with that unseen candidate.
      const double value = expected[rank][1].get<double>();
      const bool tie_above = rank > 0 && expected[rank - 1][1].get<double>() - value < 2 * tolerance.logprobs;
      const bool tie_below = rank + 1 == expected.size() ||
                             value - expected[rank + 1][1].get<double>() < 2 * tolerance.logprobs;
      if (!tie_above && !tie_below) {
        EXPECT_EQ(actual[rank][0], expected[rank][0]) << label << " step " << step << " rank " << rank;
      }
    }
    if (margins[step].get<double>() < tolerance.margin) break;  // Tokens may differ from here.
    EXPECT_EQ(token_ids[step], tokens[step]) << label << " step " << step;
    if (token_ids[step] != tokens[step]) break;
  }
}

std::string E2eRequests(const nlohmann::json& e2e_goldens) {
  std::string lines;
  const nlohmann::json& cases = e2e_goldens["cases"];
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json request = {{"id", std::to_string(i)},
                                    {"prompt_token_ids", cases[i]["prompt_ids"]},
                                    {"max_tokens", e2e_goldens["max_tokens"]},
                                    {"temperature", 0},
                                    {"logprobs", 2}};
    lines += request.dump() + "\n";
  }
  return lines;
}

void ExpectMatchesE2eGolden(const nlohmann::json& golden, const nlohmann::json& result,
                            const nlohmann::json& margins_from, double margin, const std::string& label) {
  ASSERT_FALSE(result.contains("error")) << label << ": " << result["error"];
  const nlohmann::json& expected = golden["output_ids"];
  const nlohmann::json& actual = result["token_ids"];
  const nlohmann::json& logprobs = margins_from["logprobs"];
  size_t trusted = 0;
  while (trusted < expected.size() && trusted < logprobs.size() &&
         logprobs[trusted][0][1].get<double>() - logprobs[trusted][1][1].get<double>() >= margin) {
    ++trusted;
  }
  ASSERT_GE(actual.size(), trusted) << label << ": only " << actual.size() << " tokens";
  for (size_t step = 0; step < trusted; ++step) {
    EXPECT_EQ(actual[step], expected[step]) << label << ": token " << step;
  }
  if (trusted == expected.size()) {
    EXPECT_EQ(actual.size(), expected.size()) << label;
    EXPECT_EQ(result["finish_reason"], golden["finish_reason"]) << label;
  }
}

}  // namespace tern::testing

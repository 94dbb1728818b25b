#include "bench_tools/metrics.h"

#include <cmath>

#include "bench_tools/token_counts.h"
#include "client_svc/tokenizer/tokenizer_config.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern::bench {
namespace {

RequestResult Success(double start, double ttft, std::vector<double> itl, int64_t input, int64_t output) {
  RequestResult r;
  r.success = true;
  r.start_s = start;
  r.ttft_s = ttft;
  r.itl_s = std::move(itl);
  r.num_chunks = static_cast<int64_t>(r.itl_s.size()) + 1;
  r.e2el_s = ttft;
  for (double gap : r.itl_s) r.e2el_s += gap;
  r.input_tokens = input;
  r.output_tokens = output;
  r.max_tokens = output;
  r.usage_completion_tokens = output;
  return r;
}

// Five requests, timed by hand (seconds):
//   a: start 0.0, TTFT 0.1, 4 gaps of 0.1 -> E2EL 0.5, 5 tokens: TPOT 0.4 / 4 = 0.1
//   b: start 0.5, TTFT 0.2, one token -> E2EL 0.2, no TPOT
//   c: failed (HTTP 500)
//   d: start 1.0, TTFT 0.3, 3 gaps of 0.2 -> E2EL 0.9, 4 tokens: TPOT 0.6 / 3 = 0.2,
//      sent twice (a pooled connection had closed): still one request
//   e: cancelled by the run-time cap
// over a 2 s run.
std::vector<RequestResult> HandTimedRun() {
  std::vector<RequestResult> results;
  results.push_back(Success(0.0, 0.1, {0.1, 0.1, 0.1, 0.1}, 10, 5));
  results.push_back(Success(0.5, 0.2, {}, 20, 1));
  RequestResult failed;
  failed.error = "HTTP 500: boom";
  results.push_back(failed);
  results.push_back(Success(1.0, 0.3, {0.2, 0.2, 0.2}, 30, 4));
  results.back().attempts = 2;
  RequestResult cancelled;
  cancelled.cancelled = true;
  results.push_back(cancelled);
  return results;
}

TEST(MetricsTest, CountsAndThroughputsOverTheRun) {
  const BenchmarkMetrics m = ComputeMetrics(HandTimedRun(), 2.0, {});
  EXPECT_EQ(m.completed, 3);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.cancelled, 1);
  EXPECT_EQ(m.total_input_tokens, 60);
  EXPECT_EQ(m.total_output_tokens, 10);
  EXPECT_DOUBLE_EQ(m.request_throughput, 1.5);     // 3 / 2
  EXPECT_DOUBLE_EQ(m.output_throughput, 5.0);      // 10 / 2
  EXPECT_DOUBLE_EQ(m.total_token_throughput, 35);  // 70 / 2
  EXPECT_FALSE(m.request_goodput.has_value());
  ASSERT_EQ(m.failure_reasons.size(), 1u);
  EXPECT_EQ(m.failure_reasons[0], std::make_pair(std::string("HTTP 500: boom"), int64_t{1}));
}

TEST(MetricsTest, LatencySummariesFollowVllmsDefinitions) {
  const BenchmarkMetrics m = ComputeMetrics(HandTimedRun(), 2.0, {});
  // TTFT: 100, 200, 300 ms. p90: h = 1.8 -> 200 + 0.8 * 100; p99: h = 1.98.
  EXPECT_EQ(m.ttft.count, 3);
  EXPECT_NEAR(m.ttft.mean_ms, 200.0, 1e-9);
  EXPECT_NEAR(m.ttft.median_ms, 200.0, 1e-9);
  EXPECT_NEAR(m.ttft.std_ms, std::sqrt(20000.0 / 3.0), 1e-9);
  ASSERT_EQ(m.ttft.percentiles_ms.size(), 2u);
  EXPECT_EQ(m.ttft.percentiles_ms[0].first, 90.0);
  EXPECT_NEAR(m.ttft.percentiles_ms[0].second, 280.0, 1e-9);
  EXPECT_NEAR(m.ttft.percentiles_ms[1].second, 298.0, 1e-9);
  // TPOT: a 100 ms and d 200 ms; the one-token request b is left out.
  EXPECT_EQ(m.tpot.count, 2);
  EXPECT_NEAR(m.tpot.mean_ms, 150.0, 1e-9);
  EXPECT_NEAR(m.tpot.percentiles_ms[0].second, 190.0, 1e-9);  // h = 0.9
  // ITL: every gap: four of 100 ms and three of 200 ms. Median h = 3 -> 100.
  EXPECT_EQ(m.itl.count, 7);
  EXPECT_NEAR(m.itl.mean_ms, 1000.0 / 7.0, 1e-9);
  EXPECT_NEAR(m.itl.median_ms, 100.0, 1e-9);
  EXPECT_NEAR(m.itl.percentiles_ms[0].second, 200.0, 1e-9);  // h = 5.4, both neighbours 200
  // E2EL: 500, 200, 900 -> sorted 200 500 900; p90 h = 1.8 -> 500 + 0.8 * 400.
  EXPECT_NEAR(m.e2el.mean_ms, 1600.0 / 3.0, 1e-9);
  EXPECT_NEAR(m.e2el.median_ms, 500.0, 1e-9);
  EXPECT_NEAR(m.e2el.percentiles_ms[0].second, 820.0, 1e-9);
  EXPECT_NEAR(m.e2el.percentiles_ms[1].second, 892.0, 1e-9);
}

TEST(MetricsTest, PeaksUseOneSecondBucketsFromTheFirstStart) {
  // Chunks of a at 0.1..0.5 and b at 0.7 land in second 0 (6 tokens), d's at
  // 1.3, 1.5, 1.7, 1.9 in second 1 (4 tokens). a and b are active in second
  // 0, d in second 1.
  const BenchmarkMetrics m = ComputeMetrics(HandTimedRun(), 2.0, {});
  EXPECT_DOUBLE_EQ(m.max_output_tokens_per_s, 6.0);
  EXPECT_EQ(m.max_concurrent_requests, 2);
}

TEST(MetricsTest, GoodputCountsRequestsMeetingEverySlo) {
  MetricsOptions options;
  options.goodput.ttft_ms = 250;
  options.goodput.tpot_ms = 150;
  // a: TTFT 100, TPOT 100 -> good. b: TTFT 200, TPOT taken as 0 -> good.
  // d: TTFT 300 -> not good. 2 good requests / 2 s.
  BenchmarkMetrics m = ComputeMetrics(HandTimedRun(), 2.0, options);
  ASSERT_TRUE(m.request_goodput.has_value());
  EXPECT_DOUBLE_EQ(*m.request_goodput, 1.0);
  // Adding E2EL <= 400 ms leaves only b (200 ms).
  options.goodput.e2el_ms = 400;
  m = ComputeMetrics(HandTimedRun(), 2.0, options);
  EXPECT_DOUBLE_EQ(*m.request_goodput, 0.5);
}

TEST(MetricsTest, ARequestExactlyAtItsSloIsGood) {
  MetricsOptions options;
  options.goodput.ttft_ms = 250;  // 0.25 s is exact in binary.
  const BenchmarkMetrics m = ComputeMetrics({Success(0.0, 0.25, {0.5}, 1, 2)}, 1.0, options);
  EXPECT_DOUBLE_EQ(*m.request_goodput, 1.0);
}

TEST(MetricsTest, CountsUsageThatDisagreesWithTheStreamAndShortOutputs) {
  std::vector<RequestResult> results = {Success(0.0, 0.1, {0.1}, 1, 2), Success(0.0, 0.1, {0.1}, 1, 2)};
  results[1].usage_completion_tokens = 4;  // 2 chunks carried 4 tokens
  results[1].output_tokens = 4;
  results[1].max_tokens = 8;               // and fell short of max_tokens
  const BenchmarkMetrics m = ComputeMetrics(results, 1.0, {});
  EXPECT_EQ(m.usage_chunk_mismatches, 1);
  EXPECT_EQ(m.outputs_not_max_tokens, 1);
}

TEST(MetricsTest, NoSuccessfulRequestGivesZeros) {
  RequestResult failed;
  failed.error = "connection refused";
  const BenchmarkMetrics m = ComputeMetrics({failed, failed}, 1.0, {});
  EXPECT_EQ(m.completed, 0);
  EXPECT_EQ(m.failed, 2);
  EXPECT_EQ(m.ttft.mean_ms, 0.0);
  EXPECT_EQ(m.max_output_tokens_per_s, 0.0);
  EXPECT_EQ(m.failure_reasons[0].second, 2);
}

TEST(GoodputSloTest, ParsesVllmsKeyValuePairs) {
  absl::StatusOr<GoodputSlo> slo = ParseGoodputSlo("ttft:500 tpot:50.5,e2el:2000");
  ASSERT_TRUE(slo.ok()) << slo.status();
  EXPECT_EQ(*slo->ttft_ms, 500);
  EXPECT_EQ(*slo->tpot_ms, 50.5);
  EXPECT_EQ(*slo->e2el_ms, 2000);
  EXPECT_TRUE(ParseGoodputSlo("")->empty());
  EXPECT_FALSE(ParseGoodputSlo("itl:5").ok());
  EXPECT_FALSE(ParseGoodputSlo("ttft=5").ok());
  EXPECT_FALSE(ParseGoodputSlo("ttft:-1").ok());
  EXPECT_FALSE(ParseGoodputSlo("ttft:abc").ok());
}

TEST(TokenCountsTest, PrefersUsageThenTheTokenizerThenChunks) {
  absl::StatusOr<LoadedTokenizer> tokenizer = LoadTokenizerDir(testing::TestDataPath("e2e/qwen3-tiny"));
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const std::string text = " tok tok tok";
  const int64_t reference = static_cast<int64_t>(tokenizer->tokenizer->Encode(text, false)->size());

  std::vector<RequestResult> results(4);
  for (RequestResult& r : results) {
    r.success = true;
    r.generated_text = text;
    r.num_chunks = 3;
    r.prompt_len = 7;
  }
  results[0].usage_completion_tokens = 9;
  results[0].usage_prompt_tokens = 11;
  results[2].usage_completion_tokens = 0;  // vLLM treats 0 as missing
  ResolveTokenCounts(results, tokenizer->tokenizer.get());
  EXPECT_EQ(results[0].output_tokens, 9);
  EXPECT_EQ(results[0].input_tokens, 11);
  EXPECT_EQ(results[0].output_source, TokenCountSource::kUsage);
  EXPECT_EQ(results[1].output_tokens, reference);
  EXPECT_EQ(results[1].input_tokens, 7);
  EXPECT_EQ(results[1].output_source, TokenCountSource::kTokenizer);
  EXPECT_EQ(results[2].output_source, TokenCountSource::kTokenizer);
  ResolveTokenCounts(results, nullptr);
  EXPECT_EQ(results[1].output_tokens, 3);
  EXPECT_EQ(results[1].output_source, TokenCountSource::kChunks);
}

}  // namespace
}  // namespace tern::bench

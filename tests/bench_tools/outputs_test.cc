// The report table, the result JSON and the SVG plots.
#include <algorithm>

#include "absl/strings/match.h"
#include "bench_tools/plots.h"
#include "bench_tools/report.h"
#include "bench_tools/result_json.h"
#include "bench_tools/svg_chart.h"
#include "gtest/gtest.h"
#include "tests/testing/test_data.h"

namespace tern::bench {
namespace {

RequestResult Success(int64_t index, double start, double ttft, std::vector<double> itl) {
  RequestResult r;
  r.index = index;
  r.success = true;
  r.start_s = start;
  r.ttft_s = ttft;
  r.itl_s = std::move(itl);
  r.num_chunks = static_cast<int64_t>(r.itl_s.size()) + 1;
  r.e2el_s = ttft;
  for (double gap : r.itl_s) r.e2el_s += gap;
  r.output_tokens = r.max_tokens = r.num_chunks;
  r.input_tokens = r.prompt_len = 10;
  r.usage_completion_tokens = r.num_chunks;
  r.generated_text = std::string(static_cast<size_t>(r.num_chunks), 'x');
  return r;
}

RunResult SampleRun() {
  RunResult run;
  run.requests.push_back(Success(0, 0.0, 0.1, {0.1, 0.1, 0.1, 0.1}));
  run.requests.push_back(Success(1, 0.5, 0.2, {}));
  RequestResult failed;
  failed.index = 2;
  failed.error = "HTTP 503: <overloaded> & \"busy\"";
  run.requests.push_back(failed);
  run.requests.push_back(Success(3, 1.0, 0.3, {0.2, 0.2, 0.2}));
  run.duration_s = 2.0;
  run.not_sent = 1;
  return run;
}

// Runs Python's XML parser (an independent reference) on `svg`; returns the
// number of elements named `tag`, or -1 if the document is not well-formed.
int CountXmlElements(const std::string& svg, const std::string& tag) {
  testing::ScratchDir dir;
  dir.WriteFile("plot.svg", svg);
  const testing::CommandResult result = testing::RunCommand(
      {"/usr/bin/env", "python3", "-c",
       "import sys, xml.dom.minidom as m\n"
       "print(len(m.parse(sys.argv[1]).getElementsByTagName(sys.argv[2])))",
       dir.Join("plot.svg"), tag});
  if (result.exit_code != 0) {
    ADD_FAILURE() << "not well-formed XML: " << result.err;
    return -1;
  }
  return std::stoi(result.out);
}

TEST(ReportTest, PrintsVllmsTable) {
  const RunResult run = SampleRun();
  const BenchmarkMetrics m = ComputeMetrics(run.requests, run.duration_s, {});
  ReportOptions options;
  options.max_concurrency = 4;
  options.request_rate = 2.0;
  const std::string table = FormatReport(m, run, options);
  EXPECT_TRUE(absl::StartsWith(table, "============ Serving Benchmark Result ============\n")) << table;
  for (const char* line : {"Successful requests:                     3         \n",
                           "Failed requests:                         1         \n",
                           "Maximum request concurrency:             4         \n",
                           "Request rate configured (RPS):           2.00      \n",
                           "Benchmark duration (s):                  2.00      \n",
                           "Request throughput (req/s):              1.50      \n",
                           "---------------Time to First Token----------------\n",
                           "Mean TTFT (ms):                          200.00    \n",
                           "P90 TTFT (ms):                           280.00    \n",
                           "P99 TTFT (ms):                           298.00    \n",
                           "-----Time per Output Token (excl. 1st token)------\n",
                           "Median ITL (ms):                         100.00    \n",
                           "Requests not sent:                       1         \n",
                           "Failed x1: HTTP 503: <overloaded> & \"busy\"\n"}) {
    EXPECT_TRUE(absl::StrContains(table, line)) << "missing: " << line << "\nin:\n" << table;
  }
  EXPECT_TRUE(absl::EndsWith(table, std::string(50, '=') + "\n"));
}

TEST(ResultJsonTest, HasVllmsKeysAndOptionalDetail) {
  const RunResult run = SampleRun();
  MetricsOptions metrics_options;
  metrics_options.goodput.ttft_ms = 150;
  const BenchmarkMetrics m = ComputeMetrics(run.requests, run.duration_s, metrics_options);
  ResultContext context;
  context.date = "20260101-000000";
  context.backend = "openai";
  context.model_id = "m";
  context.num_prompts = 5;
  context.metadata = {{"gpu", "h100"}};
  context.settings = {{"seed", 0}};
  context.server_version = {{"version", "1"}};
  const nlohmann::ordered_json brief = BuildResultJson(context, m, run, false);
  const nlohmann::json parsed = nlohmann::json::parse(brief.dump());  // Round trip: valid JSON.
  EXPECT_EQ(parsed["request_rate"], "inf");
  EXPECT_EQ(parsed["max_concurrency"], nullptr);
  EXPECT_EQ(parsed["completed"], 3);
  EXPECT_EQ(parsed["failed"], 1);
  EXPECT_EQ(parsed["gpu"], "h100");
  EXPECT_DOUBLE_EQ(parsed["request_goodput"].get<double>(), 0.5);  // Only the 100 ms TTFT request.
  EXPECT_NEAR(parsed["p99_ttft_ms"].get<double>(), 298.0, 1e-9);
  EXPECT_NEAR(parsed["mean_tpot_ms"].get<double>(), 150.0, 1e-9);
  for (const char* key : {"median_itl_ms", "std_e2el_ms", "p90_e2el_ms", "output_throughput", "duration",
                          "total_token_throughput", "max_concurrent_requests", "server_version", "settings"}) {
    EXPECT_TRUE(parsed.contains(key)) << key;
  }
  EXPECT_FALSE(parsed.contains("ttfts"));
  EXPECT_EQ(parsed["failure_reasons"][0]["reason"], "HTTP 503: <overloaded> & \"busy\"");

  const nlohmann::json detailed = nlohmann::json::parse(BuildResultJson(context, m, run, true).dump());
  ASSERT_EQ(detailed["ttfts"].size(), 4u);
  EXPECT_EQ(detailed["itls"][0].size(), 4u);
  EXPECT_EQ(detailed["output_lens"], nlohmann::json::parse("[5, 1, 0, 4]"));
  EXPECT_EQ(detailed["errors"][2], "HTTP 503: <overloaded> & \"busy\"");
  EXPECT_NEAR(detailed["requests"][3]["tpot_ms"].get<double>(), 200.0, 1e-9);
  EXPECT_EQ(detailed["requests"][0]["output_tokens_source"], "usage");
}

TEST(SvgTest, RunPlotIsWellFormedWithSixPanels) {
  const RunResult run = SampleRun();
  const BenchmarkMetrics m = ComputeMetrics(run.requests, run.duration_s, {});
  const std::string svg = RunPlotSvg(run, m, "run <1> & \"two\"");
  EXPECT_EQ(CountXmlElements(svg, "polyline"), 6);
  for (const char* title : {"Time to first token", "Time per output token", "Inter-token latency",
                            "End-to-end latency", "Output token throughput", "Requests in flight",
                            "TTFT (n=3)", "TPOT (n=2)", "ITL (n=7)", "run &lt;1&gt; &amp; &quot;two&quot;"}) {
    EXPECT_TRUE(absl::StrContains(svg, title)) << title;
  }
}

TEST(SvgTest, AnEmptyRunStillPlots) {
  RunResult run;
  run.duration_s = 1.0;
  const std::string svg = RunPlotSvg(run, ComputeMetrics({}, 1.0, {}), "empty");
  EXPECT_GE(CountXmlElements(svg, "text"), 1);
  EXPECT_TRUE(absl::StrContains(svg, "no data"));
}

TEST(SvgTest, SweepPlotHasAMarkerPerPointAndSeries) {
  std::vector<SweepPoint> points;
  for (int c : {1, 2, 4}) {
    RunResult run = SampleRun();
    BenchmarkMetrics m = ComputeMetrics(run.requests, run.duration_s / c, {});
    points.push_back({"c=" + std::to_string(c), m});
  }
  const std::string svg = SweepPlotSvg(points, "sweep");
  // Three panels, each: median, p90, p99 series; three points each.
  EXPECT_EQ(CountXmlElements(svg, "polyline"), 9);
  EXPECT_EQ(CountXmlElements(svg, "circle"), 27);
  EXPECT_TRUE(absl::StrContains(svg, "c=4"));
}

TEST(SvgChartTest, TicksAreRoundAndCoverTheRange) {
  EXPECT_EQ(NiceTicks(0, 7.3), (std::vector<double>{0, 2, 4, 6, 8}));
  const std::vector<double> unit = NiceTicks(0, 1);
  EXPECT_EQ(unit.size(), 6u);
  EXPECT_NEAR(unit[1], 0.2, 1e-12);
  const std::vector<double> ticks = NiceTicks(13, 987);
  EXPECT_LE(ticks.front(), 13);
  EXPECT_GE(ticks.back(), 987);
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
}

TEST(PlotDataTest, CdfIsAStaircaseForSmallSamplesAndSampledForLargeOnes) {
  EXPECT_EQ(CdfPoints({3, 1, 2}),
            (std::vector<std::pair<double, double>>{{1, 0}, {1, 1.0 / 3}, {2, 1.0 / 3}, {2, 2.0 / 3}, {3, 2.0 / 3}, {3, 1}}));
  std::vector<double> many(10000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<double>(i);
  const auto points = CdfPoints(many, 100);
  EXPECT_EQ(points.size(), 101u);
  EXPECT_EQ(points.back(), std::make_pair(9999.0, 1.0));
  EXPECT_TRUE(std::is_sorted(points.begin(), points.end()));
}

TEST(PlotDataTest, ThroughputOverTimeConservesTokens) {
  const RunResult run = SampleRun();
  const TimeSeries series = ThroughputOverTime(run.requests, run.duration_s);
  EXPECT_DOUBLE_EQ(series.bucket_s, 0.05);  // 2 s / 60 = 0.033 -> the next round width
  ASSERT_EQ(series.output_tokens_per_s.size(), 40u);
  double tokens = 0;
  for (double rate : series.output_tokens_per_s) tokens += rate * series.bucket_s;
  EXPECT_NEAR(tokens, 10.0, 1e-9);  // 5 + 1 + 4 output tokens
  // At t = 0.225 (bucket 4's middle) only the first request is in flight.
  EXPECT_EQ(series.in_flight[4], 1.0);
  EXPECT_EQ(series.in_flight[39], 0.0);
}

}  // namespace
}  // namespace tern::bench

#include "bench_tools/bench_config.h"

#include <functional>

#include "gtest/gtest.h"

namespace tern::bench {
namespace {

TEST(BenchConfigTest, ParsesSweeps) {
  absl::StatusOr<SweepSpec> sweep = ParseSweep("request-rate=1,2.5,inf");
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  EXPECT_EQ(sweep->parameter, "request-rate");
  ASSERT_EQ(sweep->values.size(), 3u);
  EXPECT_EQ(sweep->values[1], 2.5);
  EXPECT_TRUE(std::isinf(sweep->values[2]));
  EXPECT_EQ(ParseSweep("max_concurrency=1,8")->parameter, "max-concurrency");
  EXPECT_TRUE(ParseSweep("")->empty());
  EXPECT_FALSE(ParseSweep("max-concurrency=1.5").ok());
  EXPECT_FALSE(ParseSweep("max-concurrency=inf").ok());
  EXPECT_FALSE(ParseSweep("request-rate=0").ok());
  EXPECT_FALSE(ParseSweep("num-prompts=1,2").ok());
  EXPECT_FALSE(ParseSweep("request-rate=").ok());
}

TEST(BenchConfigTest, JoinsVllmsSpaceSeparatedFlagValues) {
  EXPECT_EQ(JoinMultiValueFlags({"tern-bench", "--goodput", "ttft:500", "tpot:50", "--num-prompts", "3"},
                                {"goodput"}),
            (std::vector<std::string>{"tern-bench", "--goodput=ttft:500,tpot:50", "--num-prompts", "3"}));
  EXPECT_EQ(JoinMultiValueFlags({"tern-bench", "--metadata=a=1", "b=2", "--header", "x=y"}, {"metadata", "header"}),
            (std::vector<std::string>{"tern-bench", "--metadata=a=1,b=2", "--header=x=y"}));
  EXPECT_EQ(JoinMultiValueFlags({"tern-bench", "--save_detailed", "--goodput", "e2el:9"}, {"goodput"}),
            (std::vector<std::string>{"tern-bench", "--save_detailed", "--goodput=e2el:9"}));
}

TEST(BenchConfigTest, ParsesKeyValuesEndpointsAndUrls) {
  EXPECT_EQ(*ParseKeyValue(" x-tenant = blue ", "header"), std::make_pair(std::string("x-tenant"), std::string("blue")));
  EXPECT_FALSE(ParseKeyValue("novalue", "header").ok());
  EXPECT_FALSE(ParseKeyValue("a=b\r\nX: y", "header").ok());
  EXPECT_EQ(*EndpointApi("/v1/chat/completions"), ApiKind::kChat);
  EXPECT_EQ(*EndpointApi("/v1/completions"), ApiKind::kCompletions);
  EXPECT_FALSE(EndpointApi("/v1/embeddings").ok());
  EXPECT_FALSE(EndpointApi("v1/completions").ok());
  EXPECT_FALSE(EndpointApi("/v1/completions HTTP/1.0\r\n/completions").ok());

  absl::StatusOr<ServerAddress> address = ParseBaseUrl("http://localhost:8123/prefix/");
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(address->host, "localhost");
  EXPECT_EQ(address->port, 8123);
  EXPECT_EQ(address->base_path, "/prefix");
  EXPECT_EQ(ParseBaseUrl("http://example.com")->port, 80);
  EXPECT_EQ(ParseBaseUrl("http://[::1]:9000")->host, "::1");
  EXPECT_EQ(ParseBaseUrl("https://x").status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(ParseBaseUrl("127.0.0.1:8000").ok());
  EXPECT_FALSE(ParseBaseUrl("http://host:99999").ok());
  EXPECT_FALSE(ParseBaseUrl("http://:80").ok());
}

TEST(BenchConfigTest, ValidateNamesTheBadFlag) {
  auto message = [](const std::function<void(BenchConfig&)>& change) {
    BenchConfig config;
    change(config);
    return std::string(config.Validate().message());
  };
  EXPECT_EQ(message([](BenchConfig&) {}), "");
  EXPECT_NE(message([](BenchConfig& c) { c.request_rate = 0; }).find("--request-rate"), std::string::npos);
  EXPECT_NE(message([](BenchConfig& c) { c.burstiness = -1; }).find("--burstiness"), std::string::npos);
  EXPECT_NE(message([](BenchConfig& c) { c.metrics.percentiles = {99, 101}; }).find("--metric-percentiles"),
            std::string::npos);
  EXPECT_NE(message([](BenchConfig& c) { c.percentile_metrics = {"ttft", "latency"}; }).find("--percentile-metrics"),
            std::string::npos);
  EXPECT_NE(message([](BenchConfig& c) { c.max_concurrency = -2; }).find("--max-concurrency"), std::string::npos);
  EXPECT_NE(message([](BenchConfig& c) { c.request_timeout = absl::Seconds(1e15); }).find("--request-timeout"),
            std::string::npos);
  EXPECT_NE(message([](BenchConfig& c) { c.max_duration = absl::Seconds(-1); }).find("--max-seconds"),
            std::string::npos);
}

}  // namespace
}  // namespace tern::bench

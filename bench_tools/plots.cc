#include "bench_tools/plots.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench_tools/report.h"
#include "bench_tools/svg_chart.h"

namespace tern::bench {
namespace {

ChartSpec Chart(std::string title, std::string x_label, std::string y_label) {
  ChartSpec spec;
  spec.title = std::move(title);
  spec.x_label = std::move(x_label);
  spec.y_label = std::move(y_label);
  return spec;
}

ChartSeries Series(std::string name, std::vector<std::pair<double, double>> points = {}, bool markers = false) {
  ChartSeries series;
  series.name = std::move(name);
  series.points = std::move(points);
  series.markers = markers;
  return series;
}

std::vector<double> Ms(const std::vector<double>& seconds) {
  std::vector<double> ms;
  ms.reserve(seconds.size());
  for (double s : seconds) ms.push_back(s * 1000.0);
  return ms;
}

ChartSpec CdfChart(std::string title, std::string x_label, std::vector<std::pair<std::string, std::vector<double>>> samples) {
  ChartSpec spec = Chart(std::move(title), std::move(x_label), "fraction of samples");
  spec.y_max = 1.0;
  for (auto& [name, values] : samples) {
    std::string label = absl::StrCat(name, " (n=", values.size(), ")");
    spec.series.push_back(Series(std::move(label), CdfPoints(std::move(values))));
  }
  return spec;
}

// A round bucket width giving between about 30 and 100 buckets.
double BucketWidth(double duration_s) {
  const double raw = std::max(duration_s, 1e-3) / 60.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10.0 * magnitude;
}

}  // namespace

std::vector<std::pair<double, double>> CdfPoints(std::vector<double> values, size_t max_points) {
  std::sort(values.begin(), values.end());
  std::vector<std::pair<double, double>> points;
  const size_t n = values.size();
  if (n == 0) return points;
  const double dn = static_cast<double>(n);
  if (2 * n <= max_points) {
    for (size_t i = 0; i < n; ++i) {
      points.emplace_back(values[i], static_cast<double>(i) / dn);
      points.emplace_back(values[i], static_cast<double>(i + 1) / dn);
    }
    return points;
  }
  points.emplace_back(values[0], 0.0);
  for (size_t k = 0; k < max_points; ++k) {
    const size_t i = (n - 1) * k / (max_points - 1);
    points.emplace_back(values[i], static_cast<double>(i + 1) / dn);
  }
  return points;
}

TimeSeries ThroughputOverTime(const std::vector<RequestResult>& results, double duration_s) {
  TimeSeries series;
  series.bucket_s = BucketWidth(duration_s);
  const auto num_buckets = static_cast<size_t>(std::ceil(std::max(duration_s, 1e-9) / series.bucket_s));
  series.output_tokens_per_s.assign(num_buckets, 0.0);
  series.in_flight.assign(num_buckets, 0.0);
  for (const RequestResult& r : results) {
    if (!r.success) continue;
    const double per_chunk = r.num_chunks > 0 ? static_cast<double>(r.output_tokens) / r.num_chunks : 0.0;
    for (double t : ChunkTimes(r)) {
      const auto b = static_cast<size_t>(std::max(0.0, t) / series.bucket_s);
      if (b < num_buckets) series.output_tokens_per_s[b] += per_chunk / series.bucket_s;
    }
    for (size_t b = 0; b < num_buckets; ++b) {
      const double middle = (static_cast<double>(b) + 0.5) * series.bucket_s;
      if (r.start_s <= middle && middle < r.start_s + r.e2el_s) series.in_flight[b] += 1.0;
    }
  }
  return series;
}

std::string RunPlotSvg(const RunResult& run, const BenchmarkMetrics& m, const std::string& title) {
  std::vector<double> ttft, tpot, itl, e2el;
  for (const RequestResult& r : run.requests) {
    if (!r.success) continue;
    ttft.push_back(r.ttft_s);
    e2el.push_back(r.e2el_s);
    if (r.output_tokens > 1) tpot.push_back(RequestTpot(r));
    itl.insert(itl.end(), r.itl_s.begin(), r.itl_s.end());
  }
  const double w = 420, h = 320, top = 40;
  SvgPage page(3 * w, top + 2 * h + 24, title);
  page.AddChart(CdfChart("Time to first token", "TTFT (ms)", {{"TTFT", Ms(ttft)}}), 0, top, w, h);
  page.AddChart(CdfChart("Time per output token", "TPOT (ms)", {{"TPOT", Ms(tpot)}}), w, top, w, h);
  page.AddChart(CdfChart("Inter-token latency", "ITL (ms)", {{"ITL", Ms(itl)}}), 2 * w, top, w, h);
  page.AddChart(CdfChart("End-to-end latency", "E2EL (ms)", {{"E2EL", Ms(e2el)}}), 0, top + h, w, h);

  const TimeSeries series = ThroughputOverTime(run.requests, run.duration_s);
  ChartSpec throughput =
      Chart("Output token throughput", absl::StrFormat("time (s), %g s buckets", series.bucket_s), "tokens/s");
  ChartSpec in_flight = Chart("Requests in flight", "time (s)", "requests");
  ChartSeries tokens = Series("output tok/s");
  ChartSeries requests = Series("in flight");
  for (size_t b = 0; b < series.output_tokens_per_s.size(); ++b) {
    const double t = (static_cast<double>(b) + 0.5) * series.bucket_s;
    tokens.points.emplace_back(t, series.output_tokens_per_s[b]);
    requests.points.emplace_back(t, series.in_flight[b]);
  }
  throughput.series.push_back(std::move(tokens));
  in_flight.series.push_back(std::move(requests));
  page.AddChart(throughput, w, top + h, w, h);
  page.AddChart(in_flight, 2 * w, top + h, w, h);
  page.AddNote(absl::StrFormat("%d ok, %d failed, %d cancelled in %.2f s | %.2f req/s | %.1f output tok/s | "
                               "median TTFT %.2f ms, TPOT %.2f ms, ITL %.2f ms",
                               m.completed, m.failed, m.cancelled, m.duration_s, m.request_throughput,
                               m.output_throughput, m.ttft.median_ms, m.tpot.median_ms, m.itl.median_ms),
               12, top + 2 * h + 16);
  return page.Render();
}

std::string SweepPlotSvg(const std::vector<SweepPoint>& points, const std::string& title) {
  const double w = 420, h = 340, top = 40;
  SvgPage page(3 * w, top + h + 10, title);
  struct Panel {
    const char* title;
    const char* name;
    LatencySummary BenchmarkMetrics::*summary;
  };
  const Panel panels[] = {{"TTFT vs throughput", "TTFT", &BenchmarkMetrics::ttft},
                          {"TPOT vs throughput", "TPOT", &BenchmarkMetrics::tpot},
                          {"E2E latency vs throughput", "E2EL", &BenchmarkMetrics::e2el}};
  for (size_t i = 0; i < std::size(panels); ++i) {
    ChartSpec spec = Chart(panels[i].title, "output throughput (tok/s)", absl::StrCat(panels[i].name, " (ms)"));
    ChartSeries median = Series(absl::StrCat("median ", panels[i].name), {}, true);
    std::vector<ChartSeries> percentiles;
    for (const SweepPoint& point : points) {
      const LatencySummary& summary = point.metrics.*(panels[i].summary);
      median.points.emplace_back(point.metrics.output_throughput, summary.median_ms);
      median.point_labels.push_back(point.label);
      for (size_t p = 0; p < summary.percentiles_ms.size(); ++p) {
        if (percentiles.size() <= p) {
          percentiles.push_back(
              Series(absl::StrCat(PercentileName(summary.percentiles_ms[p].first), " ", panels[i].name), {}, true));
        }
        percentiles[p].points.emplace_back(point.metrics.output_throughput, summary.percentiles_ms[p].second);
      }
    }
    spec.series.push_back(std::move(median));
    for (ChartSeries& s : percentiles) spec.series.push_back(std::move(s));
    page.AddChart(spec, static_cast<double>(i) * w, top, w, h);
  }
  return page.Render();
}

}  // namespace tern::bench

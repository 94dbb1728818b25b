// A small hand-written SVG writer for line charts: a page of titled panels,
// each with axes, "nice" ticks, grid lines, one polyline per series
// (optionally with labelled markers) and a legend. No plotting library.
//
//   SvgPage page(1200, 700, "tern-bench: 1000 requests");
//   page.AddChart(spec, 0, 40, 400, 330);
//   std::string svg = page.Render();
#ifndef TERN_BENCH_TOOLS_SVG_CHART_H_
#define TERN_BENCH_TOOLS_SVG_CHART_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace tern::bench {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y) in data units, drawn in order.
  bool markers = false;                           // A dot at each point.
  std::vector<std::string> point_labels;          // With markers: a label per point (or empty).
};

// kAuto: the corner whose legend box covers the fewest data points.
enum class LegendCorner { kAuto, kTopLeft, kTopRight, kBottomLeft, kBottomRight };

struct ChartSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
  bool x_from_zero = true;  // Axis ranges include 0.
  bool y_from_zero = true;
  double y_max = 0.0;       // > 0: the y axis ends here (a CDF's 1.0).
  LegendCorner legend = LegendCorner::kAuto;
};

// About `target` evenly spaced round values (steps of 1, 2 or 5 x 10^k)
// covering [lo, hi]; the first is <= lo and the last >= hi.
std::vector<double> NiceTicks(double lo, double hi, int target = 5);

// `text` with &, <, >, " and ' escaped for XML.
std::string XmlEscape(absl::string_view text);

class SvgPage {
 public:
  SvgPage(double width, double height, std::string title);
  // Draws `spec` in the box at (x, y) of size w x h.
  void AddChart(const ChartSpec& spec, double x, double y, double w, double h);
  // A line of small text at (x, y).
  void AddNote(absl::string_view text, double x, double y);
  std::string Render() const;

 private:
  double width_;
  double height_;
  std::string body_;
};

}  // namespace tern::bench

#endif  // TERN_BENCH_TOOLS_SVG_CHART_H_

#include "bench_tools/svg_chart.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tern::bench {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
constexpr double kLeft = 62, kRight = 14, kTop = 30, kBottom = 42;

std::string Num(double v) { return absl::StrFormat("%.1f", v); }

// Tick labels: no more digits than the step needs.
std::string TickLabel(double value, double step) {
  if (std::fabs(value) < step * 1e-9) value = 0.0;
  const int decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  if (std::fabs(value) >= 1e6) return absl::StrFormat("%.3g", value);
  return absl::StrFormat("%.*f", decimals, value);
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1.0;
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (double t = first; t < hi + step * 0.999; t += step) ticks.push_back(t);
  if (ticks.size() < 2) ticks.push_back(first + step);
  return ticks;
}

std::string XmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

SvgPage::SvgPage(double width, double height, std::string title) : width_(width), height_(height) {
  absl::StrAppend(&body_, "<text x=\"", Num(width / 2), "\" y=\"24\" text-anchor=\"middle\" font-size=\"17\" "
                  "font-weight=\"bold\">", XmlEscape(title), "</text>\n");
}

void SvgPage::AddNote(absl::string_view text, double x, double y) {
  absl::StrAppend(&body_, "<text x=\"", Num(x), "\" y=\"", Num(y), "\" font-size=\"11\" fill=\"#444\">",
                  XmlEscape(text), "</text>\n");
}

void SvgPage::AddChart(const ChartSpec& spec, double x, double y, double w, double h) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const ChartSeries& s : spec.series) {
    for (const auto& [px, py] : s.points) {
      if (!std::isfinite(px) || !std::isfinite(py)) continue;
      xmin = std::min(xmin, px);
      xmax = std::max(xmax, px);
      ymin = std::min(ymin, py);
      ymax = std::max(ymax, py);
    }
  }
  const bool empty = !std::isfinite(xmin);
  if (empty) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (spec.x_from_zero) xmin = std::min(xmin, 0.0);
  if (spec.y_from_zero) ymin = std::min(ymin, 0.0);
  if (spec.y_max > 0) ymax = spec.y_max;
  const std::vector<double> xticks = NiceTicks(xmin, xmax);
  const std::vector<double> yticks = NiceTicks(ymin, ymax);
  xmin = xticks.front();
  xmax = xticks.back();
  ymin = yticks.front();
  ymax = std::max(yticks.back(), spec.y_max > 0 ? spec.y_max : yticks.back());
  const double left = x + kLeft, top = y + kTop, pw = w - kLeft - kRight, ph = h - kTop - kBottom;
  auto sx = [&](double v) { return left + (v - xmin) / (xmax - xmin) * pw; };
  auto sy = [&](double v) { return top + ph - (v - ymin) / (ymax - ymin) * ph; };

  std::string& out = body_;
  absl::StrAppend(&out, "<g>\n<text x=\"", Num(x + w / 2), "\" y=\"", Num(y + 18),
                  "\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">", XmlEscape(spec.title),
                  "</text>\n");
  absl::StrAppend(&out, "<rect x=\"", Num(left), "\" y=\"", Num(top), "\" width=\"", Num(pw), "\" height=\"",
                  Num(ph), "\" fill=\"#fcfcfc\" stroke=\"#999\"/>\n");
  const double xstep = xticks.size() > 1 ? xticks[1] - xticks[0] : 1.0;
  const double ystep = yticks.size() > 1 ? yticks[1] - yticks[0] : 1.0;
  for (double t : xticks) {
    absl::StrAppend(&out, "<line x1=\"", Num(sx(t)), "\" y1=\"", Num(top), "\" x2=\"", Num(sx(t)), "\" y2=\"",
                    Num(top + ph), "\" stroke=\"#e4e4e4\"/>\n<text x=\"", Num(sx(t)), "\" y=\"",
                    Num(top + ph + 14), "\" text-anchor=\"middle\" font-size=\"10\">", TickLabel(t, xstep),
                    "</text>\n");
  }
  for (double t : yticks) {
    absl::StrAppend(&out, "<line x1=\"", Num(left), "\" y1=\"", Num(sy(t)), "\" x2=\"", Num(left + pw), "\" y2=\"",
                    Num(sy(t)), "\" stroke=\"#e4e4e4\"/>\n<text x=\"", Num(left - 5), "\" y=\"", Num(sy(t) + 3),
                    "\" text-anchor=\"end\" font-size=\"10\">", TickLabel(t, ystep), "</text>\n");
  }
  absl::StrAppend(&out, "<text x=\"", Num(left + pw / 2), "\" y=\"", Num(y + h - 8),
                  "\" text-anchor=\"middle\" font-size=\"11\">", XmlEscape(spec.x_label), "</text>\n");
  absl::StrAppend(&out, "<text transform=\"translate(", Num(x + 13), ",", Num(top + ph / 2),
                  ") rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">", XmlEscape(spec.y_label), "</text>\n");
  if (empty) {
    absl::StrAppend(&out, "<text x=\"", Num(left + pw / 2), "\" y=\"", Num(top + ph / 2),
                    "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#888\">no data</text>\n</g>\n");
    return;
  }
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const ChartSeries& s = spec.series[i];
    const char* color = kPalette[i % std::size(kPalette)];
    std::string points;
    for (const auto& [px, py] : s.points) {
      if (std::isfinite(px) && std::isfinite(py)) absl::StrAppend(&points, Num(sx(px)), ",", Num(sy(py)), " ");
    }
    absl::StrAppend(&out, "<polyline fill=\"none\" stroke=\"", color, "\" stroke-width=\"1.6\" points=\"", points,
                    "\"><title>", XmlEscape(s.name), "</title></polyline>\n");
    if (!s.markers) continue;
    for (size_t p = 0; p < s.points.size(); ++p) {
      const auto& [px, py] = s.points[p];
      if (!std::isfinite(px) || !std::isfinite(py)) continue;
      absl::StrAppend(&out, "<circle cx=\"", Num(sx(px)), "\" cy=\"", Num(sy(py)), "\" r=\"3\" fill=\"", color,
                      "\"/>\n");
      if (p < s.point_labels.size() && !s.point_labels[p].empty()) {
        absl::StrAppend(&out, "<text x=\"", Num(sx(px) + 5), "\" y=\"", Num(sy(py) - 5),
                        "\" font-size=\"9\" fill=\"", color, "\">", XmlEscape(s.point_labels[p]), "</text>\n");
      }
    }
  }
  // Legend.
  const double row = 14, box_w = 150, box_h = row * static_cast<double>(spec.series.size()) + 6;
  auto corner_box = [&](LegendCorner corner) {
    const bool left_side = corner == LegendCorner::kTopLeft || corner == LegendCorner::kBottomLeft;
    const bool bottom = corner == LegendCorner::kBottomLeft || corner == LegendCorner::kBottomRight;
    return std::make_pair(left_side ? left + 8 : left + pw - box_w - 8, bottom ? top + ph - box_h - 8 : top + 8);
  };
  LegendCorner corner = spec.legend;
  if (corner == LegendCorner::kAuto) {
    size_t fewest = SIZE_MAX;
    for (LegendCorner c : {LegendCorner::kTopRight, LegendCorner::kTopLeft, LegendCorner::kBottomRight,
                           LegendCorner::kBottomLeft}) {
      const auto [bx, by] = corner_box(c);
      size_t covered = 0;
      for (const ChartSeries& s : spec.series) {
        for (const auto& [px, py] : s.points) {
          const double x = sx(px), y = sy(py);
          covered += (x >= bx - 4 && x <= bx + box_w + 4 && y >= by - 4 && y <= by + box_h + 4) ? 1 : 0;
        }
      }
      if (covered < fewest) {
        fewest = covered;
        corner = c;
      }
    }
  }
  const auto [lx, ly] = corner_box(corner);
  absl::StrAppend(&out, "<rect x=\"", Num(lx), "\" y=\"", Num(ly), "\" width=\"", Num(box_w), "\" height=\"",
                  Num(box_h), "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n");
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const double ry = ly + 4 + row * static_cast<double>(i) + row / 2;
    absl::StrAppend(&out, "<line x1=\"", Num(lx + 6), "\" y1=\"", Num(ry), "\" x2=\"", Num(lx + 24), "\" y2=\"",
                    Num(ry), "\" stroke=\"", kPalette[i % std::size(kPalette)], "\" stroke-width=\"2\"/>\n<text x=\"",
                    Num(lx + 30), "\" y=\"", Num(ry + 4), "\" font-size=\"10\">", XmlEscape(spec.series[i].name),
                    "</text>\n");
  }
  absl::StrAppend(&out, "</g>\n");
}

std::string SvgPage::Render() const {
  return absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"",
                      Num(width_), "\" height=\"", Num(height_), "\" viewBox=\"0 0 ", Num(width_), " ", Num(height_),
                      "\" font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" "
                      "fill=\"white\"/>\n",
                      body_, "</svg>\n");
}

}  // namespace tern::bench

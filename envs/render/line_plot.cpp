#include "envs/render/line_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "envs/render/font.h"
#include "tensor/error.h"

namespace subtb::render {

namespace {

// A colour-blind-friendly palette (Okabe-Ito), in order of use.
constexpr Rgb kPalette[] = {hex(0x0072b2), hex(0xd55e00), hex(0x009e73), hex(0xcc79a7),
                            hex(0xe69f00), hex(0x56b4e9), hex(0x000000), hex(0xf0e442)};

std::string format_tick(double v, bool log_y) {
  char buf[32];
  if (log_y || (v != 0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3))) {
    std::snprintf(buf, sizeof buf, "%.0e", v);
  } else {
    std::snprintf(buf, sizeof buf, "%g", v);
  }
  return buf;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(target, 1);
  const double exponent = std::floor(std::log10(raw));
  double multiple = 10.0;
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * std::pow(10.0, exponent) >= raw) {
      multiple = m;
      break;
    }
  }
  // Tick k sits at k * multiple * 10^exponent; dividing by 10^-exponent for negative
  // exponents keeps values such as 0.6 exact instead of 0.6000000000000001.
  const double scale = std::pow(10.0, std::abs(exponent));
  auto at = [&](double k) { return exponent < 0 ? k * multiple / scale : k * multiple * scale; };
  const double step = at(1.0);
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); at(k) <= hi + 1e-9 * step; k += 1.0) ticks.push_back(at(k) + 0.0);
  return ticks;
}

Canvas line_plot(const std::vector<Series>& series, const PlotOptions& o, const std::vector<Band>& bands) {
  SUBTB_CHECK(o.width >= 200 && o.height >= 150, "line_plot: canvas ", o.width, "x", o.height,
              " is too small (at least 200x150)");
  for (const Series& s : series) {
    SUBTB_CHECK(s.x.size() == s.y.size(), "line_plot: series '", s.label, "' has ", s.x.size(), " x values and ",
                s.y.size(), " y values");
  }
  for (const Band& b : bands) {
    SUBTB_CHECK(b.series < series.size(), "line_plot: a band names series ", b.series, " of ", series.size());
    const Series& s = series[b.series];
    SUBTB_CHECK(b.lo.size() == s.x.size() && b.hi.size() == s.x.size(), "line_plot: the band of series '", s.label,
                "' has ", b.lo.size(), " low and ", b.hi.size(), " high values for ", s.x.size(), " x values");
  }
  const Font& font = Font::dejavu_sans_bold();
  constexpr int kText = 13, kTitle = 16;
  Canvas c(o.width, o.height, colors::white);

  // Data range (in plot space: log10 of y for a log axis).
  auto ty = [&](double y) { return o.log_y ? std::log10(y) : y; };
  auto usable = [&](double y) { return std::isfinite(y) && (!o.log_y || y > 0); };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto include = [&](double x, double y) {
    if (!usable(y) || !std::isfinite(x)) return;
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
    y0 = std::min(y0, ty(y));
    y1 = std::max(y1, ty(y));
  };
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) include(s.x[i], s.y[i]);
  }
  for (const Band& b : bands) {
    const std::vector<double>& x = series[b.series].x;
    for (size_t i = 0; i < x.size(); ++i) {
      include(x[i], b.lo[i]);
      include(x[i], b.hi[i]);
    }
  }
  if (!(x1 >= x0)) x0 = 0, x1 = 1;
  if (!(y1 >= y0)) y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  if (o.log_y) {
    y0 = std::floor(y0);
    y1 = std::ceil(y1);
  } else {
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
  }

  // The plot area, leaving room for the title, tick labels, axis labels and legend.
  const int left = 70, right = o.width - 35, top = o.title.empty() ? 30 : 52, bottom = o.height - 50;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  if (!o.title.empty()) font.draw(c, o.title, left, 10, kTitle, colors::black);
  // Grid and ticks.
  const std::vector<double> yt = o.log_y ? nice_ticks(y0, y1, static_cast<int>(y1 - y0)) : nice_ticks(y0, y1);
  for (double t : yt) {
    if (o.log_y && t != std::floor(t)) continue;
    const float y = static_cast<float>(py(t));
    c.draw_line(left, y, right, y, colors::light_gray);
    const std::string label = format_tick(o.log_y ? std::pow(10.0, t) : t, o.log_y);
    font.draw(c, label, left - 8 - font.text_width(label, kText), static_cast<int>(y) - font.ascent(kText) / 2 - 2,
              kText, colors::black);
  }
  for (double t : nice_ticks(x0, x1)) {
    const float x = static_cast<float>(px(t));
    c.draw_line(x, top, x, bottom, colors::light_gray);
    const std::string label = format_tick(t, false);
    font.draw(c, label, static_cast<int>(x) - font.text_width(label, kText) / 2, bottom + 6, kText, colors::black);
  }
  c.stroke_rect(left, top, right - left + 1, bottom - top + 1, colors::black);
  if (!o.x_label.empty()) {
    font.draw(c, o.x_label, (left + right) / 2 - font.text_width(o.x_label, kText) / 2, o.height - 24, kText,
              colors::black);
  }
  if (!o.y_label.empty()) font.draw(c, o.y_label, 8, top - 22, kText, colors::black);

  size_t palette = 0;
  std::vector<Rgb> used;
  for (const Series& s : series) used.push_back(s.color == Rgb{} ? kPalette[palette++ % std::size(kPalette)] : s.color);

  // Bands under the curves: each column between two x values is shaded from the
  // interpolated low to the interpolated high value (half-open columns, so that no pixel
  // is blended twice where segments meet).
  constexpr std::uint8_t kBandOpacity = 56;
  for (const Band& b : bands) {
    const std::vector<double>& x = series[b.series].x;
    for (size_t i = 0; i + 1 < x.size(); ++i) {
      const bool drawable = std::isfinite(x[i]) && std::isfinite(x[i + 1]) && x[i + 1] > x[i] && usable(b.lo[i]) &&
                            usable(b.hi[i]) && usable(b.lo[i + 1]) && usable(b.hi[i + 1]);
      if (!drawable) continue;
      const double xa = px(x[i]), xb = px(x[i + 1]);
      for (int col = static_cast<int>(std::ceil(xa)); col < static_cast<int>(std::ceil(xb)); ++col) {
        const double t = (col - xa) / (xb - xa);
        const double lo = py(ty(b.lo[i]) + t * (ty(b.lo[i + 1]) - ty(b.lo[i])));
        const double hi = py(ty(b.hi[i]) + t * (ty(b.hi[i + 1]) - ty(b.hi[i])));
        for (int row = static_cast<int>(std::ceil(std::min(lo, hi))); row <= static_cast<int>(std::max(lo, hi)); ++row)
          c.blend_pixel(col, row, used[b.series], kBandOpacity);
      }
    }
  }

  // Curves, clipped to the plot area by construction of the range; gaps at unusable points.
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Rgb color = used[k];
    bool have_prev = false;
    float prev_x = 0, prev_y = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.y[i]) || !std::isfinite(s.x[i])) {
        have_prev = false;
        continue;
      }
      const float x = static_cast<float>(px(s.x[i])), y = static_cast<float>(py(ty(s.y[i])));
      if (have_prev) c.draw_line(prev_x, prev_y, x, y, color, 2.0f);
      if (s.x.size() == 1) c.fill_circle(x, y, 3.0f, color);
      prev_x = x;
      prev_y = y;
      have_prev = true;
    }
  }
  // Legend, top right inside the plot.
  int ly = top + 8;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].label.empty()) continue;
    const int w = font.text_width(series[i].label, kText);
    const int lx = right - 12 - w - 26;
    c.fill_rect(lx - 4, ly - 2, w + 38, 18, colors::white);
    c.draw_line(static_cast<float>(lx), static_cast<float>(ly + 7), static_cast<float>(lx + 20),
                static_cast<float>(ly + 7), used[i], 3.0f);
    font.draw(c, series[i].label, lx + 26, ly - 2, kText, colors::black);
    ly += 18;
  }
  return c;
}

}  // namespace subtb::render

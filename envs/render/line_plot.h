#pragma once
// Line plots as PNG-ready canvases: the training curves of a run (loss, L1 to the target
// distribution, log Z) and the reproduction figures. Linear or log-scaled y axis, "nice"
// tick values, a legend, gaps where a value is not finite, and optional translucent bands
// (the spread of a curve over seeds).
#include <string>
#include <vector>

#include "envs/render/canvas.h"

namespace subtb::render {

struct Series {
  std::string label;
  std::vector<double> x, y;  // same length; non-finite y values leave a gap
  Rgb color{};               // black (the default) means "next colour of the palette"
};

// A shaded region between lo and hi at the x values of series[series], in its colour.
struct Band {
  size_t series = 0;
  std::vector<double> lo, hi;  // the length of that series' x; a non-finite value leaves a gap
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;  // non-positive y values are then left out
  int width = 800, height = 500;
};

// Throws subtb::Error for series whose x and y lengths differ, a band that names no series
// or whose lengths differ from its series', or a canvas too small to draw on.
Canvas line_plot(const std::vector<Series>& series, const PlotOptions& options, const std::vector<Band>& bands = {});

// "Nice" tick positions covering [lo, hi]: about `target` steps of 1, 2 or 5 times a power of ten.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace subtb::render

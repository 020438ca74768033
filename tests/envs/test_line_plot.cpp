#include "envs/render/line_plot.h"

#include <gtest/gtest.h>

#include <cmath>

#include "envs/render/png.h"
#include "tensor/error.h"

namespace subtb::render {
namespace {

int count_color(const Canvas& c, Rgb color) {
  int n = 0;
  for (int y = 0; y < c.height(); ++y)
    for (int x = 0; x < c.width(); ++x) n += c.pixel(x, y) == color;
  return n;
}

TEST(NiceTicks, StepsOfOneTwoOrFive) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(nice_ticks(0.13, 0.87, 4), (std::vector<double>{0.2, 0.4, 0.6, 0.8}));
  EXPECT_EQ(nice_ticks(-3, 3, 6), (std::vector<double>{-3, -2, -1, 0, 1, 2, 3}));
  EXPECT_EQ(nice_ticks(5, 5), (std::vector<double>{5}));
}

TEST(LinePlot, DrawsEachSeriesInItsColourAndSkipsGaps) {
  const Rgb blue = hex(0x0000ff), green = hex(0x00aa00);
  Series a{"a", {0, 1, 2, 3}, {1, 2, NAN, 4}, blue};
  Series b{"b", {0, 3}, {4, 1}, green};
  const Canvas c = line_plot({a, b}, {"title", "step", "value", false, 400, 300});
  EXPECT_GT(count_color(c, blue), 50);
  EXPECT_GT(count_color(c, green), 50);
  // The NaN at x = 2 leaves a gap: the same curve without it inks more pixels.
  Series full{"a", {0, 1, 2, 3}, {1, 2, 3, 4}, blue};
  const Canvas d = line_plot({full, b}, {"title", "step", "value", false, 400, 300});
  EXPECT_GT(count_color(d, blue), count_color(c, blue));
  // Deterministic and encodable.
  EXPECT_EQ(encode_png(line_plot({a, b}, {"title", "step", "value", false, 400, 300})), encode_png(c));
}

TEST(LinePlot, LogScaleLeavesOutNonPositiveValues) {
  Series s{"l1", {1, 2, 3, 4}, {1.0, 0.1, 0.0, 0.001}, hex(0xff0000)};
  const Canvas c = line_plot({s}, {"", "step", "L1", true, 300, 200});
  EXPECT_GT(count_color(c, hex(0xff0000)), 20);
}

TEST(LinePlot, BandShadesBetweenLowAndHighInTheSeriesColour) {
  const Rgb blue = hex(0x0000ff);
  const Series s{"mean", {0, 1, 2}, {2, 2, 2}, blue};
  const Canvas plain = line_plot({s}, {"", "step", "value", false, 300, 200});
  const Canvas banded = line_plot({s}, {"", "step", "value", false, 300, 200}, {Band{0, {1, 1, 1}, {3, 3, 3}}});
  // Light blue pixels (blue blended over white): a few at the line's anti-aliased edges,
  // thousands more with the band.
  auto bluish = [](const Canvas& c) {
    int n = 0;
    for (int y = 0; y < c.height(); ++y)
      for (int x = 0; x < c.width(); ++x) {
        const Rgb p = c.pixel(x, y);
        n += p.b == 255 && p.r > 150 && p.r < 255 && p.r == p.g;
      }
    return n;
  };
  EXPECT_GT(bluish(banded), bluish(plain) + 5000);
}

TEST(LinePlot, Errors) {
  EXPECT_THROW(line_plot({Series{"bad", {1, 2}, {1}, {}}}, {}), subtb::Error);
  EXPECT_THROW(line_plot({}, {"", "", "", false, 100, 100}), subtb::Error);
  const Series s{"s", {1, 2}, {1, 2}, {}};
  EXPECT_THROW(line_plot({s}, {}, {Band{1, {1, 2}, {1, 2}}}), subtb::Error);
  EXPECT_THROW(line_plot({s}, {}, {Band{0, {1}, {1, 2}}}), subtb::Error);
}

}  // namespace
}  // namespace subtb::render

#pragma once
// Canvas: an 8-bit RGB raster (row-major, 3 bytes a pixel, no padding) with the few
// primitives the task environments draw with. Every primitive clips to the canvas, so
// callers may draw partly (or wholly) outside it.
#include <cstdint>
#include <span>
#include <vector>

namespace subtb::render {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// 0xRRGGBB -> Rgb, so colours read like the hex codes in the task descriptions.
constexpr Rgb hex(std::uint32_t rrggbb) {
  return {static_cast<std::uint8_t>(rrggbb >> 16), static_cast<std::uint8_t>(rrggbb >> 8),
          static_cast<std::uint8_t>(rrggbb)};
}

namespace colors {
inline constexpr Rgb white = hex(0xffffff);
inline constexpr Rgb black = hex(0x000000);
inline constexpr Rgb red = hex(0xc8102e);
inline constexpr Rgb gray = hex(0x808080);
inline constexpr Rgb light_gray = hex(0xd0d0d0);
}  // namespace colors

class Canvas {
 public:
  Canvas() = default;
  Canvas(int width, int height, Rgb background = colors::white);

  // Resizes (keeping the allocation when it is large enough) and fills with `background`,
  // so a caller rendering frame after frame reuses one canvas.
  void reset(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  // Row-major RGB bytes: pixel (x, y) starts at 3 * (y * width() + x).
  std::span<const std::uint8_t> bytes() const { return pixels_; }

  Rgb pixel(int x, int y) const;  // throws outside the canvas
  void set_pixel(int x, int y, Rgb color);
  // Mixes `color` over the pixel with coverage/255 opacity (anti-aliased edges, glyphs).
  void blend_pixel(int x, int y, Rgb color, std::uint8_t coverage);

  void fill(Rgb color);
  void fill_rect(int x, int y, int w, int h, Rgb color);
  // The outline of the rectangle, `thickness` pixels wide, drawn inside it.
  void stroke_rect(int x, int y, int w, int h, Rgb color, int thickness = 1);
  // A filled rectangle with anti-aliased quarter-circle corners of the given radius.
  void fill_rounded_rect(int x, int y, int w, int h, int radius, Rgb color);
  // An anti-aliased filled disc.
  void fill_circle(float cx, float cy, float radius, Rgb color);
  // A line `thickness` pixels wide between two points (anti-aliased ends and sides).
  void draw_line(float x0, float y0, float x1, float y1, Rgb color, float thickness = 1.0f);
  // Copies `source` with its top-left corner at (x, y).
  void blit(const Canvas& source, int x, int y);

 private:
  bool inside(int x, int y) const { return x >= 0 && y >= 0 && x < width_ && y < height_; }
  std::uint8_t* at(int x, int y) { return pixels_.data() + 3 * (static_cast<std::size_t>(y) * width_ + x); }

  int width_ = 0;
  int height_ = 0;
  std::vector<std::uint8_t> pixels_;
};

}  // namespace subtb::render

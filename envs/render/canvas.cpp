#include "envs/render/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/error.h"

namespace subtb::render {
namespace {

// Coverage of a pixel whose centre lies `distance` inside (positive) or outside
// (negative) a shape's edge: a one-pixel linear ramp, the usual cheap anti-aliasing.
std::uint8_t edge_coverage(float distance) {
  const float c = std::clamp(distance + 0.5f, 0.0f, 1.0f);
  return static_cast<std::uint8_t>(std::lround(c * 255.0f));
}

}  // namespace

Canvas::Canvas(int width, int height, Rgb background) { reset(width, height, background); }

void Canvas::reset(int width, int height, Rgb background) {
  SUBTB_CHECK(width >= 0 && height >= 0, "Canvas: size ", width, "x", height, " is negative");
  width_ = width;
  height_ = height;
  pixels_.resize(3 * static_cast<std::size_t>(width) * height);
  fill(background);
}

Rgb Canvas::pixel(int x, int y) const {
  SUBTB_CHECK(inside(x, y), "Canvas::pixel: (", x, ", ", y, ") is outside the ", width_, "x",
              height_, " canvas");
  const std::uint8_t* p = pixels_.data() + 3 * (static_cast<std::size_t>(y) * width_ + x);
  return {p[0], p[1], p[2]};
}

void Canvas::set_pixel(int x, int y, Rgb color) {
  if (!inside(x, y)) return;
  std::uint8_t* p = at(x, y);
  p[0] = color.r;
  p[1] = color.g;
  p[2] = color.b;
}

void Canvas::blend_pixel(int x, int y, Rgb color, std::uint8_t coverage) {
  if (coverage == 0 || !inside(x, y)) return;
  std::uint8_t* p = at(x, y);
  const unsigned a = coverage, keep = 255 - coverage;
  p[0] = static_cast<std::uint8_t>((p[0] * keep + color.r * a + 127) / 255);
  p[1] = static_cast<std::uint8_t>((p[1] * keep + color.g * a + 127) / 255);
  p[2] = static_cast<std::uint8_t>((p[2] * keep + color.b * a + 127) / 255);
}

void Canvas::fill(Rgb color) { fill_rect(0, 0, width_, height_, color); }

void Canvas::fill_rect(int x, int y, int w, int h, Rgb color) {
  const int x0 = std::max(x, 0), x1 = std::min(x + w, width_);
  const int y0 = std::max(y, 0), y1 = std::min(y + h, height_);
  if (x0 >= x1 || y0 >= y1) return;
  // Paint one row, then copy it: memcpy beats three byte stores per pixel.
  std::uint8_t* first = at(x0, y0);
  for (std::uint8_t* p = first; p < first + 3 * (x1 - x0); p += 3) {
    p[0] = color.r;
    p[1] = color.g;
    p[2] = color.b;
  }
  const std::size_t row_bytes = 3 * static_cast<std::size_t>(x1 - x0);
  for (int row = y0 + 1; row < y1; ++row) std::memcpy(at(x0, row), first, row_bytes);
}

void Canvas::stroke_rect(int x, int y, int w, int h, Rgb color, int thickness) {
  const int t = std::min({thickness, w, h});
  if (t <= 0) return;
  fill_rect(x, y, w, t, color);
  fill_rect(x, y + h - t, w, t, color);
  fill_rect(x, y + t, t, h - 2 * t, color);
  fill_rect(x + w - t, y + t, t, h - 2 * t, color);
}

void Canvas::fill_rounded_rect(int x, int y, int w, int h, int radius, Rgb color) {
  const int r = std::clamp(radius, 0, std::min(w, h) / 2);
  fill_rect(x + r, y, w - 2 * r, h, color);
  fill_rect(x, y + r, r, h - 2 * r, color);
  fill_rect(x + w - r, y + r, r, h - 2 * r, color);
  // The four corners: each pixel's coverage from its centre's distance to the arc.
  const float centres[4][2] = {{static_cast<float>(x + r), static_cast<float>(y + r)},
                               {static_cast<float>(x + w - r), static_cast<float>(y + r)},
                               {static_cast<float>(x + r), static_cast<float>(y + h - r)},
                               {static_cast<float>(x + w - r), static_cast<float>(y + h - r)}};
  const int origins[4][2] = {{x, y}, {x + w - r, y}, {x, y + h - r}, {x + w - r, y + h - r}};
  for (int c = 0; c < 4; ++c) {
    for (int py = origins[c][1]; py < origins[c][1] + r; ++py) {
      for (int px = origins[c][0]; px < origins[c][0] + r; ++px) {
        const float d = std::hypot(px + 0.5f - centres[c][0], py + 0.5f - centres[c][1]);
        blend_pixel(px, py, color, edge_coverage(static_cast<float>(r) - d));
      }
    }
  }
}

void Canvas::fill_circle(float cx, float cy, float radius, Rgb color) {
  const int x0 = static_cast<int>(std::floor(cx - radius)), x1 = static_cast<int>(std::ceil(cx + radius));
  const int y0 = static_cast<int>(std::floor(cy - radius)), y1 = static_cast<int>(std::ceil(cy + radius));
  for (int py = y0; py <= y1; ++py) {
    for (int px = x0; px <= x1; ++px) {
      const float d = std::hypot(px + 0.5f - cx, py + 0.5f - cy);
      blend_pixel(px, py, color, edge_coverage(radius - d));
    }
  }
}

void Canvas::draw_line(float x0, float y0, float x1, float y1, Rgb color, float thickness) {
  const float half = thickness / 2;
  const float dx = x1 - x0, dy = y1 - y0;
  const float length_sq = dx * dx + dy * dy;
  const int bx0 = static_cast<int>(std::floor(std::min(x0, x1) - half - 1));
  const int bx1 = static_cast<int>(std::ceil(std::max(x0, x1) + half + 1));
  const int by0 = static_cast<int>(std::floor(std::min(y0, y1) - half - 1));
  const int by1 = static_cast<int>(std::ceil(std::max(y0, y1) + half + 1));
  for (int py = std::max(by0, 0); py <= std::min(by1, height_ - 1); ++py) {
    for (int px = std::max(bx0, 0); px <= std::min(bx1, width_ - 1); ++px) {
      const float qx = px + 0.5f - x0, qy = py + 0.5f - y0;
      // Distance from the pixel centre to the closest point of the segment.
      const float t = length_sq > 0 ? std::clamp((qx * dx + qy * dy) / length_sq, 0.0f, 1.0f) : 0.0f;
      const float d = std::hypot(qx - t * dx, qy - t * dy);
      blend_pixel(px, py, color, edge_coverage(half - d));
    }
  }
}

void Canvas::blit(const Canvas& source, int x, int y) {
  const int x0 = std::max(x, 0), x1 = std::min(x + source.width_, width_);
  const int y0 = std::max(y, 0), y1 = std::min(y + source.height_, height_);
  if (x0 >= x1 || y0 >= y1) return;
  const std::size_t row_bytes = 3 * static_cast<std::size_t>(x1 - x0);
  for (int row = y0; row < y1; ++row) {
    const std::uint8_t* src =
        source.pixels_.data() + 3 * (static_cast<std::size_t>(row - y) * source.width_ + (x0 - x));
    std::copy_n(src, row_bytes, at(x0, row));
  }
}

}  // namespace subtb::render

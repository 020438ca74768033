#pragma once
// Font: TrueType text rasterised with stb_truetype, glyph bitmaps cached per pixel size.
// Text is UTF-8. Positions follow PIL's ImageDraw.text (which RL4VLM's images use): (x, y)
// is the top-left of the line box and the baseline sits `ascent(size)` pixels below y;
// `size` is the em size in pixels, like PIL's ImageFont.truetype(path, size).
// A Font is safe to share between threads (the glyph cache is locked).
#include <memory>
#include <string>
#include <string_view>

#include "envs/render/canvas.h"

namespace subtb::render {

// The pixels a piece of text inks, [x0, x1) x [y0, y1) in canvas coordinates. Empty
// (x0 == x1) for text without visible glyphs.
struct TextBox {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x0 >= x1 || y0 >= y1; }
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

class Font {
 public:
  // Loads a .ttf file; throws subtb::Error naming the path if it cannot be read or parsed.
  explicit Font(const std::string& path);
  ~Font();
  Font(Font&&) noexcept;
  Font& operator=(Font&&) noexcept;

  // DejaVu Sans Bold, the font of the card-game images, loaded once on first use from
  // default_font_path().
  static const Font& dejavu_sans_bold();

  const std::string& path() const;
  // Pixels from the top of the line box down to the baseline.
  int ascent(int size) const;
  // Baseline-to-baseline distance for consecutive lines.
  int line_height(int size) const;
  // Horizontal advance of the whole string (where the next string would start).
  int text_width(std::string_view utf8, int size) const;
  // The box that draw() would ink for the same arguments, without drawing.
  TextBox ink_box(std::string_view utf8, int x, int y, int size) const;
  // Draws the text anti-aliased in `color` and returns the inked box.
  TextBox draw(Canvas& canvas, std::string_view utf8, int x, int y, int size, Rgb color) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Where DejaVuSans-Bold.ttf lives: $SUBTB_FONT when set, else the usual Debian, Fedora
// and Arch locations. Throws subtb::Error saying how to install it when none exists.
std::string default_font_path();

}  // namespace subtb::render

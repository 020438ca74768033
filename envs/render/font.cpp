#include "envs/render/font.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/error.h"

#define STBTT_STATIC
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb/stb_truetype.h>

namespace subtb::render {
namespace {

struct Glyph {
  int index = 0;         // glyph id in the font
  int x0 = 0, y0 = 0;    // bitmap offset from the pen position on the baseline
  int w = 0, h = 0;
  float advance = 0;     // in pixels
  std::vector<std::uint8_t> coverage;  // w * h, row-major
  TextBox ink;  // the nonzero coverage inside the bitmap; empty for blank glyphs
};

// The tight box of a bitmap's nonzero coverage.
TextBox ink_of(const std::vector<std::uint8_t>& coverage, int w, int h) {
  TextBox box{w, h, 0, 0};
  for (int row = 0; row < h; ++row) {
    for (int col = 0; col < w; ++col) {
      if (coverage[static_cast<std::size_t>(row) * w + col] == 0) continue;
      box = {std::min(box.x0, col), std::min(box.y0, row), std::max(box.x1, col + 1), std::max(box.y1, row + 1)};
    }
  }
  return box.empty() ? TextBox{} : box;
}

// Decodes UTF-8; a malformed sequence yields U+FFFD and decoding resumes at the next byte.
std::vector<char32_t> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const int extra = lead < 0x80            ? 0
                      : (lead >> 5) == 0x6   ? 1
                      : (lead >> 4) == 0xe   ? 2
                      : (lead >> 3) == 0x1e  ? 3
                                             : -1;
    char32_t cp = extra <= 0 ? lead : lead & (0x3f >> extra);
    bool ok = extra >= 0 && i + extra < s.size();
    for (int k = 1; ok && k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = (c >> 6) == 0x2;
      cp = (cp << 6) | (c & 0x3f);
    }
    out.push_back(ok ? cp : U'\uFFFD');
    i += ok ? extra + 1 : 1;
  }
  return out;
}

}  // namespace

struct Font::Impl {
  std::string path;
  std::vector<unsigned char> data;
  stbtt_fontinfo info{};
  int hhea_ascent = 0, hhea_descent = 0, hhea_line_gap = 0;  // font units

  std::mutex mutex;  // guards the two caches
  std::unordered_map<std::uint64_t, Glyph> glyphs;  // (size << 32 | codepoint) -> glyph
  std::unordered_map<std::uint64_t, int> kerning;   // (glyph1 << 32 | glyph2) -> font units

  float scale(int size) const { return stbtt_ScaleForMappingEmToPixels(&info, static_cast<float>(size)); }

  const Glyph& glyph(char32_t cp, int size) {
    const std::uint64_t key = (static_cast<std::uint64_t>(size) << 32) | cp;
    if (auto it = glyphs.find(key); it != glyphs.end()) return it->second;
    Glyph g;
    const float s = scale(size);
    g.index = stbtt_FindGlyphIndex(&info, static_cast<int>(cp));
    int advance = 0, bearing = 0;
    stbtt_GetGlyphHMetrics(&info, g.index, &advance, &bearing);
    g.advance = static_cast<float>(advance) * s;
    int x0, y0, x1, y1;
    stbtt_GetGlyphBitmapBox(&info, g.index, s, s, &x0, &y0, &x1, &y1);
    g.x0 = x0;
    g.y0 = y0;
    g.w = std::max(0, x1 - x0);
    g.h = std::max(0, y1 - y0);
    g.coverage.resize(static_cast<std::size_t>(g.w) * g.h);
    if (g.w > 0 && g.h > 0) stbtt_MakeGlyphBitmap(&info, g.coverage.data(), g.w, g.h, g.w, s, s, g.index);
    g.ink = ink_of(g.coverage, g.w, g.h);
    return glyphs.emplace(key, std::move(g)).first->second;
  }

  int kern(int glyph1, int glyph2) {
    const std::uint64_t key = (static_cast<std::uint64_t>(glyph1) << 32) | static_cast<std::uint32_t>(glyph2);
    if (auto it = kerning.find(key); it != kerning.end()) return it->second;
    return kerning.emplace(key, stbtt_GetGlyphKernAdvance(&info, glyph1, glyph2)).first->second;
  }

  // One placed glyph: its bitmap and the canvas position of the bitmap's top-left.
  struct Placed {
    const Glyph* glyph;
    int x, y;
  };

  // Lays the string out on the baseline y + ascent, starting at pen x. Returns the
  // placed glyphs and the final pen position.
  std::vector<Placed> layout(std::string_view utf8, int x, int y, int size, float* pen_end) {
    SUBTB_CHECK(size >= 1 && size <= 1000, "Font: text size ", size, " is not in 1..1000 pixels");
    const std::vector<char32_t> cps = decode_utf8(utf8);
    std::vector<Placed> placed;
    placed.reserve(cps.size());
    const float s = scale(size);
    const int baseline = y + static_cast<int>(std::ceil(static_cast<float>(hhea_ascent) * s));
    float pen = static_cast<float>(x);
    std::lock_guard lock(mutex);
    int previous = -1;
    for (char32_t cp : cps) {
      const Glyph& g = glyph(cp, size);
      if (previous >= 0) pen += static_cast<float>(kern(previous, g.index)) * s;
      placed.push_back({&g, static_cast<int>(std::lround(pen)) + g.x0, baseline + g.y0});
      pen += g.advance;
      previous = g.index;
    }
    if (pen_end) *pen_end = pen;
    return placed;
  }

  // The union of the placed glyphs' ink boxes.
  static TextBox ink_box(const std::vector<Placed>& placed) {
    TextBox box;
    for (const Placed& p : placed) {
      const TextBox& g = p.glyph->ink;
      if (g.empty()) continue;
      const TextBox shifted{p.x + g.x0, p.y + g.y0, p.x + g.x1, p.y + g.y1};
      box = box.empty() ? shifted
                        : TextBox{std::min(box.x0, shifted.x0), std::min(box.y0, shifted.y0),
                                  std::max(box.x1, shifted.x1), std::max(box.y1, shifted.y1)};
    }
    return box;
  }
};

Font::Font(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  std::ifstream in(path, std::ios::binary);
  SUBTB_CHECK(in, "Font: cannot open font file '", path, "'");
  impl_->data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const int offset = stbtt_GetFontOffsetForIndex(impl_->data.data(), 0);
  SUBTB_CHECK(!impl_->data.empty() && offset >= 0 && stbtt_InitFont(&impl_->info, impl_->data.data(), offset),
              "Font: '", path, "' is not a TrueType font");
  stbtt_GetFontVMetrics(&impl_->info, &impl_->hhea_ascent, &impl_->hhea_descent, &impl_->hhea_line_gap);
}

Font::~Font() = default;
Font::Font(Font&&) noexcept = default;
Font& Font::operator=(Font&&) noexcept = default;

const Font& Font::dejavu_sans_bold() {
  static const Font font(default_font_path());
  return font;
}

const std::string& Font::path() const { return impl_->path; }

int Font::ascent(int size) const {
  return static_cast<int>(std::ceil(static_cast<float>(impl_->hhea_ascent) * impl_->scale(size)));
}

int Font::line_height(int size) const {
  const int units = impl_->hhea_ascent - impl_->hhea_descent + impl_->hhea_line_gap;
  return static_cast<int>(std::ceil(static_cast<float>(units) * impl_->scale(size)));
}

int Font::text_width(std::string_view utf8, int size) const {
  float pen = 0;
  impl_->layout(utf8, 0, 0, size, &pen);
  return static_cast<int>(std::lround(pen));
}

TextBox Font::ink_box(std::string_view utf8, int x, int y, int size) const {
  return Impl::ink_box(impl_->layout(utf8, x, y, size, nullptr));
}

TextBox Font::draw(Canvas& canvas, std::string_view utf8, int x, int y, int size, Rgb color) const {
  const std::vector<Impl::Placed> placed = impl_->layout(utf8, x, y, size, nullptr);
  for (const Impl::Placed& p : placed) {
    const Glyph& g = *p.glyph;
    for (int row = 0; row < g.h; ++row) {
      const std::uint8_t* coverage = g.coverage.data() + static_cast<std::size_t>(row) * g.w;
      for (int col = 0; col < g.w; ++col) canvas.blend_pixel(p.x + col, p.y + row, color, coverage[col]);
    }
  }
  return Impl::ink_box(placed);
}

std::string default_font_path() {
  if (const char* env = std::getenv("SUBTB_FONT"); env && *env) {
    SUBTB_CHECK(std::filesystem::is_regular_file(env), "render: SUBTB_FONT='", env, "' is not a font file");
    return env;
  }
  static constexpr const char* candidates[] = {
      "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",  // Debian, Ubuntu
      "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",  // Fedora
      "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",                // Arch
      "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
  };
  std::string looked;
  for (const char* path : candidates) {
    if (std::filesystem::is_regular_file(path)) return path;
    looked += looked.empty() ? path : std::string(", ") + path;
  }
  SUBTB_THROW("render: DejaVuSans-Bold.ttf not found (looked in ", looked,
              "); install the fonts-dejavu-core package (scripts/install-deps.sh) or set SUBTB_FONT "
              "to the path of a .ttf file");
}

}  // namespace subtb::render

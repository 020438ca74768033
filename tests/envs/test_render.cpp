// The render library (canvas, text, PNG) and the card-game images.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#include "envs/cards/blackjack.h"
#include "envs/cards/card_art.h"
#include "envs/cards/numberline.h"
#include "envs/cards/points.h"
#include "envs/render/canvas.h"
#include "envs/render/font.h"
#include "envs/render/png.h"
#include "tensor/error.h"

namespace subtb::render {
namespace {

int count_pixels(const Canvas& c, Rgb color, int x0 = 0, int y0 = 0, int x1 = -1, int y1 = -1) {
  x1 = x1 < 0 ? c.width() : x1;
  y1 = y1 < 0 ? c.height() : y1;
  int n = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) n += c.pixel(x, y) == color;
  }
  return n;
}

// The smallest box holding every pixel that differs from `background`.
TextBox changed_box(const Canvas& c, Rgb background) {
  TextBox box{c.width(), c.height(), 0, 0};
  for (int y = 0; y < c.height(); ++y) {
    for (int x = 0; x < c.width(); ++x) {
      if (c.pixel(x, y) == background) continue;
      box = {std::min(box.x0, x), std::min(box.y0, y), std::max(box.x1, x + 1), std::max(box.y1, y + 1)};
    }
  }
  return box;
}

TEST(Canvas, FillRectClipsAndCounts) {
  Canvas c(10, 8, colors::white);
  c.fill_rect(-3, 6, 5, 10, colors::black);  // clipped to x 0..1, y 6..7
  EXPECT_EQ(count_pixels(c, colors::black), 4);
  EXPECT_EQ(c.pixel(1, 7), colors::black);
  EXPECT_EQ(c.pixel(2, 7), colors::white);
  c.fill_rect(20, 20, 5, 5, colors::black);  // wholly outside: nothing
  EXPECT_EQ(count_pixels(c, colors::black), 4);
}

TEST(Canvas, StrokeRectDrawsOnlyTheBorder) {
  Canvas c(10, 10);
  c.stroke_rect(1, 1, 6, 5, colors::black, 2);
  EXPECT_EQ(count_pixels(c, colors::black), 6 * 5 - 2 * 1);  // the 2x1 inside stays white
  EXPECT_EQ(c.pixel(3, 3), colors::white);
}

TEST(Canvas, BlendMixesByCoverage) {
  Canvas c(1, 1, colors::white);
  c.blend_pixel(0, 0, colors::black, 255);
  EXPECT_EQ(c.pixel(0, 0), colors::black);
  c.fill(colors::white);
  c.blend_pixel(0, 0, colors::black, 128);
  EXPECT_EQ(c.pixel(0, 0), (Rgb{127, 127, 127}));
}

TEST(Canvas, RoundedRectCutsItsCorners) {
  Canvas c(20, 20, colors::white);
  c.fill_rounded_rect(0, 0, 20, 20, 6, colors::black);
  EXPECT_EQ(c.pixel(0, 0), colors::white);     // outside the arc
  EXPECT_EQ(c.pixel(10, 0), colors::black);    // straight edge
  EXPECT_EQ(c.pixel(10, 10), colors::black);
  EXPECT_EQ(c.pixel(19, 19), colors::white);
}

TEST(Canvas, CircleAndLineCoverTheirCentres) {
  Canvas c(21, 21, colors::white);
  c.fill_circle(10.5f, 10.5f, 5.0f, colors::black);
  EXPECT_EQ(c.pixel(10, 10), colors::black);
  EXPECT_EQ(c.pixel(10, 3), colors::white);
  // A disc of radius 5 covers about 25 pi pixels.
  EXPECT_NEAR(count_pixels(c, colors::black), 78.5, 12);
  c.fill(colors::white);
  c.draw_line(2, 2.5f, 18, 2.5f, colors::black, 1.0f);
  EXPECT_EQ(c.pixel(10, 2), colors::black);
  EXPECT_EQ(c.pixel(10, 4), colors::white);
}

TEST(Canvas, BlitCopiesWithClipping) {
  Canvas src(3, 2, colors::black);
  Canvas dst(4, 4, colors::white);
  dst.blit(src, 2, 3);
  EXPECT_EQ(count_pixels(dst, colors::black), 2);
  EXPECT_EQ(dst.pixel(3, 3), colors::black);
}

TEST(Canvas, PixelOutsideThrows) {
  Canvas c(2, 2);
  EXPECT_THROW(c.pixel(2, 0), Error);
  EXPECT_THROW(Canvas(-1, 2), Error);
}

TEST(Font, MissingFileGivesAClearError) {
  try {
    Font font("/nonexistent/font.ttf");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/font.ttf"), std::string::npos) << e.what();
  }
}

TEST(Font, DefaultPathHonoursTheEnvironment) {
  ASSERT_EQ(setenv("SUBTB_FONT", "/nonexistent/x.ttf", 1), 0);
  EXPECT_THROW(default_font_path(), Error);
  ASSERT_EQ(unsetenv("SUBTB_FONT"), 0);
  EXPECT_NE(default_font_path().find("DejaVuSans-Bold.ttf"), std::string::npos);
}

TEST(Font, MetricsMatchDejaVuSansBold) {
  const Font& font = Font::dejavu_sans_bold();
  // hhea ascent 1901/2048 em: ceil(0.928 * 36) = 34.
  EXPECT_EQ(font.ascent(36), 34);
  // Capitals stand about 0.73 em above the baseline and digits are 0.696 em wide.
  const TextBox t = font.ink_box("T", 0, 0, 100);
  EXPECT_NEAR(t.height(), 73, 2);
  EXPECT_EQ(t.y1, font.ascent(100));  // sits on the baseline
  EXPECT_EQ(font.text_width("0", 100), 70);
  EXPECT_EQ(font.text_width("00000", 100), 348);  // the pen keeps the fraction: 5 * 69.6
  EXPECT_TRUE(font.ink_box(" ", 0, 0, 20).empty());
  EXPECT_GT(font.text_width(" ", 20), 0);
}

TEST(Font, DrawInksExactlyItsBox) {
  const Font& font = Font::dejavu_sans_bold();
  Canvas c(200, 60, colors::white);
  const TextBox box = font.draw(c, "Target: 3", 10, 5, 24, colors::black);
  const TextBox changed = changed_box(c, colors::white);
  EXPECT_EQ(changed.x0, box.x0);
  EXPECT_EQ(changed.y0, box.y0);
  EXPECT_EQ(changed.x1, box.x1);
  EXPECT_EQ(changed.y1, box.y1);
  // Bold text: a good share of its box is solid ink.
  EXPECT_GT(count_pixels(c, colors::black), box.width() * box.height() / 6);
}

TEST(Font, DifferentTextDiffersAndSameTextRepeats) {
  const Font& font = Font::dejavu_sans_bold();
  Canvas a(60, 40), b(60, 40), c(60, 40);
  font.draw(a, "1", 5, 0, 30, colors::black);
  font.draw(b, "7", 5, 0, 30, colors::black);
  font.draw(c, "1", 5, 0, 30, colors::black);
  EXPECT_NE(std::vector<std::uint8_t>(a.bytes().begin(), a.bytes().end()),
            std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end()));
  EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().end(), c.bytes().begin()));
}

TEST(Font, MalformedUtf8DrawsAReplacementGlyph) {
  const Font& font = Font::dejavu_sans_bold();
  Canvas c(100, 40);
  EXPECT_FALSE(font.draw(c, std::string("a\xff\xc3"), 2, 2, 20, colors::black).empty());
  EXPECT_GT(font.text_width("\xe2\x99\xa5", 20), 0);  // U+2665, a heart
  EXPECT_THROW(font.text_width("x", 0), Error);
}

TEST(Png, RoundTripsThroughADecoder) {
  Canvas c(7, 5, colors::white);
  c.fill_rect(2, 1, 3, 2, hex(0x35654d));
  c.set_pixel(6, 4, hex(0x123456));
  const std::vector<std::uint8_t> png = encode_png(c);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png[1], 'P');
  int w = 0, h = 0, n = 0;
  unsigned char* pixels = stbi_load_from_memory(png.data(), static_cast<int>(png.size()), &w, &h, &n, 3);
  ASSERT_NE(pixels, nullptr);
  EXPECT_EQ(w, 7);
  EXPECT_EQ(h, 5);
  EXPECT_TRUE(std::equal(c.bytes().begin(), c.bytes().end(), pixels));
  stbi_image_free(pixels);
}

TEST(Png, WriteFailsWithThePath) {
  Canvas c(2, 2);
  EXPECT_THROW(write_png(c, "/nonexistent/dir/x.png"), Error);
  EXPECT_THROW(encode_png(Canvas()), Error);
  const auto path = std::filesystem::temp_directory_path() / "subtb_test_render.png";
  write_png(c, path);
  EXPECT_EQ(std::filesystem::file_size(path), encode_png(c).size());
  std::filesystem::remove(path);
}

// ---------------------------------------------------------------------------------
// The game images.

TEST(NumberLineImage, ShowsTargetAndCurrentWhereRL4VLMPutsThem) {
  cards::NumberLine game;
  game.reset(5);
  Canvas image;
  game.render(image);
  ASSERT_EQ(image.width(), 300);
  ASSERT_EQ(image.height(), 300);
  // The image is exactly the two texts on white, at (30, 60) and (30, 180), size 36.
  const Font& font = Font::dejavu_sans_bold();
  Canvas expected(300, 300, colors::white);
  font.draw(expected, "Target: " + std::to_string(game.target()), 30, 60, 36, colors::black);
  font.draw(expected, "Current: " + std::to_string(game.current()), 30, 180, 36, colors::black);
  EXPECT_TRUE(std::equal(image.bytes().begin(), image.bytes().end(), expected.bytes().begin()));
  // And the texts lie where claimed: "T" starts just right of x = 30 and the capitals
  // stand on the baseline y + ascent.
  const TextBox target = font.ink_box("Target: " + std::to_string(game.target()), 30, 60, 36);
  EXPECT_NEAR(target.x0, 30, 2);
  EXPECT_EQ(font.ink_box("T", 30, 60, 36).y1, 60 + font.ascent(36));
  EXPECT_NEAR(target.y0, 60 + font.ascent(36) - 26, 2);  // cap height 0.73 * 36
  // Ink inside the claimed rows only.
  const TextBox all = changed_box(image, colors::white);
  EXPECT_GE(all.y0, 60);
  EXPECT_LE(all.y1, 180 + font.line_height(36));
}

TEST(NumberLineImage, TheNumberChangesThePixels) {
  cards::NumberLine game;
  Canvas before, after;
  game.reset(1);
  game.render(before);
  game.step(game.current() < game.target() ? cards::NumberLine::plus : cards::NumberLine::minus);
  game.render(after);
  // Only the "Current" line differs.
  for (int y = 0; y < 180; ++y) {
    for (int x = 0; x < 300; ++x) ASSERT_EQ(before.pixel(x, y), after.pixel(x, y)) << x << "," << y;
  }
  EXPECT_FALSE(std::equal(before.bytes().begin(), before.bytes().end(), after.bytes().begin()));
}

TEST(BlackJackImage, LayoutAndDeterminism) {
  cards::BlackJack game;
  game.reset(11);
  Canvas a, b;
  game.render(a);
  cards::BlackJack again;
  again.reset(11);
  again.render(b);
  EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin()));

  const Rgb table = hex(0x35654d);
  EXPECT_EQ(a.pixel(299, 299), table);
  // Labels: white ink near (5, 5) and (5, 130).
  EXPECT_GT(count_pixels(a, colors::white, 5, 5, 70, 25), 50);
  EXPECT_GT(count_pixels(a, colors::white, 5, 130, 70, 150), 50);
  // The card back's blue fills the box at (78, 25); the up card is white there.
  EXPECT_GT(count_pixels(a, hex(0x1f4e9c), 78, 25, 78 + 70, 25 + 98), 2000);
  EXPECT_EQ(count_pixels(a, hex(0x1f4e9c), 5, 25, 75, 123), 0);
  EXPECT_GT(count_pixels(a, colors::white, 5, 25, 75, 123), 4000);
  // Two player cards: white at (5..75, 150..248) and (79..149, ...), table beyond.
  EXPECT_GT(count_pixels(a, colors::white, 5, 150, 75, 248), 4000);
  EXPECT_GT(count_pixels(a, colors::white, 79, 150, 149, 248), 4000);
  EXPECT_EQ(count_pixels(a, colors::white, 160, 150, 300, 248), 0);
}

TEST(BlackJackImage, ManyCardsStayInsideTheImage) {
  cards::BlackJack game;
  // Find a hand that survives four hits (seven cards at least once in a while).
  for (std::uint64_t seed = 0;; ++seed) {
    game.reset(seed);
    int hits = 0;
    while (!game.over() && hits < 5) {
      game.step(cards::BlackJack::hit);
      ++hits;
    }
    if (!game.over()) break;
  }
  ASSERT_EQ(game.player().size(), 7u);
  Canvas image;
  game.render(image);
  // The last card ends at the right margin, 5 px from the edge.
  EXPECT_EQ(count_pixels(image, colors::white, 295, 150, 300, 248), 0);
  EXPECT_GT(count_pixels(image, colors::white, 260, 160, 294, 240), 1000);
}

TEST(CardArt, RedAndBlackSuits) {
  Canvas c(70, 98, colors::black);
  cards::draw_card(c, {12, cards::Suit::hearts}, 0, 0);
  EXPECT_GT(count_pixels(c, colors::red), 300);
  EXPECT_EQ(c.pixel(35, 2), colors::white);
  Canvas s(70, 98, colors::white);
  cards::draw_card(s, {1, cards::Suit::spades}, 0, 0);
  EXPECT_EQ(count_pixels(s, colors::red), 0);
  EXPECT_GT(count_pixels(s, colors::black), 300);
}

TEST(PointsImage, ShowsTheFormula) {
  cards::PointsGame game(cards::points24_config());
  game.reset(3);
  Canvas empty, one;
  game.render(empty);
  game.step(static_cast<int>(game.values()[0]) - 1);  // the first card's number
  game.render(one);
  // The formula line (below "Formula:") gained white ink; the rest is unchanged.
  const Font& font = Font::dejavu_sans_bold();
  const int formula_y = 140 + font.line_height(24);
  EXPECT_EQ(count_pixels(empty, colors::white, 0, formula_y, 300, 300), 0);
  EXPECT_GT(count_pixels(one, colors::white, 0, formula_y, 300, 300), 20);
  for (int y = 0; y < formula_y; ++y) {
    for (int x = 0; x < 300; ++x) ASSERT_EQ(empty.pixel(x, y), one.pixel(x, y));
  }
}

}  // namespace
}  // namespace subtb::render

#include "envs/cards/card_art.h"

#include "envs/render/font.h"

namespace subtb::cards {
namespace {

constexpr int corner_radius = 6;
constexpr render::Rgb edge_color = render::hex(0x606060);
constexpr render::Rgb back_color = render::hex(0x1f4e9c);
constexpr render::Rgb lattice_color = render::hex(0x8fb0e6);

// A white rounded card with a one-pixel grey edge.
void draw_blank(render::Canvas& canvas, int x, int y) {
  canvas.fill_rounded_rect(x, y, card_width, card_height, corner_radius, edge_color);
  canvas.fill_rounded_rect(x + 1, y + 1, card_width - 2, card_height - 2, corner_radius - 1, render::colors::white);
}

}  // namespace

void draw_card(render::Canvas& canvas, Card card, int x, int y) {
  const render::Font& font = render::Font::dejavu_sans_bold();
  const render::Rgb ink = is_red(card.suit) ? render::colors::red : render::colors::black;
  const std::string_view rank = rank_label(card.rank);
  const std::string_view suit = suit_symbol(card.suit);
  draw_blank(canvas, x, y);

  // Corner indices: rank over a small suit, and the same pair mirrored into the
  // bottom-right corner (kept upright so a reader never sees upside-down text).
  constexpr int rank_size = 16, small_suit_size = 13;
  font.draw(canvas, rank, x + 5, y + 3, rank_size, ink);
  font.draw(canvas, suit, x + 5, y + 21, small_suit_size, ink);
  const int rank_width = font.text_width(rank, rank_size);
  const int suit_width = font.text_width(suit, small_suit_size);
  font.draw(canvas, rank, x + card_width - 5 - rank_width, y + card_height - 22, rank_size, ink);
  font.draw(canvas, suit, x + card_width - 5 - suit_width, y + card_height - 38, small_suit_size, ink);

  // The big suit symbol, centred by its inked box.
  constexpr int pip_size = 34;
  const render::TextBox box = font.ink_box(suit, 0, 0, pip_size);
  font.draw(canvas, suit, x + (card_width - box.width()) / 2 - box.x0,
            y + (card_height - box.height()) / 2 - box.y0, pip_size, ink);
}

void draw_card_back(render::Canvas& canvas, int x, int y) {
  draw_blank(canvas, x, y);
  constexpr int inset = 5;
  canvas.fill_rect(x + inset, y + inset, card_width - 2 * inset, card_height - 2 * inset, back_color);
  // Two families of diagonals, 2 px wide every 8 px, make the lattice.
  for (int row = inset + 2; row < card_height - inset - 2; ++row) {
    for (int col = inset + 2; col < card_width - inset - 2; ++col) {
      if ((col + row) % 8 < 2 || (col - row + card_height) % 8 < 2) {
        canvas.set_pixel(x + col, y + row, lattice_color);
      }
    }
  }
}

}  // namespace subtb::cards

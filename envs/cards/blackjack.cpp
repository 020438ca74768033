#include "envs/cards/blackjack.h"

#include <algorithm>

#include "envs/cards/card_art.h"
#include "envs/render/font.h"
#include "tensor/error.h"

namespace subtb::cards {

HandValue hand_value(std::span<const Card> cards) {
  int hard = 0;
  bool ace = false;
  for (Card c : cards) {
    hard += card_value(c);
    ace |= c.rank == 1;
  }
  if (ace && hard + 10 <= 21) return {hard + 10, true};
  return {hard, false};
}

Card draw_blackjack_card(Rng& rng) {
  const auto suit = static_cast<Suit>(rng.below(4));
  const auto value = static_cast<std::uint8_t>(1 + rng.below(13));
  if (value < 10) return {value, suit};
  return {static_cast<std::uint8_t>(11 + rng.below(3)), suit};
}

void BlackJack::reset(std::uint64_t seed) {
  rng_ = Rng(seed);
  player_size_ = dealer_size_ = 0;
  player_[player_size_++] = draw_blackjack_card(rng_);
  dealer_[dealer_size_++] = draw_blackjack_card(rng_);
  player_[player_size_++] = draw_blackjack_card(rng_);
  dealer_[dealer_size_++] = draw_blackjack_card(rng_);
  over_ = false;
  result_ = 0;
}

GameStep BlackJack::step(int action) {
  SUBTB_CHECK(!over_, "BlackJack::step: the game is over; call reset");
  SUBTB_CHECK(action == stand || action == hit, "BlackJack::step: action ", action,
              " is not 0 (stand) or 1 (hit)");
  if (action == hit) {
    player_[player_size_++] = draw_blackjack_card(rng_);
    if (!player_value().bust()) return {};
    over_ = true;
    result_ = -1;
    return {-1.0, true, false};
  }
  while (hand_value(dealer()).total < 17) dealer_[dealer_size_++] = draw_blackjack_card(rng_);
  const int mine = player_value().total;
  const HandValue theirs = hand_value(dealer());
  result_ = theirs.bust() || mine > theirs.total ? 1 : mine == theirs.total ? 0 : -1;
  over_ = true;
  return {static_cast<double>(result_), true, false};
}

int BlackJack::result() const {
  SUBTB_CHECK(over_, "BlackJack::result: the game is still being played");
  return result_;
}

void BlackJack::render(render::Canvas& canvas) const {
  const render::Font& font = render::Font::dejavu_sans_bold();
  canvas.reset(image_size, image_size, render::hex(0x35654d));
  font.draw(canvas, "Dealer", 5, 5, 16, render::colors::white);
  draw_card(canvas, dealer_up_card(), 5, 25);
  draw_card_back(canvas, 78, 25);
  font.draw(canvas, "Player", 5, 130, 16, render::colors::white);
  // Four cards fit side by side; beyond that they overlap, keeping each corner index
  // (rank and suit) visible.
  constexpr int left = 5, gap = 4, row_width = image_size - 2 * left;
  const int n = player_size_;
  const int stride = n <= 1 ? 0 : std::min(card_width + gap, (row_width - card_width) / (n - 1));
  for (int i = 0; i < n; ++i) draw_card(canvas, player_[i], left + i * stride, 150);
}

}  // namespace subtb::cards

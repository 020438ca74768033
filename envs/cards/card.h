#pragma once
// Playing cards: rank 1 (ace) .. 13 (king) and a suit.
#include <cstdint>
#include <string_view>

#include "envs/cards/rng.h"

namespace subtb::cards {

enum class Suit : std::uint8_t { clubs, diamonds, hearts, spades };

struct Card {
  std::uint8_t rank = 1;  // 1 = A, 11 = J, 12 = Q, 13 = K
  Suit suit = Suit::spades;
  friend bool operator==(const Card&, const Card&) = default;
};

// "A", "2", ..., "10", "J", "Q", "K".
std::string_view rank_label(int rank);
// The suit's symbol, UTF-8 ("♣", "♦", "♥", "♠").
std::string_view suit_symbol(Suit suit);
inline bool is_red(Suit suit) { return suit == Suit::diamonds || suit == Suit::hearts; }

// A card's number in the arithmetic games and in BlackJack: faces count 10, an ace 1.
inline int card_value(Card card) { return card.rank > 10 ? 10 : card.rank; }

// Uniform over the 52 cards of a deck (with replacement: an infinite deck).
inline Card random_card(Rng& rng) {
  return {static_cast<std::uint8_t>(1 + rng.below(13)), static_cast<Suit>(rng.below(4))};
}

}  // namespace subtb::cards

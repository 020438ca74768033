#include "envs/cards/card.h"

#include <array>

#include "tensor/error.h"

namespace subtb::cards {

std::string_view rank_label(int rank) {
  static constexpr std::array<std::string_view, 13> labels = {"A", "2", "3", "4",  "5", "6", "7",
                                                              "8", "9", "10", "J", "Q", "K"};
  SUBTB_CHECK(rank >= 1 && rank <= 13, "rank_label: rank ", rank, " is not in 1..13");
  return labels[rank - 1];
}

std::string_view suit_symbol(Suit suit) {
  switch (suit) {
    case Suit::clubs: return "\u2663";
    case Suit::diamonds: return "\u2666";
    case Suit::hearts: return "\u2665";
    case Suit::spades: return "\u2660";
  }
  SUBTB_THROW("suit_symbol: invalid suit ", static_cast<int>(suit));
}

}  // namespace subtb::cards

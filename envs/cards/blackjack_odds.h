#pragma once
// Exact BlackJack probabilities for the infinite deck (each of 1..9 with probability
// 1/13, 10 with 4/13), the dealer standing on all 17s.
#include <array>

namespace subtb::cards {

// The dealer's final total given the face-up card's value (1 = ace .. 10).
struct DealerOutcome {
  std::array<double, 5> stands_on{};  // P(final total = 17 + i)
  double bust = 0;
};
const DealerOutcome& dealer_outcome(int up_value);

// The chances of a player who stands now on `player_total` (<= 21).
struct StandOdds {
  double win = 0, draw = 0, loss = 0;
};
StandOdds stand_odds(int player_total, int up_value);

}  // namespace subtb::cards

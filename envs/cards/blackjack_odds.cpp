#include "envs/cards/blackjack_odds.h"

#include "tensor/error.h"

namespace subtb::cards {
namespace {

double value_probability(int value) { return value == 10 ? 4.0 / 13.0 : 1.0 / 13.0; }

// Final-total distribution of a dealer holding `hard` points (aces as 1), `ace` whether
// any ace is among them. Totals only grow, so the recursion ends.
DealerOutcome play_out(int hard, bool ace) {
  const int total = ace && hard + 10 <= 21 ? hard + 10 : hard;
  DealerOutcome out;
  if (total > 21) {
    out.bust = 1;
    return out;
  }
  if (total >= 17) {
    out.stands_on[total - 17] = 1;
    return out;
  }
  for (int v = 1; v <= 10; ++v) {
    const DealerOutcome next = play_out(hard + v, ace || v == 1);
    const double p = value_probability(v);
    for (int i = 0; i < 5; ++i) out.stands_on[i] += p * next.stands_on[i];
    out.bust += p * next.bust;
  }
  return out;
}

}  // namespace

const DealerOutcome& dealer_outcome(int up_value) {
  SUBTB_CHECK(up_value >= 1 && up_value <= 10, "dealer_outcome: up card value ", up_value, " is not in 1..10");
  static const std::array<DealerOutcome, 10> table = [] {
    std::array<DealerOutcome, 10> t;
    for (int v = 1; v <= 10; ++v) t[v - 1] = play_out(v, v == 1);
    return t;
  }();
  return table[up_value - 1];
}

StandOdds stand_odds(int player_total, int up_value) {
  SUBTB_CHECK(player_total >= 2 && player_total <= 21, "stand_odds: player total ", player_total,
              " is not in 2..21");
  const DealerOutcome& d = dealer_outcome(up_value);
  StandOdds odds;
  odds.win = d.bust;
  for (int i = 0; i < 5; ++i) {
    const int dealer_total = 17 + i;
    (player_total > dealer_total ? odds.win : player_total == dealer_total ? odds.draw : odds.loss) += d.stands_on[i];
  }
  return odds;
}

}  // namespace subtb::cards

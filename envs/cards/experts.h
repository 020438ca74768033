#pragma once
// Scripted players for the card games: the source of SFT trajectories and of GFlowVLM's
// off-policy expert data. Each returns an action id of its game.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "envs/cards/blackjack.h"
#include "envs/cards/numberline.h"
#include "envs/cards/points.h"

namespace subtb::cards {

// The move toward the target: reaches it in |target - current| steps, the optimum.
int numberline_expert(const NumberLine& game);

// Basic strategy restricted to hit and stand, for an infinite deck and a dealer who
// stands on all 17s: hard 17+ stands, hard 13-16 stands against 2-6, hard 12 against
// 4-6, soft 19+ stands, soft 18 stands against 2-8; everything else hits.
// `dealer_up_value` is 1 (ace) .. 10.
BlackJack::Action basic_strategy(HandValue player, int dealer_up_value);
int blackjack_basic_strategy(const BlackJack& game);
// GFlowVLM's expert: stand at 17 or more, else hit.
int blackjack_stand_at_17(const BlackJack& game);

// Plays the first (shortest) solution of the dealt hand, one token per move, then "=".
// When the formula so far starts no solution (someone else moved), it says "=" to end
// the episode. Solutions are kept for the current hand, so a whole episode solves once.
class PointsExpert {
 public:
  int act(const PointsGame& game);
  // The solution the last act() followed; empty when it found none.
  std::span<const Token> last_plan() const;

 private:
  std::vector<int> values_;
  std::vector<std::vector<Token>> solutions_;
  std::ptrdiff_t plan_ = -1;  // index into solutions_
};

}  // namespace subtb::cards

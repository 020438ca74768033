#include "envs/cards/experts.h"

#include <algorithm>

#include "envs/cards/points_solver.h"
#include "tensor/error.h"

namespace subtb::cards {

int numberline_expert(const NumberLine& game) {
  return game.current() < game.target() ? NumberLine::plus : NumberLine::minus;
}

BlackJack::Action basic_strategy(HandValue player, int dealer_up_value) {
  const int up = dealer_up_value == 1 ? 11 : dealer_up_value;  // ace is the strongest up card
  bool stand = false;
  if (player.soft) {
    stand = player.total >= 19 || (player.total == 18 && up <= 8);
  } else {
    stand = player.total >= 17 || (player.total >= 13 && up <= 6) || (player.total == 12 && up >= 4 && up <= 6);
  }
  return stand ? BlackJack::stand : BlackJack::hit;
}

int blackjack_basic_strategy(const BlackJack& game) {
  return basic_strategy(game.player_value(), card_value(game.dealer_up_card()));
}

int blackjack_stand_at_17(const BlackJack& game) {
  return game.player_value().total >= 17 ? BlackJack::stand : BlackJack::hit;
}

int PointsExpert::act(const PointsGame& game) {
  SUBTB_CHECK(!game.over(), "PointsExpert::act: the episode is over");
  if (!std::ranges::equal(values_, game.values())) {
    values_.assign(game.values().begin(), game.values().end());
    solutions_ = solve_points(values_, game.config().target, game.config().operators);
  }
  const std::span<const Token> formula = game.formula();
  plan_ = -1;
  for (std::size_t i = 0; i < solutions_.size(); ++i) {
    const std::vector<Token>& solution = solutions_[i];
    if (solution.size() < formula.size() || !std::equal(formula.begin(), formula.end(), solution.begin())) continue;
    plan_ = static_cast<std::ptrdiff_t>(i);
    if (solution.size() == formula.size()) return game.equals_action();
    const Token next = solution[formula.size()];
    for (int a = 0; a < game.equals_action(); ++a) {
      if (game.action_token(a) == next) return a;
    }
  }
  return game.equals_action();
}

std::span<const Token> PointsExpert::last_plan() const {
  if (plan_ < 0) return {};
  return solutions_[static_cast<std::size_t>(plan_)];
}

}  // namespace subtb::cards

// The scripted experts: NumberLine always succeeds, BlackJack's basic strategy wins as
// often as an exact evaluation says it should, the points solver finds valid formulas.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <tuple>

#include "envs/cards/blackjack_odds.h"
#include "envs/cards/experts.h"
#include "envs/cards/points_solver.h"

namespace subtb::cards {
namespace {

TEST(NumberLineExpert, AlwaysSucceedsInTheFewestSteps) {
  for (NumberLineConfig config : {NumberLineConfig{}, NumberLineConfig{10, 50, 100}}) {
    NumberLine game(config);
    for (std::uint64_t seed = 0; seed < 2000; ++seed) {
      game.reset(seed);
      const int distance = std::abs(game.target() - game.current());
      GameStep s;
      double total = 0;
      while (!s.over()) {
        s = game.step(numberline_expert(game));
        total += s.reward;
      }
      ASSERT_TRUE(s.terminated);
      ASSERT_TRUE(game.success());
      ASSERT_EQ(game.steps(), distance);
      ASSERT_EQ(total, 1.0);  // no step was ever penalised
    }
  }
}

// ---------------------------------------------------------------------------------
// An exact evaluation of a hit/stand policy for the infinite deck, written here
// independently of the library: P(win), P(draw), P(loss) over the whole deal.

double p(int value) { return value == 10 ? 4.0 / 13.0 : 1.0 / 13.0; }

struct Rates {
  double win = 0, draw = 0, loss = 0;
  Rates& add(const Rates& r, double w) {
    win += w * r.win;
    draw += w * r.draw;
    loss += w * r.loss;
    return *this;
  }
};

int total_of(int hard, bool ace) { return ace && hard + 10 <= 21 ? hard + 10 : hard; }

// Distribution of the dealer's final total: index 0..4 for 17..21, 5 for a bust.
std::array<double, 6> dealer_final(int hard, bool ace) {
  static std::map<std::pair<int, bool>, std::array<double, 6>> memo;
  if (auto it = memo.find({hard, ace}); it != memo.end()) return it->second;
  const int t = total_of(hard, ace);
  std::array<double, 6> out{};
  if (t > 21) {
    out[5] = 1;
  } else if (t >= 17) {
    out[t - 17] = 1;
  } else {
    for (int v = 1; v <= 10; ++v) {
      const auto next = dealer_final(hard + v, ace || v == 1);
      for (int i = 0; i < 6; ++i) out[i] += p(v) * next[i];
    }
  }
  return memo[{hard, ace}] = out;
}

using Policy = std::function<BlackJack::Action(HandValue, int)>;

// A player state: hard total (aces as 1), whether an ace is held, the dealer's up card.
using State = std::tuple<int, bool, int>;

Rates player_rates(int hard, bool ace, int up, const Policy& policy, std::map<State, Rates>& memo) {
  if (auto it = memo.find({hard, ace, up}); it != memo.end()) return it->second;
  const int t = total_of(hard, ace);
  Rates r;
  if (t > 21) {
    r.loss = 1;
  } else if (policy({t, ace && hard + 10 <= 21}, up) == BlackJack::stand) {
    const auto dealer = dealer_final(up, up == 1);
    r.win = dealer[5];
    for (int i = 0; i < 5; ++i) (t > 17 + i ? r.win : t == 17 + i ? r.draw : r.loss) += dealer[i];
  } else {
    for (int v = 1; v <= 10; ++v) r.add(player_rates(hard + v, ace || v == 1, up, policy, memo), p(v));
  }
  return memo[{hard, ace, up}] = r;
}

Rates exact_rates(const Policy& policy) {
  std::map<State, Rates> memo;
  Rates r;
  for (int a = 1; a <= 10; ++a) {
    for (int b = 1; b <= 10; ++b) {
      for (int up = 1; up <= 10; ++up) {
        r.add(player_rates(a + b, a == 1 || b == 1, up, policy, memo), p(a) * p(b) * p(up));
      }
    }
  }
  return r;
}

// The best hit/stand decision of every state, by the same recursion maximising
// P(win) - P(loss).
double optimal_value(int hard, bool ace, int up) {
  static std::map<State, double> memo;
  if (auto it = memo.find({hard, ace, up}); it != memo.end()) return it->second;
  const int t = total_of(hard, ace);
  double best = -1;
  if (t <= 21) {
    const StandOdds s = stand_odds(t, up);
    double hit = 0;
    for (int v = 1; v <= 10; ++v) hit += p(v) * optimal_value(hard + v, ace || v == 1, up);
    best = std::max(s.win - s.loss, hit);
  }
  return memo[{hard, ace, up}] = best;
}

Rates simulate(const std::function<int(const BlackJack&)>& policy, int games) {
  BlackJack game;
  Rates r;
  for (int g = 0; g < games; ++g) {
    game.reset(static_cast<std::uint64_t>(g));
    while (!game.over()) game.step(policy(game));
    (game.result() > 0 ? r.win : game.result() == 0 ? r.draw : r.loss) += 1.0 / games;
  }
  return r;
}

void expect_within_sampling_error(const Rates& simulated, const Rates& exact, int games) {
  // 4.5 standard errors of a binomial proportion: a false alarm about once in 10^5.
  auto bound = [&](double q) { return 4.5 * std::sqrt(q * (1 - q) / games); };
  EXPECT_NEAR(simulated.win, exact.win, bound(exact.win));
  EXPECT_NEAR(simulated.draw, exact.draw, bound(exact.draw));
  EXPECT_NEAR(simulated.loss, exact.loss, bound(exact.loss));
}

TEST(BlackJackOdds, DealerTableMatchesAnIndependentRecursion) {
  for (int up = 1; up <= 10; ++up) {
    const auto expected = dealer_final(up, up == 1);
    const DealerOutcome& d = dealer_outcome(up);
    double sum = d.bust;
    for (int i = 0; i < 5; ++i) {
      EXPECT_NEAR(d.stands_on[i], expected[i], 1e-12);
      sum += d.stands_on[i];
    }
    EXPECT_NEAR(d.bust, expected[5], 1e-12);
    EXPECT_NEAR(sum, 1.0, 1e-12);
  }
}

TEST(BlackJackExpert, BasicStrategyMatchesItsExactOddsOver100kGames) {
  constexpr int games = 100000;
  const Rates exact = exact_rates(basic_strategy);
  EXPECT_NEAR(exact.win + exact.draw + exact.loss, 1.0, 1e-12);
  // The ceiling the GFlowVLM paper mentions: a little over 40% of hands won.
  EXPECT_GT(exact.win, 0.40);
  EXPECT_LT(exact.win, 0.46);
  const Rates simulated = simulate(blackjack_basic_strategy, games);
  expect_within_sampling_error(simulated, exact, games);
}

TEST(BlackJackExpert, StandAtSeventeenMatchesItsExactOdds) {
  constexpr int games = 100000;
  const Policy stand17 = [](HandValue v, int) { return v.total >= 17 ? BlackJack::stand : BlackJack::hit; };
  const Rates exact = exact_rates(stand17);
  const Rates simulated = simulate(blackjack_stand_at_17, games);
  expect_within_sampling_error(simulated, exact, games);
  // Basic strategy is the better player.
  const Rates basic = exact_rates(basic_strategy);
  EXPECT_GT(basic.win - basic.loss, exact.win - exact.loss + 0.01);
}

TEST(BlackJackExpert, BasicStrategyIsNearlyOptimalForHitAndStand) {
  double optimal = 0;
  for (int a = 1; a <= 10; ++a) {
    for (int b = 1; b <= 10; ++b) {
      for (int up = 1; up <= 10; ++up) optimal += p(a) * p(b) * p(up) * optimal_value(a + b, a == 1 || b == 1, up);
    }
  }
  const Rates basic = exact_rates(basic_strategy);
  const double value = basic.win - basic.loss;
  EXPECT_LE(value, optimal + 1e-12);
  EXPECT_GT(value, optimal - 0.002);
}

TEST(BlackJackOdds, StandOddsSumToOne) {
  for (int up = 1; up <= 10; ++up) {
    for (int total = 4; total <= 21; ++total) {
      const StandOdds o = stand_odds(total, up);
      EXPECT_NEAR(o.win + o.draw + o.loss, 1.0, 1e-12);
    }
    EXPECT_EQ(stand_odds(16, up).draw, 0.0);  // the dealer never stands below 17
  }
}

// ---------------------------------------------------------------------------------
// Points

TEST(PointsSolver, SolutionsEvaluateToTheTargetWithEveryCard) {
  const std::vector<Token::Kind> ops = points24_config().operators;
  const std::vector<int> values = {3, 3, 8, 8};
  const auto solutions = solve_points(values, 24, ops);
  ASSERT_FALSE(solutions.empty());
  for (const auto& s : solutions) {
    EXPECT_EQ(evaluate(s), (Rational{24, 1})) << formula_text(s);
    std::vector<int> used;
    for (Token t : s) {
      if (t.kind == Token::number) used.push_back(t.value);
    }
    std::sort(used.begin(), used.end());
    EXPECT_EQ(used, values);
  }
  // 3, 3, 8, 8 has exactly one solution up to reordering: 8/(3-8/3).
  EXPECT_EQ(formula_text(solutions.front()), "8/(3-8/3)");
  EXPECT_TRUE(solve_points(std::vector{1, 1, 1, 1}, 24, ops).empty());
}

TEST(PointsSolver, RespectsTheAllowedOperators) {
  const std::vector<Token::Kind> ez = ezpoints_config().operators;
  EXPECT_TRUE(solve_points(std::vector{5, 7}, 12, ez).size() == 2);  // 5+7, 7+5
  EXPECT_TRUE(solve_points(std::vector{8, 4}, 12, ez).size() == 2);
  EXPECT_TRUE(solve_points(std::vector{2, 5}, 12, ez).empty());
  // Without parentheses (and with them) the solver never writes one it may not use.
  const std::vector<Token::Kind> no_parens = {Token::plus, Token::minus, Token::times};
  for (const auto& s : solve_points(std::vector{2, 3, 4}, 14, no_parens)) {
    for (Token t : s) EXPECT_NE(t.kind, Token::open);
  }
  EXPECT_FALSE(solve_points(std::vector{2, 3, 4}, 14, no_parens).empty());  // 2+3*4
  EXPECT_TRUE(solve_points(std::vector{2, 3, 4}, 20, no_parens).empty());   // needs (2+3)*4
}

TEST(PointsExpert, WinsEveryDealtHand) {
  for (const PointsConfig& config : {ezpoints_config(), points24_config()}) {
    PointsGame game(config);
    PointsExpert expert;
    for (std::uint64_t seed = 0; seed < 300; ++seed) {
      game.reset(seed);
      GameStep s;
      while (!s.over()) s = game.step(expert.act(game));
      ASSERT_TRUE(game.success()) << config.name << " seed " << seed << ": " << game.formula_text();
      ASSERT_EQ(s.reward, 10);
    }
  }
}

TEST(PointsExpert, EndsAnUnsolvableFormula) {
  PointsGame game(ezpoints_config());
  PointsExpert expert;
  game.reset(0);
  game.step(game.equals_action() - 1);  // an operator first: no solution starts so
  EXPECT_EQ(expert.act(game), game.equals_action());
  EXPECT_TRUE(expert.last_plan().empty());
}

}  // namespace
}  // namespace subtb::cards

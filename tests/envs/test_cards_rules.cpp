// The card games' rules: NumberLine, BlackJack, and the formulas of EZPoints / Points24.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "envs/cards/blackjack.h"
#include "envs/cards/formula.h"
#include "envs/cards/numberline.h"
#include "envs/cards/points.h"
#include "envs/cards/rng.h"
#include "tensor/error.h"

namespace subtb::cards {
namespace {

// ---------------------------------------------------------------------------------
// Rng

TEST(Rng, UniformCoversTheRangeEvenly) {
  Rng rng(42);
  std::array<int, 13> counts{};
  constexpr int n = 130000;
  for (int i = 0; i < n; ++i) ++counts[rng.below(13)];
  for (int c : counts) EXPECT_NEAR(c, n / 13.0, 5 * std::sqrt(n / 13.0));
  Rng a(7), b(7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), b.next());
}

// ---------------------------------------------------------------------------------
// NumberLine

TEST(NumberLine, ResetDrawsDistinctNumbersInRange) {
  NumberLine game;
  std::set<std::pair<int, int>> seen;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    game.reset(seed);
    ASSERT_GE(game.current(), 0);
    ASSERT_LE(game.current(), 5);
    ASSERT_GE(game.target(), 0);
    ASSERT_LE(game.target(), 5);
    ASSERT_NE(game.current(), game.target());
    seen.emplace(game.current(), game.target());
  }
  // RL4VLM's collision rule (target + 1) % 5 never yields target 5 from a collision,
  // but every ordered pair of distinct numbers still occurs.
  EXPECT_EQ(seen.size(), 30u);
}

TEST(NumberLine, SameSeedSameEpisode) {
  NumberLine a, b;
  a.reset(99);
  b.reset(99);
  EXPECT_EQ(a.current(), b.current());
  EXPECT_EQ(a.target(), b.target());
}

TEST(NumberLine, RewardsFollowTheDistance) {
  NumberLine game;
  std::uint64_t seed = 0;
  do game.reset(seed++);
  while (!(game.target() - game.current() >= 2));
  const int start = game.current();
  GameStep s = game.step(NumberLine::plus);  // closer, not there
  EXPECT_EQ(s.reward, 0);
  EXPECT_FALSE(s.over());
  s = game.step(NumberLine::minus);  // farther
  EXPECT_EQ(s.reward, -1);
  EXPECT_EQ(game.current(), start);
  while (game.current() + 1 < game.target()) game.step(NumberLine::plus);
  s = game.step(NumberLine::plus);  // arrives
  EXPECT_EQ(s.reward, 1);
  EXPECT_TRUE(s.terminated);
  EXPECT_TRUE(game.success());
  EXPECT_THROW(game.step(NumberLine::plus), Error);
}

TEST(NumberLine, BoundaryMovesDoNothingAndCostOne) {
  NumberLine game;
  std::uint64_t seed = 0;
  do game.reset(seed++);
  while (game.current() != 0);
  const GameStep s = game.step(NumberLine::minus);
  EXPECT_EQ(game.current(), 0);
  EXPECT_EQ(s.reward, -1);  // the distance did not shrink
  do game.reset(seed++);
  while (game.current() != 5);
  game.step(NumberLine::plus);
  EXPECT_EQ(game.current(), 5);
}

TEST(NumberLine, TruncatesAfterTenSteps) {
  NumberLine game;
  game.reset(3);
  const int away = game.current() < game.target() ? NumberLine::minus : NumberLine::plus;
  GameStep s;
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(s.over());
    s = game.step(away);
  }
  EXPECT_TRUE(s.truncated);
  EXPECT_FALSE(s.terminated);
  EXPECT_EQ(game.steps(), 10);
}

TEST(NumberLine, OodDrawsFromTenToFifty) {
  NumberLine game(numberline_ood_config());
  int low = 100, high = 0;
  for (std::uint64_t seed = 0; seed < 5000; ++seed) {
    game.reset(seed);
    low = std::min({low, game.current(), game.target()});
    high = std::max({high, game.current(), game.target()});
    ASSERT_NE(game.current(), game.target());
  }
  EXPECT_EQ(low, 10);
  EXPECT_EQ(high, 50);
}

TEST(NumberLine, RejectsBadInput) {
  EXPECT_THROW(NumberLine({5, 5, 10}), Error);
  NumberLine game;
  EXPECT_THROW(game.step(NumberLine::plus), Error);  // before reset
  game.reset(0);
  EXPECT_THROW(game.step(2), Error);
}

// ---------------------------------------------------------------------------------
// BlackJack

Card c(int rank) { return {static_cast<std::uint8_t>(rank), Suit::spades}; }

TEST(BlackJack, AcesAreSoftUntilTheyMustBeHard) {
  const Card ace = c(1);
  EXPECT_EQ(hand_value(std::vector{ace, c(6)}).total, 17);
  EXPECT_TRUE(hand_value(std::vector{ace, c(6)}).soft);
  EXPECT_EQ(hand_value(std::vector{ace, c(6), c(10)}).total, 17);  // the ace drops to 1
  EXPECT_FALSE(hand_value(std::vector{ace, c(6), c(10)}).soft);
  EXPECT_EQ(hand_value(std::vector{ace, ace}).total, 12);  // only one ace can count 11
  EXPECT_EQ(hand_value(std::vector{ace, c(13)}).total, 21);  // faces count 10
  EXPECT_EQ(hand_value(std::vector{c(12), c(11), c(2)}).total, 22);
  EXPECT_TRUE(hand_value(std::vector{c(12), c(11), c(2)}).bust());
}

TEST(BlackJack, CardsFollowTheInfiniteDeck) {
  Rng rng(5);
  std::array<int, 14> ranks{};
  constexpr int n = 130000;
  for (int i = 0; i < n; ++i) ++ranks[draw_blackjack_card(rng).rank];
  EXPECT_EQ(ranks[10], 0);  // a 10 always shows as J, Q or K
  const double tens = ranks[11] + ranks[12] + ranks[13];
  EXPECT_NEAR(tens / n, 4.0 / 13.0, 0.006);
  EXPECT_NEAR(ranks[11], ranks[13], 5 * std::sqrt(n * 4.0 / 39.0));
  EXPECT_NEAR(ranks[1] / double(n), 1.0 / 13.0, 0.004);
}

TEST(BlackJack, DealerDrawsToSeventeenOnStand) {
  BlackJack game;
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    game.reset(seed);
    ASSERT_EQ(game.player().size(), 2u);
    ASSERT_EQ(game.dealer().size(), 2u);
    const GameStep s = game.step(BlackJack::stand);
    ASSERT_TRUE(s.terminated);
    const auto dealer = game.dealer();
    const HandValue final_value = hand_value(dealer);
    ASSERT_GE(final_value.total, 17);
    if (dealer.size() > 2) {
      // It drew its last card only because it stood below 17 before.
      ASSERT_LT(hand_value(dealer.first(dealer.size() - 1)).total, 17);
    }
    const int mine = game.player_value().total;
    const int expected = final_value.bust() || mine > final_value.total ? 1 : mine == final_value.total ? 0 : -1;
    ASSERT_EQ(game.result(), expected);
    ASSERT_EQ(s.reward, expected);
  }
}

TEST(BlackJack, DealerStandsOnSoftSeventeen) {
  BlackJack game;
  bool seen = false;
  for (std::uint64_t seed = 0; seed < 20000 && !seen; ++seed) {
    game.reset(seed);
    const HandValue start = hand_value(game.dealer());
    if (start.total == 17 && start.soft) {
      game.step(BlackJack::stand);
      EXPECT_EQ(game.dealer().size(), 2u);
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
}

TEST(BlackJack, HitBustsAboveTwentyOne) {
  BlackJack game;
  int busts = 0;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    game.reset(seed);
    GameStep s;
    while (!s.over()) {
      s = game.step(BlackJack::hit);
      if (!s.over()) {
        ASSERT_EQ(s.reward, 0);
      }
    }
    ASSERT_TRUE(game.player_value().bust());
    ASSERT_EQ(s.reward, -1);
    ASSERT_EQ(game.result(), -1);
    ++busts;
  }
  EXPECT_EQ(busts, 2000);
  EXPECT_THROW(game.step(BlackJack::hit), Error);
}

TEST(BlackJack, ResultBeforeTheEndThrows) {
  BlackJack game;
  game.reset(1);
  EXPECT_THROW(game.result(), Error);
  EXPECT_THROW(game.step(7), Error);
}

// ---------------------------------------------------------------------------------
// Formulas

std::vector<Token> tokens(std::string_view text) {
  std::vector<Token> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '1' && i + 1 < text.size() && text[i + 1] == '0') {
      out.push_back(number_token(10));
      ++i;
    } else if (ch >= '1' && ch <= '9') {
      out.push_back(number_token(ch - '0'));
    } else {
      const Token::Kind kind = ch == '+'   ? Token::plus
                               : ch == '-' ? Token::minus
                               : ch == '*' ? Token::times
                               : ch == '/' ? Token::divide
                               : ch == '(' ? Token::open
                                           : Token::close;
      out.push_back(operator_token(kind));
    }
  }
  return out;
}

std::optional<Rational> eval(std::string_view text) { return evaluate(tokens(text)); }

TEST(Formula, PrecedenceParenthesesAndExactDivision) {
  EXPECT_EQ(eval("2+3*4"), (Rational{14, 1}));
  EXPECT_EQ(eval("(2+3)*4"), (Rational{20, 1}));
  EXPECT_EQ(eval("8-3-2"), (Rational{3, 1}));  // left to right
  EXPECT_EQ(eval("8/4/2"), (Rational{1, 1}));
  EXPECT_EQ(eval("8/(3-8/3)"), (Rational{24, 1}));  // exact, though 8/3 is not an integer
  EXPECT_EQ(eval("1/3"), (Rational{1, 3}));
  EXPECT_EQ(eval("2-7"), (Rational{-5, 1}));
  EXPECT_EQ(eval("((10))"), (Rational{10, 1}));
  EXPECT_EQ(formula_text(tokens("(10-4)*4")), "(10-4)*4");
}

TEST(Formula, MalformedFormulasHaveNoValue) {
  for (std::string_view bad : {"", "3+", "+3", "(4", "4)", "()", "3 4", "2(3)", "(2)(3)", "3**4", "5/(2-2)"}) {
    std::vector<Token> t = bad == "3 4" ? std::vector{number_token(3), number_token(4)} : tokens(bad);
    EXPECT_FALSE(evaluate(t).has_value()) << bad;
  }
}

// ---------------------------------------------------------------------------------
// EZPoints and Points24

int action_of(const PointsGame& game, std::string_view name) {
  const auto& names = game.action_names();
  return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
}

// Plays the formula's tokens one by one; returns the last step.
GameStep play(PointsGame& game, std::string_view formula) {
  GameStep s;
  for (Token t : tokens(formula)) s = game.step(action_of(game, token_text(t)));
  return s;
}

// A seed whose hand shows exactly these values (in any order).
std::uint64_t seed_with(PointsGame& game, std::vector<int> values) {
  std::sort(values.begin(), values.end());
  for (std::uint64_t seed = 0;; ++seed) {
    game.reset(seed);
    std::vector<int> v(game.values().begin(), game.values().end());
    std::sort(v.begin(), v.end());
    if (v == values) return seed;
  }
}

TEST(Points, ActionVocabularies) {
  PointsGame ez(ezpoints_config());
  EXPECT_EQ(ez.action_names(), (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "+",
                                                         "*", "="}));
  PointsGame p24(points24_config());
  EXPECT_EQ(p24.action_names().size(), 17u);
  EXPECT_EQ(p24.action_names()[14], "(");
  EXPECT_EQ(p24.action_names()[15], ")");
  EXPECT_EQ(p24.action_names().back(), "=");
}

TEST(Points, DealsDistinctSolvableCards) {
  PointsGame game(points24_config());
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    game.reset(seed);
    ASSERT_EQ(game.cards().size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t j = i + 1; j < 4; ++j) ASSERT_FALSE(game.cards()[i] == game.cards()[j]);
      ASSERT_EQ(game.values()[i], std::min<int>(game.cards()[i].rank, 10));
    }
  }
}

TEST(EZPoints, CorrectFormulaWins) {
  PointsGame game(ezpoints_config());
  game.reset(seed_with(game, {3, 4}));
  EXPECT_EQ(play(game, "3*4").reward, 0);
  EXPECT_EQ(game.formula_text(), "3*4");
  const GameStep s = game.step(game.equals_action());
  EXPECT_EQ(s.reward, 10);
  EXPECT_TRUE(s.terminated);
  EXPECT_TRUE(game.success());
}

TEST(EZPoints, WrongValueOrUnusedCardLoses) {
  PointsGame game(ezpoints_config());
  const std::uint64_t seed = seed_with(game, {2, 10});
  game.reset(seed);
  play(game, "2+10");  // 12 with both cards: the only correct one here
  EXPECT_EQ(game.step(game.equals_action()).reward, 10);
  game.reset(seed);
  play(game, "2*10");  // 20
  EXPECT_EQ(game.step(game.equals_action()).reward, -1);
  EXPECT_FALSE(game.success());
  game.reset(seed);
  play(game, "10");  // not every card used, and not 12
  const GameStep s = game.step(game.equals_action());
  EXPECT_EQ(s.reward, -1);
  EXPECT_TRUE(s.terminated);
}

TEST(EZPoints, NumbersMustBeOnUnusedCards) {
  PointsGame game(ezpoints_config());
  game.reset(seed_with(game, {6, 6}));
  EXPECT_EQ(game.step(action_of(game, "5")).reward, -1);  // no 5 dealt
  EXPECT_TRUE(game.formula().empty());
  EXPECT_FALSE(game.over());
  EXPECT_EQ(game.step(action_of(game, "6")).reward, 0);
  EXPECT_EQ(game.step(action_of(game, "+")).reward, 0);
  EXPECT_EQ(game.step(action_of(game, "6")).reward, 0);  // the second 6
  EXPECT_EQ(game.step(action_of(game, "6")).reward, -1);  // no third
  EXPECT_EQ(game.formula_text(), "6+6");
  EXPECT_EQ(game.step(game.equals_action()).reward, 10);
}

TEST(EZPoints, FormulaLongerThanFiveTruncates) {
  PointsGame game(ezpoints_config());
  game.reset(seed_with(game, {3, 4}));
  GameStep s = play(game, "3+4+");  // 4 tokens
  EXPECT_FALSE(s.over());
  s = game.step(action_of(game, "*"));  // 5
  EXPECT_FALSE(s.over());
  s = game.step(action_of(game, "+"));  // 6 > 5
  EXPECT_EQ(s.reward, -1);
  EXPECT_TRUE(s.truncated);
  EXPECT_FALSE(s.terminated);
  EXPECT_THROW(game.step(0), Error);
}

TEST(Points24, DivisionAndParentheses) {
  PointsGame game(points24_config());
  const std::uint64_t seed = seed_with(game, {3, 3, 8, 8});
  game.reset(seed);
  play(game, "8/(3-8/3)");
  EXPECT_EQ(game.step(game.equals_action()).reward, 10);
  game.reset(seed);
  play(game, "(8-3)*3+8");  // 23
  EXPECT_EQ(game.step(game.equals_action()).reward, -1);
  game.reset(seed);
  play(game, "8*3");  // 24, but two cards unused
  EXPECT_EQ(game.step(game.equals_action()).reward, -1);
  game.reset(seed);
  play(game, "8*3*(3-");  // incomplete: no value
  EXPECT_EQ(game.step(game.equals_action()).reward, -1);
}

TEST(Points24, LengthLimitIsTwentyTokens) {
  PointsGame game(points24_config());
  game.reset(0);
  GameStep s;
  for (int i = 0; i < 20; ++i) {
    s = game.step(action_of(game, "("));
    ASSERT_FALSE(s.over());
  }
  s = game.step(action_of(game, "("));
  EXPECT_TRUE(s.truncated);
  EXPECT_EQ(s.reward, -1);
}

TEST(Points, RejectsBadConfigsAndActions) {
  PointsConfig bad = ezpoints_config();
  bad.max_formula_length = 2;
  EXPECT_THROW(PointsGame{bad}, Error);
  bad = ezpoints_config();
  bad.operators = {Token::close};
  EXPECT_THROW(PointsGame{bad}, Error);
  PointsGame game(ezpoints_config());
  game.reset(0);
  EXPECT_THROW(game.step(13), Error);
  EXPECT_THROW(game.step(-1), Error);
}

}  // namespace
}  // namespace subtb::cards

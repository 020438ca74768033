#pragma once
// EZPoints and Points24 (RL4VLM's gym-cards): build, one token per move, a formula over
// the dealt cards' values (faces count 10, an ace 1) that equals the target, then say
// "=". Each card is used once; a number that no unused card shows is refused.
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "envs/cards/card.h"
#include "envs/cards/formula.h"
#include "envs/cards/game_step.h"
#include "envs/render/canvas.h"

namespace subtb::cards {

struct PointsConfig {
  std::string name;
  int num_cards = 2;
  int target = 12;
  std::vector<Token::Kind> operators;  // Token::open allows both parentheses
  int max_formula_length = 5;          // in tokens; one more truncates the episode
  bool solvable_only = true;           // deal only hands that have a solution
};

// Two cards, target 12, + and *, formulas up to 5 tokens.
PointsConfig ezpoints_config();
// Four cards, target 24, + - * / and parentheses, formulas up to 20 tokens.
PointsConfig points24_config();

class PointsGame {
 public:
  static constexpr int image_size = 300;
  static constexpr int invalid_reward = -1;
  static constexpr int success_reward = 10;

  explicit PointsGame(PointsConfig config);

  // Actions: "1" .. "10", then the operators in config order ("(" and ")" separately),
  // then "=".
  const std::vector<std::string>& action_names() const { return action_names_; }
  int equals_action() const { return static_cast<int>(action_names_.size()) - 1; }
  Token action_token(int action) const;  // for every action but "="

  // Deals num_cards distinct cards of one 52-card deck (again while the hand has no
  // solution, if solvable_only).
  void reset(std::uint64_t seed);
  // A number no unused card shows: -1, nothing appended, the game goes on. Any other
  // number or operator is appended; a formula longer than max_formula_length gives -1
  // and truncates. "=": +10 when the formula equals the target and uses every card,
  // else -1; the game ends either way.
  GameStep step(int action);

  const PointsConfig& config() const { return config_; }
  std::span<const Card> cards() const { return cards_; }
  std::span<const int> values() const { return values_; }  // card_value of each card
  std::span<const Token> formula() const { return formula_; }
  std::string formula_text() const { return cards::formula_text(formula_); }
  bool number_available(int value) const;
  bool over() const { return over_; }
  bool success() const { return success_; }

  // 300x300 on the card table's green: the cards side by side at the top, and
  // "Formula:" with the formula so far (wrapped) below them, white DejaVu Sans Bold.
  void render(render::Canvas& canvas) const;

 private:
  bool solvable(std::span<const int> values);

  PointsConfig config_;
  std::vector<std::string> action_names_;
  std::vector<Token> action_tokens_;
  std::vector<Card> cards_;
  std::vector<int> values_;
  std::vector<Token> formula_;
  bool over_ = true;
  bool success_ = false;
  // Whether a hand (its sorted values, base 11) has a solution; filled as hands come.
  std::unordered_map<std::uint64_t, bool> solvable_cache_;
};

}  // namespace subtb::cards

#include "envs/cards/points.h"

#include <algorithm>
#include <array>

#include "envs/cards/card_art.h"
#include "envs/cards/points_solver.h"
#include "envs/cards/rng.h"
#include "envs/render/font.h"
#include "tensor/error.h"

namespace subtb::cards {

PointsConfig ezpoints_config() { return {"ezpoints", 2, 12, {Token::plus, Token::times}, 5, true}; }

PointsConfig points24_config() {
  return {"points24", 4, 24, {Token::plus, Token::minus, Token::times, Token::divide, Token::open}, 20, true};
}

PointsGame::PointsGame(PointsConfig config) : config_(std::move(config)) {
  SUBTB_CHECK(config_.num_cards >= 1 && config_.num_cards <= 6, "PointsGame(", config_.name, "): ",
              config_.num_cards, " cards; 1 to 6 are supported");
  SUBTB_CHECK(config_.max_formula_length >= 2 * config_.num_cards - 1, "PointsGame(", config_.name,
              "): max_formula_length ", config_.max_formula_length, " is too short for ", config_.num_cards,
              " cards");
  for (int v = 1; v <= 10; ++v) {
    action_names_.push_back(std::to_string(v));
    action_tokens_.push_back(number_token(v));
  }
  for (Token::Kind op : config_.operators) {
    SUBTB_CHECK(op != Token::number && op != Token::close, "PointsGame(", config_.name,
                "): operators list binary operators and Token::open");
    action_tokens_.push_back(operator_token(op));
    if (op == Token::open) action_tokens_.push_back(operator_token(Token::close));
  }
  for (std::size_t i = action_names_.size(); i < action_tokens_.size(); ++i) {
    action_names_.push_back(token_text(action_tokens_[i]));
  }
  action_names_.push_back("=");
}

Token PointsGame::action_token(int action) const {
  SUBTB_CHECK(action >= 0 && action < equals_action(), "PointsGame::action_token: action ", action,
              " is not a number or operator (0..", equals_action() - 1, ")");
  return action_tokens_[static_cast<std::size_t>(action)];
}

bool PointsGame::solvable(std::span<const int> values) {
  std::vector<int> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  std::uint64_t key = 0;
  for (int v : sorted) key = key * 11 + static_cast<std::uint64_t>(v);
  if (auto it = solvable_cache_.find(key); it != solvable_cache_.end()) return it->second;
  const bool any = !solve_points(values, config_.target, config_.operators).empty();
  solvable_cache_.emplace(key, any);
  return any;
}

void PointsGame::reset(std::uint64_t seed) {
  Rng rng(seed);
  std::array<Card, 52> deck;
  do {
    for (int i = 0; i < 52; ++i) deck[i] = {static_cast<std::uint8_t>(1 + i % 13), static_cast<Suit>(i / 13)};
    cards_.clear();
    values_.clear();
    // The first num_cards steps of a Fisher-Yates shuffle deal without replacement.
    for (int i = 0; i < config_.num_cards; ++i) {
      std::swap(deck[i], deck[i + static_cast<int>(rng.below(static_cast<std::uint32_t>(52 - i)))]);
      cards_.push_back(deck[i]);
      values_.push_back(card_value(deck[i]));
    }
  } while (config_.solvable_only && !solvable(values_));
  formula_.clear();
  over_ = false;
  success_ = false;
}

bool PointsGame::number_available(int value) const {
  const auto shown = std::count(values_.begin(), values_.end(), value);
  const auto used = std::count(formula_.begin(), formula_.end(), number_token(value));
  return used < shown;
}

GameStep PointsGame::step(int action) {
  SUBTB_CHECK(!over_, "PointsGame(", config_.name, ")::step: the episode is over; call reset");
  SUBTB_CHECK(action >= 0 && action <= equals_action(), "PointsGame(", config_.name, ")::step: action ", action,
              " is not in 0..", equals_action());
  if (action == equals_action()) {
    const std::optional<Rational> value = evaluate(formula_);
    const auto numbers = std::count_if(formula_.begin(), formula_.end(),
                                       [](Token t) { return t.kind == Token::number; });
    success_ = value == Rational{config_.target, 1} && numbers == config_.num_cards;
    over_ = true;
    return {static_cast<double>(success_ ? success_reward : invalid_reward), true, false};
  }
  const Token token = action_tokens_[static_cast<std::size_t>(action)];
  if (token.kind == Token::number && !number_available(token.value)) return {invalid_reward, false, false};
  formula_.push_back(token);
  if (static_cast<int>(formula_.size()) <= config_.max_formula_length) return {};
  over_ = true;
  return {invalid_reward, false, true};
}

void PointsGame::render(render::Canvas& canvas) const {
  const render::Font& font = render::Font::dejavu_sans_bold();
  canvas.reset(image_size, image_size, render::hex(0x35654d));
  constexpr int gap = 4, top = 20;
  const int n = static_cast<int>(cards_.size());
  const int row = n * card_width + (n - 1) * gap;
  for (int i = 0; i < n; ++i) {
    draw_card(canvas, cards_[static_cast<std::size_t>(i)], (image_size - row) / 2 + i * (card_width + gap), top);
  }

  constexpr int text_size = 24, left = 10, max_width = image_size - 2 * left;
  font.draw(canvas, "Formula:", left, 140, text_size, render::colors::white);
  // Wrap between tokens so a long formula stays inside the image.
  int y = 140 + font.line_height(text_size);
  std::string line;
  for (Token t : formula_) {
    const std::string next = line + token_text(t);
    if (!line.empty() && font.text_width(next, text_size) > max_width) {
      font.draw(canvas, line, left, y, text_size, render::colors::white);
      y += font.line_height(text_size);
      line = token_text(t);
    } else {
      line = next;
    }
  }
  font.draw(canvas, line, left, y, text_size, render::colors::white);
}

}  // namespace subtb::cards

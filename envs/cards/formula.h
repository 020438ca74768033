#pragma once
// Arithmetic formulas of the EZPoints and Points24 games: tokens, exact rational
// evaluation and text.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace subtb::cards {

struct Token {
  enum Kind : std::uint8_t { number, plus, minus, times, divide, open, close };
  Kind kind = number;
  std::uint8_t value = 0;  // for numbers: 1..10
  friend bool operator==(const Token&, const Token&) = default;
  friend auto operator<=>(const Token&, const Token&) = default;
};

inline Token number_token(int value) { return {Token::number, static_cast<std::uint8_t>(value)}; }
inline Token operator_token(Token::Kind kind) { return {kind, 0}; }

// "7", "+", "-", "*", "/", "(", ")".
std::string token_text(Token token);
// The tokens written out without spaces, e.g. "(10-4)*4".
std::string formula_text(std::span<const Token> formula);

struct Rational {
  std::int64_t num = 0;
  std::int64_t den = 1;  // > 0, gcd(num, den) = 1
  friend bool operator==(const Rational&, const Rational&) = default;
};

// a op b for a binary operator; empty on division by zero or 64-bit overflow.
std::optional<Rational> apply(Token::Kind op, Rational a, Rational b);

// The value of a complete formula under the usual precedence (* and / before + and -,
// left to right, parentheses first), computed exactly. Empty when the formula is not
// well formed (e.g. "3+", "(4", "34" as two adjacent numbers, "2(3)"), divides by zero,
// or leaves the 64-bit range.
std::optional<Rational> evaluate(std::span<const Token> formula);

}  // namespace subtb::cards

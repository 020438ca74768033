#include "envs/cards/formula.h"

#include <limits>
#include <utility>

#include "tensor/error.h"

namespace subtb::cards {
namespace {

std::optional<Rational> make_rational(__int128 num, __int128 den) {
  if (den == 0) return std::nullopt;
  if (den < 0) num = -num, den = -den;
  __int128 a = num < 0 ? -num : num, b = den;
  while (b != 0) a = std::exchange(b, a % b);
  num /= a;  // a = gcd > 0 because den != 0
  den /= a;
  constexpr __int128 limit = std::numeric_limits<std::int64_t>::max();
  if (num > limit || num < -limit || den > limit) return std::nullopt;
  return Rational{static_cast<std::int64_t>(num), static_cast<std::int64_t>(den)};
}

}  // namespace

std::optional<Rational> apply(Token::Kind op, Rational a, Rational b) {
  const __int128 an = a.num, ad = a.den, bn = b.num, bd = b.den;
  switch (op) {
    case Token::plus: return make_rational(an * bd + bn * ad, ad * bd);
    case Token::minus: return make_rational(an * bd - bn * ad, ad * bd);
    case Token::times: return make_rational(an * bn, ad * bd);
    case Token::divide: return make_rational(an * bd, ad * bn);
    default: return std::nullopt;
  }
}

namespace {

// Recursive descent over: expr := term (("+" | "-") term)*;
// term := factor (("*" | "/") factor)*; factor := number | "(" expr ")".
class Parser {
 public:
  explicit Parser(std::span<const Token> tokens) : tokens_(tokens) {}

  std::optional<Rational> formula() {
    std::optional<Rational> value = expr();
    if (pos_ != tokens_.size()) return std::nullopt;
    return value;
  }

 private:
  bool at(Token::Kind kind) const { return pos_ < tokens_.size() && tokens_[pos_].kind == kind; }

  std::optional<Rational> expr() {
    std::optional<Rational> value = term();
    while (value && (at(Token::plus) || at(Token::minus))) {
      const Token::Kind op = tokens_[pos_++].kind;
      const std::optional<Rational> rhs = term();
      value = rhs ? apply(op, *value, *rhs) : std::nullopt;
    }
    return value;
  }

  std::optional<Rational> term() {
    std::optional<Rational> value = factor();
    while (value && (at(Token::times) || at(Token::divide))) {
      const Token::Kind op = tokens_[pos_++].kind;
      const std::optional<Rational> rhs = factor();
      value = rhs ? apply(op, *value, *rhs) : std::nullopt;
    }
    return value;
  }

  std::optional<Rational> factor() {
    if (at(Token::number)) return Rational{tokens_[pos_++].value, 1};
    if (!at(Token::open)) return std::nullopt;
    ++pos_;
    std::optional<Rational> value = expr();
    if (!value || !at(Token::close)) return std::nullopt;
    ++pos_;
    return value;
  }

  std::span<const Token> tokens_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string token_text(Token token) {
  switch (token.kind) {
    case Token::number: return std::to_string(token.value);
    case Token::plus: return "+";
    case Token::minus: return "-";
    case Token::times: return "*";
    case Token::divide: return "/";
    case Token::open: return "(";
    case Token::close: return ")";
  }
  SUBTB_THROW("token_text: invalid token kind ", static_cast<int>(token.kind));
}

std::string formula_text(std::span<const Token> formula) {
  std::string out;
  for (Token t : formula) out += token_text(t);
  return out;
}

std::optional<Rational> evaluate(std::span<const Token> formula) { return Parser(formula).formula(); }

}  // namespace subtb::cards

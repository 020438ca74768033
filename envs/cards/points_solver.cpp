#include "envs/cards/points_solver.h"

#include <algorithm>
#include <map>

#include "tensor/error.h"

namespace subtb::cards {
namespace {

struct Expr {
  Rational value;
  std::vector<Token> tokens;
  int precedence;  // 3: a number or parenthesised; 2: a product or quotient; 1: a sum or difference
};

int precedence_of(Token::Kind op) { return op == Token::plus || op == Token::minus ? 1 : 2; }

void append(std::vector<Token>& out, const Expr& e, bool parenthesise) {
  if (parenthesise) out.push_back(operator_token(Token::open));
  out.insert(out.end(), e.tokens.begin(), e.tokens.end());
  if (parenthesise) out.push_back(operator_token(Token::close));
}

class Solver {
 public:
  Solver(std::span<const int> values, std::span<const Token::Kind> operators) : values_(values) {
    for (Token::Kind op : operators) {
      if (op == Token::open) {
        parentheses_ = true;
      } else {
        SUBTB_CHECK(op != Token::number && op != Token::close, "solve_points: '", token_text(operator_token(op)),
                    "' is not a binary operator");
        binary_.push_back(op);
      }
    }
  }

  // Every expression using exactly the cards in `mask`, each once, in any order and shape.
  const std::vector<Expr>& expressions(unsigned mask) {
    if (auto it = memo_.find(mask); it != memo_.end()) return it->second;
    std::vector<Expr> out;
    if ((mask & (mask - 1)) == 0) {
      const int value = values_[static_cast<std::size_t>(__builtin_ctz(mask))];
      out.push_back({Rational{value, 1}, {number_token(value)}, 3});
    } else {
      // Every ordered split into two non-empty parts.
      for (unsigned left = (mask - 1) & mask; left != 0; left = (left - 1) & mask) {
        const std::vector<Expr>& lhs = expressions(left);  // std::map entries never move
        const std::vector<Expr>& rhs = expressions(mask & ~left);
        for (const Expr& a : lhs) {
          for (const Expr& b : rhs) {
            for (Token::Kind op : binary_) combine(op, a, b, out);
          }
        }
      }
    }
    return memo_.emplace(mask, std::move(out)).first->second;
  }

 private:
  void combine(Token::Kind op, const Expr& a, const Expr& b, std::vector<Expr>& out) const {
    const std::optional<Rational> value = apply(op, a.value, b.value);
    if (!value) return;
    const int p = precedence_of(op);
    // Left to right evaluation: the right operand needs parentheses also at equal
    // precedence under - and /, since a-(b-c) != a-b-c.
    const bool wrap_left = a.precedence < p;
    const bool wrap_right = b.precedence < p || (b.precedence == p && (op == Token::minus || op == Token::divide));
    if ((wrap_left || wrap_right) && !parentheses_) return;
    Expr e{*value, {}, p};
    e.tokens.reserve(a.tokens.size() + b.tokens.size() + 5);
    append(e.tokens, a, wrap_left);
    e.tokens.push_back(operator_token(op));
    append(e.tokens, b, wrap_right);
    out.push_back(std::move(e));
  }

  std::span<const int> values_;
  std::vector<Token::Kind> binary_;
  bool parentheses_ = false;
  std::map<unsigned, std::vector<Expr>> memo_;
};

}  // namespace

std::vector<std::vector<Token>> solve_points(std::span<const int> values, int target,
                                             std::span<const Token::Kind> operators) {
  SUBTB_CHECK(!values.empty() && values.size() <= 6, "solve_points: ", values.size(),
              " cards; the solver takes 1 to 6");
  Solver solver(values, operators);
  std::vector<std::vector<Token>> solutions;
  for (const Expr& e : solver.expressions((1u << values.size()) - 1)) {
    if (e.value == Rational{target, 1}) solutions.push_back(e.tokens);
  }
  std::sort(solutions.begin(), solutions.end(), [](const auto& a, const auto& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  solutions.erase(std::unique(solutions.begin(), solutions.end()), solutions.end());
  return solutions;
}

}  // namespace subtb::cards

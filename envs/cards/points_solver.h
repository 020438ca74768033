#pragma once
// Solver for the arithmetic card games: every formula that uses each card value once,
// only the allowed operators, and evaluates to the target.
#include <span>
#include <vector>

#include "envs/cards/formula.h"

namespace subtb::cards {

// `operators` lists the allowed binary operators and, when parentheses are allowed,
// Token::open. Solutions come shortest first (fewest parentheses), ties in token order,
// without duplicates. Parentheses are written only where precedence needs them.
std::vector<std::vector<Token>> solve_points(std::span<const int> values, int target,
                                             std::span<const Token::Kind> operators);

}  // namespace subtb::cards

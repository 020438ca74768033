#include "envs/gfn/hypergrid.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "envs/gfn/log_space.h"
#include "tensor/error.h"

namespace subtb::gfn {

namespace {

constexpr std::int64_t index_limit = std::int64_t{1} << 62;

// base^exponent, or -1 beyond index_limit.
std::int64_t checked_pow(std::int64_t base, int exponent) {
  std::int64_t result = 1;
  for (int i = 0; i < exponent; ++i) {
    if (base != 0 && result > index_limit / base) return -1;
    result *= base;
  }
  return result;
}

// Mixed radix over coordinates, the first one most significant (the 2021 code's order).
std::int64_t radix_index(const std::int32_t* x, int dim, std::int64_t radix, int skip = -1) {
  std::int64_t index = 0;
  for (int d = 0; d < dim; ++d) {
    if (d != skip) index = index * radix + x[d];
  }
  return index;
}

void radix_state(std::int64_t index, std::int32_t* x, int dim, std::int64_t radix, int skip = -1) {
  for (int d = dim - 1; d >= 0; --d) {
    if (d == skip) continue;
    x[d] = static_cast<std::int32_t>(index % radix);
    index /= radix;
  }
}

HyperGridConfig checked(HyperGridConfig c) {
  SUBTB_CHECK(c.dim >= 1 && c.height >= 2, "HyperGrid: needs D >= 1 and H >= 2, got D = ", c.dim, ", H = ", c.height);
  SUBTB_CHECK(c.r0 >= 0 && c.r1 >= 0 && c.r2 >= 0 && c.r0 + c.r1 + c.r2 > 0,
              "HyperGrid: rewards R0, R1, R2 must be >= 0 and not all 0, got ", c.r0, ", ", c.r1, ", ", c.r2);
  return c;
}

double log_or_neg_inf(double v) { return v > 0 ? std::log(v) : neg_inf; }

}  // namespace

HyperGrid::HyperGrid(HyperGridConfig config)
    : DiscreteEnv(Dims{
          .state_dim = checked(config).dim + 1,
          .encoding_dim = config.dim * config.height,
          .num_actions = config.dim + 1,
          .num_backward_actions = config.dim + 1,
          .exit_action = config.dim,
          .max_trajectory_length = config.mdp == HyperGridMdp::torchgfn ? config.dim * (config.height - 1) + 1
                                                                        : config.dim * (config.height - 2) + 1,
      }),
      config_(config),
      edge_(config.height - 1),
      outer_(static_cast<std::size_t>(config.height)),
      inner_(static_cast<std::size_t>(config.height)),
      mode_digit_(static_cast<std::size_t>(config.height), -1) {
  // |i/(H-1) - 1/2| = |2i - (H-1)| / (2(H-1)); the bands compare it with 1/4, 3/10, 4/10.
  for (int i = 0; i < config.height; ++i) {
    const std::int64_t dev = std::abs(2 * i - edge_);
    outer_[static_cast<std::size_t>(i)] = 2 * dev > edge_;
    inner_[static_cast<std::size_t>(i)] = 5 * dev > 3 * edge_ && 5 * dev < 4 * edge_;
    if (inner_[static_cast<std::size_t>(i)]) {
      mode_digit_[static_cast<std::size_t>(i)] = static_cast<int>(mode_coordinates_.size());
      mode_coordinates_.push_back(i);
    }
  }
  for (int band = 0; band < 4; ++band) {
    log_reward_by_band_[band] = log_or_neg_inf(config.r0 + ((band & 1) ? config.r1 : 0.0) + ((band & 2) ? config.r2 : 0.0));
  }
}

std::string HyperGrid::name() const {
  return str("HyperGrid(D=", config_.dim, ", H=", config_.height, ", R0=", config_.r0,
             original() ? ", 2021 MDP)" : ")");
}

std::int64_t HyperGrid::num_modes() const {
  return checked_pow(static_cast<std::int64_t>(mode_coordinates_.size()), config_.dim);
}

double HyperGrid::point_log_reward(const std::int32_t* x) const {
  bool all_outer = true, all_inner = true;
  for (int d = 0; d < config_.dim; ++d) {
    all_outer &= outer_[static_cast<std::size_t>(x[d])] != 0;
    all_inner &= inner_[static_cast<std::size_t>(x[d])] != 0;
  }
  return log_reward_by_band_[static_cast<int>(all_outer) + 2 * static_cast<int>(all_inner)];
}

// ---- dynamics

void HyperGrid::reset_rows(std::int32_t* states, std::int64_t batch) const {
  std::fill_n(states, batch * state_dim(), 0);
}

void HyperGrid::forward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const {
  const int dim = config_.dim, width = state_dim(), actions = num_actions();
  for (std::int64_t row = 0; row < batch; ++row, states += width, masks += actions) {
    const bool done = states[dim] != 0;
    for (int d = 0; d < dim; ++d) masks[d] = !done && states[d] < edge_;
    masks[dim] = !done;
  }
}

void HyperGrid::step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const {
  const int dim = config_.dim, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row) {  // all rows are checked before any moves
    const std::int32_t a = actions[row];
    const std::int32_t* s = states + row * width;
    if (a != no_action && (a < 0 || a > dim || s[dim] != 0 || (a < dim && s[a] >= edge_))) {
      invalid_action("step", row, a);
    }
  }
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    const std::int32_t a = actions[row];
    if (a == no_action) continue;
    if (a == dim) {
      states[dim] = 1;
    } else if (++states[a] == edge_ && original()) {
      states[dim] = 1;
    }
  }
}

bool HyperGrid::backward_allowed(const std::int32_t* x, std::int32_t a) const {
  const int dim = config_.dim;
  if (x[dim] == 0) return a < dim && x[a] > 0;  // non-terminal: any decrement
  if (!original()) return a == dim;             // terminal: undo the exit
  // 2021 terminal: exited if no coordinate sits at the edge; otherwise the parent must be
  // non-terminal, which only decrementing the single edge coordinate gives.
  int at_edge = 0, edge_coordinate = -1;
  for (int d = 0; d < dim; ++d) {
    if (x[d] == edge_) {
      ++at_edge;
      edge_coordinate = d;
    }
  }
  if (at_edge == 0) return a == dim;
  return at_edge == 1 && a == edge_coordinate;
}

void HyperGrid::backward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const {
  const int width = state_dim(), actions = num_backward_actions();
  for (std::int64_t row = 0; row < batch; ++row, states += width, masks += actions) {
    for (int a = 0; a < actions; ++a) masks[a] = backward_allowed(states, a);
  }
}

void HyperGrid::backward_step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const {
  const int dim = config_.dim, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row) {
    const std::int32_t a = actions[row];
    if (a != no_action && (a < 0 || a > dim || !backward_allowed(states + row * width, a))) {
      invalid_action("backward_step", row, a);
    }
  }
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    const std::int32_t a = actions[row];
    if (a == no_action) continue;
    if (a < dim) --states[a];
    states[dim] = 0;
  }
}

void HyperGrid::terminal_rows(const std::int32_t* states, std::int64_t batch, bool* out) const {
  const int dim = config_.dim, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row) out[row] = states[row * width + dim] != 0;
}

void HyperGrid::log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const {
  const int dim = config_.dim, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    SUBTB_CHECK(states[dim] != 0, name(), " log_reward: row ", row, " is not terminal");
    out[row] = point_log_reward(states);
  }
}

void HyperGrid::state_log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const {
  const int width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width) out[row] = point_log_reward(states);
}

// One-hot per coordinate, [D, H] (torchgfn's KHot and the 2021 code's encoding).
void HyperGrid::encode_rows(const std::int32_t* states, std::int64_t batch, float* out) const {
  const int dim = config_.dim, height = config_.height, width = state_dim();
  std::fill_n(out, batch * encoding_dim(), 0.0f);
  for (std::int64_t row = 0; row < batch; ++row, states += width, out += encoding_dim()) {
    for (int d = 0; d < dim; ++d) out[d * height + states[d]] = 1.0f;
  }
}

void HyperGrid::mode_id_rows(const std::int32_t* states, std::int64_t batch, std::int64_t* out) const {
  const int dim = config_.dim, width = state_dim();
  const std::int64_t radix = static_cast<std::int64_t>(mode_coordinates_.size());
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    std::int64_t id = 0;
    for (int d = 0; d < dim && id >= 0; ++d) {
      const int digit = mode_digit_[static_cast<std::size_t>(states[d])];
      id = digit < 0 ? -1 : id * radix + digit;
    }
    out[row] = id;
  }
}

std::int32_t HyperGrid::forward_action_of(const std::int32_t*, std::int32_t backward_action) const {
  return backward_action;  // decrement d undoes increment d; undoing the exit undoes the exit
}

// ---- enumeration
// torchgfn: every point is both a non-terminal state and (with done set) a terminal one,
// both numbered in radix H. 2021: the non-terminal states are the (H-1)^D interior
// points (radix H-1); the terminal ones are those interior points, exited, followed by
// D blocks of (H-1)^(D-1) boundary points, block d holding the points with x_d = H-1.

std::int64_t HyperGrid::num_terminal_states() const {
  if (!original()) return checked_pow(config_.height, config_.dim);
  const std::int64_t interior = checked_pow(edge_, config_.dim);
  const std::int64_t block = checked_pow(edge_, config_.dim - 1);
  if (interior < 0 || block < 0 || block > index_limit / config_.dim) return -1;
  return interior + config_.dim * block;
}

void HyperGrid::terminal_state(std::int64_t index, std::int32_t* state) const {
  const int dim = config_.dim;
  SUBTB_CHECK(index >= 0 && index < num_terminal_states(), name(), " terminal_state: index ", index,
              " out of range [0, ", num_terminal_states(), ")");
  state[dim] = 1;
  if (!original()) return radix_state(index, state, dim, config_.height);
  const std::int64_t interior = checked_pow(edge_, dim);
  if (index < interior) return radix_state(index, state, dim, edge_);
  const std::int64_t block = checked_pow(edge_, dim - 1);
  const int d = static_cast<int>((index - interior) / block);
  state[d] = edge_;
  radix_state((index - interior) % block, state, dim, edge_, d);
}

std::int64_t HyperGrid::terminal_index(const std::int32_t* state) const {
  const int dim = config_.dim;
  SUBTB_CHECK(state[dim] != 0, name(), " terminal_index: the state is not terminal");
  if (!original()) return radix_index(state, dim, config_.height);
  int edge_coordinate = -1;
  for (int d = 0; d < dim; ++d) {
    if (state[d] == edge_) {
      SUBTB_CHECK(edge_coordinate < 0, name(), " terminal_index: a point with two coordinates at H-1 is unreachable");
      edge_coordinate = d;
    }
  }
  if (edge_coordinate < 0) return radix_index(state, dim, edge_);
  return checked_pow(edge_, dim) + edge_coordinate * checked_pow(edge_, dim - 1) +
         radix_index(state, dim, edge_, edge_coordinate);
}

std::int64_t HyperGrid::num_nonterminal_states() const {
  return checked_pow(original() ? edge_ : config_.height, config_.dim);
}

void HyperGrid::nonterminal_state(std::int64_t index, std::int32_t* state) const {
  SUBTB_CHECK(index >= 0 && index < num_nonterminal_states(), name(), " nonterminal_state: index ", index,
              " out of range [0, ", num_nonterminal_states(), ")");
  radix_state(index, state, config_.dim, original() ? edge_ : config_.height);
  state[config_.dim] = 0;
}

std::int64_t HyperGrid::nonterminal_index(const std::int32_t* state) const {
  SUBTB_CHECK(state[config_.dim] == 0, name(), " nonterminal_index: the state is terminal");
  return radix_index(state, config_.dim, original() ? edge_ : config_.height);
}

// Each term c * prod_d f(x_d) sums to c * (sum_i f(i))^D over the whole grid (torchgfn);
// over the 2021 terminal set (at most one coordinate at H-1) to
// c * (S^D + D f(H-1) S^(D-1)) with S = sum_{i < H-1} f(i).
double HyperGrid::log_partition() const {
  const int dim = config_.dim;
  const auto log_term = [&](double weight, const std::vector<std::uint8_t>* band) {
    const auto f = [&](int i) { return band ? static_cast<double>((*band)[static_cast<std::size_t>(i)]) : 1.0; };
    double interior = 0.0;
    for (int i = 0; i < edge_; ++i) interior += f(i);
    if (!original()) return log_or_neg_inf(weight) + dim * log_or_neg_inf(interior + f(edge_));
    const double boundary = dim * f(edge_);
    if (interior == 0.0) return dim == 1 ? log_or_neg_inf(weight * boundary) : neg_inf;
    return log_or_neg_inf(weight) + (dim - 1) * std::log(interior) + std::log(interior + boundary);
  };
  const double terms[3] = {log_term(config_.r0, nullptr), log_term(config_.r1, &outer_), log_term(config_.r2, &inner_)};
  return log_sum_exp(terms);
}

}  // namespace subtb::gfn

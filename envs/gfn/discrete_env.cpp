#include "envs/gfn/discrete_env.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "envs/gfn/exact.h"
#include "tensor/error.h"

namespace subtb::gfn {

std::int64_t DiscreteEnv::rows_of(const char* call, std::size_t state_values) const {
  SUBTB_CHECK(state_values % static_cast<std::size_t>(state_dim()) == 0, name(), " ", call, ": ", state_values,
              " state values is not a whole number of states of ", state_dim());
  return static_cast<std::int64_t>(state_values / static_cast<std::size_t>(state_dim()));
}

namespace {

template <class T>
void check_out(const std::string& env, const char* call, const char* what, std::span<T> buffer, std::int64_t rows,
               std::int64_t per_row) {
  SUBTB_CHECK(static_cast<std::int64_t>(buffer.size()) == rows * per_row, env, " ", call, ": ", what, " holds ",
              buffer.size(), " values, expected [", rows, ", ", per_row, "]");
}

}  // namespace

void DiscreteEnv::reset(std::span<std::int32_t> states) const {
  reset_rows(states.data(), rows_of("reset", states.size()));
}

void DiscreteEnv::forward_masks(std::span<const std::int32_t> states, std::span<bool> masks) const {
  const std::int64_t rows = rows_of("forward_masks", states.size());
  check_out(name(), "forward_masks", "masks", masks, rows, num_actions());
  forward_mask_rows(states.data(), rows, masks.data());
}

void DiscreteEnv::step(std::span<std::int32_t> states, std::span<const std::int32_t> actions) const {
  const std::int64_t rows = rows_of("step", states.size());
  check_out(name(), "step", "actions", actions, rows, 1);
  step_rows(states.data(), actions.data(), rows);
}

void DiscreteEnv::backward_masks(std::span<const std::int32_t> states, std::span<bool> masks) const {
  const std::int64_t rows = rows_of("backward_masks", states.size());
  check_out(name(), "backward_masks", "masks", masks, rows, num_backward_actions());
  backward_mask_rows(states.data(), rows, masks.data());
}

void DiscreteEnv::backward_step(std::span<std::int32_t> states, std::span<const std::int32_t> actions) const {
  const std::int64_t rows = rows_of("backward_step", states.size());
  check_out(name(), "backward_step", "actions", actions, rows, 1);
  backward_step_rows(states.data(), actions.data(), rows);
}

void DiscreteEnv::is_terminal(std::span<const std::int32_t> states, std::span<bool> out) const {
  const std::int64_t rows = rows_of("is_terminal", states.size());
  check_out(name(), "is_terminal", "out", out, rows, 1);
  terminal_rows(states.data(), rows, out.data());
}

void DiscreteEnv::log_reward(std::span<const std::int32_t> states, std::span<double> out) const {
  const std::int64_t rows = rows_of("log_reward", states.size());
  check_out(name(), "log_reward", "out", out, rows, 1);
  log_reward_rows(states.data(), rows, out.data());
}

void DiscreteEnv::state_log_reward(std::span<const std::int32_t> states, std::span<double> out) const {
  const std::int64_t rows = rows_of("state_log_reward", states.size());
  check_out(name(), "state_log_reward", "out", out, rows, 1);
  state_log_reward_rows(states.data(), rows, out.data());
}

void DiscreteEnv::state_log_reward_rows(const std::int32_t*, std::int64_t, double*) const {
  SUBTB_THROW(name(), " state_log_reward: this environment has no reward on non-terminal states");
}

void DiscreteEnv::encode(std::span<const std::int32_t> states, std::span<float> out) const {
  const std::int64_t rows = rows_of("encode", states.size());
  check_out(name(), "encode", "out", out, rows, encoding_dim());
  encode_rows(states.data(), rows, out.data());
}

void DiscreteEnv::mode_ids(std::span<const std::int32_t> states, std::span<std::int64_t> out) const {
  const std::int64_t rows = rows_of("mode_ids", states.size());
  check_out(name(), "mode_ids", "out", out, rows, 1);
  mode_id_rows(states.data(), rows, out.data());
}

void DiscreteEnv::mode_id_rows(const std::int32_t*, std::int64_t, std::int64_t*) const {
  SUBTB_THROW(name(), " mode_ids: this environment has no modes");
}

// Parents come from the backward masks and backward steps, so they agree with backward
// sampling by construction; forward_action_of names the edge.
void DiscreteEnv::parents(std::span<const std::int32_t> states, ParentList& out) const {
  const std::int64_t rows = rows_of("parents", states.size());
  const int dim = state_dim();
  const int num_backward = num_backward_actions();
  std::unique_ptr<bool[]> mask(new bool[static_cast<std::size_t>(num_backward)]);
  out.states.clear();
  out.actions.clear();
  out.offsets.assign(1, 0);
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int32_t* state = states.data() + row * dim;
    backward_mask_rows(state, 1, mask.get());
    for (std::int32_t a = 0; a < num_backward; ++a) {
      if (!mask[static_cast<std::size_t>(a)]) continue;
      const std::size_t at = out.states.size();
      out.states.insert(out.states.end(), state, state + dim);
      backward_step_rows(out.states.data() + at, &a, 1);
      out.actions.push_back(forward_action_of(state, a));
    }
    out.offsets.push_back(static_cast<std::int64_t>(out.actions.size()));
  }
}

// The backward action must name this very edge: it maps back to the forward action and
// its backward step lands on the parent (two parents may share a forward action id).
void DiscreteEnv::undo_actions(std::span<const std::int32_t> parents, std::span<const std::int32_t> children,
                               std::span<const std::int32_t> actions, std::span<std::int32_t> out) const {
  const std::int64_t rows = rows_of("undo_actions", children.size());
  check_out(name(), "undo_actions", "parents", parents, rows, state_dim());
  check_out(name(), "undo_actions", "actions", actions, rows, 1);
  check_out(name(), "undo_actions", "out", out, rows, 1);
  const int dim = state_dim();
  const int num_backward = num_backward_actions();
  std::unique_ptr<bool[]> mask(new bool[static_cast<std::size_t>(num_backward)]);
  std::vector<std::int32_t> candidate(static_cast<std::size_t>(dim));
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int32_t* parent = parents.data() + row * dim;
    const std::int32_t* child = children.data() + row * dim;
    const std::int32_t action = actions[static_cast<std::size_t>(row)];
    std::int32_t found = no_action;
    if (action != no_action) {
      backward_mask_rows(child, 1, mask.get());
      for (std::int32_t b = 0; b < num_backward && found == no_action; ++b) {
        if (!mask[static_cast<std::size_t>(b)] || forward_action_of(child, b) != action) continue;
        candidate.assign(child, child + dim);
        backward_step_rows(candidate.data(), &b, 1);
        if (std::equal(candidate.begin(), candidate.end(), parent)) found = b;
      }
      if (found == no_action) invalid_action("undo_actions", row, action);
    }
    out[static_cast<std::size_t>(row)] = found;
  }
}

void DiscreteEnv::invalid_action(const char* call, std::int64_t row, std::int32_t action) const {
  SUBTB_THROW(name(), " ", call, ": action ", action, " is not allowed in row ", row);
}

void DiscreteEnv::terminal_state(std::int64_t, std::int32_t*) const {
  SUBTB_THROW(name(), " terminal_state: the terminal states are not enumerable");
}

std::int64_t DiscreteEnv::terminal_index(const std::int32_t*) const {
  SUBTB_THROW(name(), " terminal_index: the terminal states are not enumerable");
}

void DiscreteEnv::nonterminal_state(std::int64_t, std::int32_t*) const {
  SUBTB_THROW(name(), " nonterminal_state: the non-terminal states are not enumerable");
}

std::int64_t DiscreteEnv::nonterminal_index(const std::int32_t*) const {
  SUBTB_THROW(name(), " nonterminal_index: the non-terminal states are not enumerable");
}

double DiscreteEnv::log_partition() const { return log_partition_by_enumeration(*this); }

}  // namespace subtb::gfn

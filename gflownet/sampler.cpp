#include "gflownet/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <span>

#include "autograd/grad_mode.h"
#include "gflownet/objectives.h"
#include "tensor/ops.h"

namespace subtb::gflownet {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A host bool buffer the environments can write ([rows, cols]) and tensors can copy.
class BoolBuffer {
 public:
  BoolBuffer(int64_t rows, int64_t cols)
      : rows_(rows), cols_(cols), data_(new bool[static_cast<size_t>(rows * cols)]) {}
  std::span<bool> span() { return {data_.get(), static_cast<size_t>(rows_ * cols_)}; }
  const bool* row(int64_t r) const { return data_.get() + r * cols_; }
  Tensor tensor(const Shape& shape) const { return from_buffer(data_.get(), shape, DType::b8); }

 private:
  int64_t rows_, cols_;
  std::unique_ptr<bool[]> data_;
};

Tensor encode(const gfn::DiscreteEnv& env, std::span<const std::int32_t> states, int64_t rows) {
  std::vector<float> encoded(static_cast<size_t>(rows * env.encoding_dim()));
  env.encode(states, encoded);
  return from_vector<float>(encoded, Shape{rows, env.encoding_dim()});
}

// Draws one action of a row from its logits: softmax(logits / T) over the valid actions,
// mixed with the uniform distribution over them, by inverting the CDF at u. `probs` is
// scratch, reused across rows.
std::int32_t draw_action(const float* logits, const bool* valid, int num_actions, const SamplerOptions& options,
                         double u, std::vector<double>& probs) {
  double max_logit = -kInf;
  int num_valid = 0;
  for (int a = 0; a < num_actions; ++a) {
    if (!valid[a]) continue;
    ++num_valid;
    max_logit = std::max(max_logit, logits[a] / options.temperature);
  }
  double total = 0.0;
  probs.assign(static_cast<size_t>(num_actions), 0.0);
  for (int a = 0; a < num_actions; ++a) {
    if (valid[a]) total += probs[static_cast<size_t>(a)] = std::exp(logits[a] / options.temperature - max_logit);
  }
  std::int32_t last_valid = gfn::DiscreteEnv::no_action;
  double cumulative = 0.0;
  for (int a = 0; a < num_actions; ++a) {
    if (!valid[a]) continue;
    last_valid = a;
    cumulative += (1.0 - options.epsilon) * probs[static_cast<size_t>(a)] / total + options.epsilon / num_valid;
    if (u < cumulative) return a;
  }
  return last_valid;  // u beyond a cumulative sum that rounded below 1
}

// Action ids for gather: padding steps (no_action) read action 0, finite values the
// objectives ignore.
std::vector<int64_t> padding_to_zero(std::vector<int64_t> actions) {
  for (int64_t& a : actions) a = std::max<int64_t>(a, 0);
  return actions;
}

// Pads per-step [B, S] states and [B] actions into the row-major layout of SampledTrajectories.
SampledTrajectories assemble(const std::vector<std::vector<std::int32_t>>& states_by_step,
                             const std::vector<std::vector<std::int32_t>>& actions_by_step,
                             std::vector<int64_t> lengths, int S) {
  SampledTrajectories out;
  out.batch = static_cast<int64_t>(lengths.size());
  out.max_length = static_cast<int64_t>(actions_by_step.size());
  out.state_dim = S;
  out.lengths = std::move(lengths);
  const int64_t B = out.batch, L = out.max_length;
  out.states.resize(static_cast<size_t>(B * (L + 1) * S));
  out.actions.assign(static_cast<size_t>(B * L), gfn::DiscreteEnv::no_action);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t <= L; ++t) {
      const auto& step_states = states_by_step[static_cast<size_t>(t)];
      std::copy_n(step_states.begin() + b * S, S, out.states.begin() + (b * (L + 1) + t) * S);
      if (t < L)
        out.actions[static_cast<size_t>(b * L + t)] = actions_by_step[static_cast<size_t>(t)][static_cast<size_t>(b)];
    }
  }
  return out;
}

}  // namespace

std::vector<std::int32_t> SampledTrajectories::terminal_states() const {
  std::vector<std::int32_t> out;
  out.reserve(static_cast<size_t>(batch * state_dim));
  for (int64_t b = 0; b < batch; ++b) {
    const std::int32_t* s = state(b, lengths[static_cast<size_t>(b)]);
    out.insert(out.end(), s, s + state_dim);
  }
  return out;
}

SampledTrajectories sample_trajectories(const gfn::DiscreteEnv& env, Policy& policy, int64_t batch,
                                        const SamplerOptions& options, Generator& gen) {
  SUBTB_CHECK(batch > 0, "sample_trajectories: batch must be positive, got ", batch);
  SUBTB_CHECK(options.epsilon >= 0.0 && options.epsilon <= 1.0 && options.temperature > 0.0,
              "sample_trajectories: need epsilon in [0, 1] and temperature > 0, got epsilon ", options.epsilon,
              ", temperature ", options.temperature);
  NoGradGuard no_grad;
  const int S = env.state_dim(), A = env.num_actions();
  std::vector<std::int32_t> current(static_cast<size_t>(batch * S));
  env.reset(current);
  std::vector<std::vector<std::int32_t>> states_by_step{current};  // [L + 1][B, S]
  std::vector<std::vector<std::int32_t>> actions_by_step;          // [L][B]
  std::vector<int64_t> lengths(static_cast<size_t>(batch), -1);    // -1 while running
  BoolBuffer terminal(batch, 1);
  std::vector<std::int64_t> running;
  std::vector<std::int32_t> running_states;
  std::vector<double> probs;

  for (int64_t t = 0;; ++t) {
    env.is_terminal(current, terminal.span());
    running.clear();
    running_states.clear();
    for (int64_t b = 0; b < batch; ++b) {
      if (lengths[static_cast<size_t>(b)] >= 0) continue;
      if (*terminal.row(b)) {
        lengths[static_cast<size_t>(b)] = t;
        continue;
      }
      running.push_back(b);
      running_states.insert(running_states.end(), current.begin() + b * S, current.begin() + (b + 1) * S);
    }
    if (running.empty()) break;
    SUBTB_CHECK(t < env.max_trajectory_length(), "sample_trajectories: ", env.name(), " trajectories ran past ",
                env.max_trajectory_length(), " steps");
    const int64_t n = static_cast<int64_t>(running.size());
    const std::vector<float> logits =
        policy.forward(encode(env, running_states, n)).forward_logits.contiguous().to_vector<float>();
    BoolBuffer valid(n, A);
    env.forward_masks(running_states, valid.span());
    // B uniforms per step whichever rows still run: the stream does not depend on the policy.
    const std::vector<double> u = rand({batch}, DType::f64, kCPU, &gen).to_vector<double>();
    std::vector<std::int32_t> actions(static_cast<size_t>(batch), gfn::DiscreteEnv::no_action);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = running[static_cast<size_t>(i)];
      const std::int32_t a =
          draw_action(logits.data() + i * A, valid.row(i), A, options, u[static_cast<size_t>(b)], probs);
      SUBTB_CHECK(a != gfn::DiscreteEnv::no_action, "sample_trajectories: ", env.name(),
                  " offers no action in a non-terminal state (row ", b, ", step ", t, ")");
      actions[static_cast<size_t>(b)] = a;
    }
    env.step(current, actions);
    actions_by_step.push_back(std::move(actions));
    states_by_step.push_back(current);
  }

  SampledTrajectories out = assemble(states_by_step, actions_by_step, std::move(lengths), S);
  out.log_rewards.resize(static_cast<size_t>(batch));
  env.log_reward(out.terminal_states(), out.log_rewards);
  return out;
}

SampledTrajectories sample_backward_trajectories(const gfn::DiscreteEnv& env, Policy& policy,
                                                 std::span<const std::int32_t> terminal_states, Generator& gen) {
  const int S = env.state_dim(), Ab = env.num_backward_actions();
  SUBTB_CHECK(terminal_states.size() % static_cast<size_t>(S) == 0,
              "sample_backward_trajectories: ", terminal_states.size(), " values is not a whole number of ", env.name(),
              " states of ", S);
  const int64_t batch = static_cast<int64_t>(terminal_states.size()) / S;
  SUBTB_CHECK(batch > 0, "sample_backward_trajectories: no terminal states given");
  {
    BoolBuffer terminal(batch, 1);
    env.is_terminal(terminal_states, terminal.span());
    for (int64_t b = 0; b < batch; ++b) {
      SUBTB_CHECK(*terminal.row(b), "sample_backward_trajectories: row ", b, " is not a terminal state of ",
                  env.name());
    }
  }
  NoGradGuard no_grad;
  const bool learned = policy.config().backward == BackwardPolicy::learned;
  std::vector<std::int32_t> current(terminal_states.begin(), terminal_states.end());
  std::vector<std::vector<std::int32_t>> states_by_step{current};  // backwards: x, ..., s_0
  std::vector<std::vector<std::int32_t>> actions_by_step;          // forward actions undone at each step
  std::vector<int64_t> lengths(static_cast<size_t>(batch), -1);    // -1 while running
  BoolBuffer masks(batch, Ab);
  std::vector<float> uniform_logits(static_cast<size_t>(batch * Ab), 0.0f);
  gfn::ParentList parents;
  std::vector<std::int64_t> running;
  std::vector<std::int32_t> running_states;
  std::vector<double> probs;

  for (int64_t t = 0;; ++t) {
    env.backward_masks(current, masks.span());
    running.clear();
    running_states.clear();
    for (int64_t b = 0; b < batch; ++b) {
      if (lengths[static_cast<size_t>(b)] >= 0) continue;
      if (std::none_of(masks.row(b), masks.row(b) + Ab, [](bool m) { return m; })) {
        lengths[static_cast<size_t>(b)] = t;  // back at s_0
        continue;
      }
      running.push_back(b);
      running_states.insert(running_states.end(), current.begin() + b * S, current.begin() + (b + 1) * S);
    }
    if (running.empty()) break;
    SUBTB_CHECK(t < env.max_trajectory_length(), "sample_backward_trajectories: ", env.name(),
                " trajectories ran past ", env.max_trajectory_length(), " steps");
    const int64_t n = static_cast<int64_t>(running.size());
    const std::vector<float> logits =
        learned ? policy.forward(encode(env, running_states, n)).backward_logits.contiguous().to_vector<float>()
                : uniform_logits;
    const std::vector<double> u = rand({batch}, DType::f64, kCPU, &gen).to_vector<double>();
    std::vector<std::int32_t> backward(static_cast<size_t>(batch), gfn::DiscreteEnv::no_action);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = running[static_cast<size_t>(i)];
      backward[static_cast<size_t>(b)] =
          draw_action(logits.data() + i * Ab, masks.row(b), Ab, SamplerOptions{}, u[static_cast<size_t>(b)], probs);
    }
    env.backward_step(current, backward);
    // The forward action parent -> child: the child's parent entry equal to the new state.
    env.parents(running_states, parents);
    std::vector<std::int32_t> forward(static_cast<size_t>(batch), gfn::DiscreteEnv::no_action);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = running[static_cast<size_t>(i)];
      const std::int32_t* parent = current.data() + b * S;
      for (int64_t p = parents.offsets[static_cast<size_t>(i)]; p < parents.offsets[static_cast<size_t>(i + 1)]; ++p) {
        if (std::equal(parent, parent + S, parents.states.begin() + p * S)) {
          forward[static_cast<size_t>(b)] = parents.actions[static_cast<size_t>(p)];
          break;
        }
      }
      SUBTB_CHECK(forward[static_cast<size_t>(b)] != gfn::DiscreteEnv::no_action,
                  "sample_backward_trajectories: ", env.name(),
                  " lists no parent equal to the backward step's result (row ", b, ", step ", t, ")");
    }
    actions_by_step.push_back(std::move(forward));
    states_by_step.push_back(current);
  }

  // Reverse each row: forward state t is backward state n_b - t, forward action t undoes
  // backward step n_b - 1 - t.
  const int64_t L = static_cast<int64_t>(actions_by_step.size());
  std::vector<std::vector<std::int32_t>> forward_states(static_cast<size_t>(L + 1),
                                                        std::vector<std::int32_t>(static_cast<size_t>(batch * S)));
  std::vector<std::vector<std::int32_t>> forward_actions(
      static_cast<size_t>(L), std::vector<std::int32_t>(static_cast<size_t>(batch), gfn::DiscreteEnv::no_action));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths[static_cast<size_t>(b)];
    for (int64_t t = 0; t <= L; ++t) {
      const auto& from = states_by_step[static_cast<size_t>(std::max<int64_t>(len - t, 0))];
      std::copy_n(from.begin() + b * S, S, forward_states[static_cast<size_t>(t)].begin() + b * S);
      if (t < len) {
        forward_actions[static_cast<size_t>(t)][static_cast<size_t>(b)] =
            actions_by_step[static_cast<size_t>(len - 1 - t)][static_cast<size_t>(b)];
      }
    }
  }
  SampledTrajectories out = assemble(forward_states, forward_actions, std::move(lengths), S);
  out.log_rewards.resize(static_cast<size_t>(batch));
  env.log_reward(terminal_states, out.log_rewards);
  return out;
}

SampledTrajectories concatenate(const std::vector<const SampledTrajectories*>& parts) {
  SUBTB_CHECK(!parts.empty(), "concatenate: no parts");
  SampledTrajectories out;
  for (const SampledTrajectories* p : parts) {
    if (p->batch == 0) continue;  // an empty part (a default one included) adds nothing
    if (out.batch == 0) out.state_dim = p->state_dim;
    SUBTB_CHECK(p->state_dim == out.state_dim, "concatenate: parts hold states of ", out.state_dim, " and ",
                p->state_dim, " values");
    out.batch += p->batch;
    out.max_length = std::max(out.max_length, p->max_length);
  }
  const int64_t L = out.max_length, S = out.state_dim;
  out.states.reserve(static_cast<size_t>(out.batch * (L + 1) * S));
  out.actions.reserve(static_cast<size_t>(out.batch * L));
  for (const SampledTrajectories* p : parts) {
    for (int64_t b = 0; b < p->batch; ++b) {
      // Past a part's own padding the terminal state repeats, as within a part.
      for (int64_t t = 0; t <= L; ++t) {
        const std::int32_t* s = p->state(b, std::min(t, p->max_length));
        out.states.insert(out.states.end(), s, s + S);
        out.actions.push_back(t < p->max_length ? p->actions[static_cast<size_t>(b * p->max_length + t)]
                                                : gfn::DiscreteEnv::no_action);
      }
      out.actions.pop_back();  // L actions for L + 1 states
    }
    out.lengths.insert(out.lengths.end(), p->lengths.begin(), p->lengths.end());
    out.log_rewards.insert(out.log_rewards.end(), p->log_rewards.begin(), p->log_rewards.end());
  }
  return out;
}

Tensor masked_log_softmax(const Tensor& logits, const Tensor& mask) {
  const Tensor allowed = logical_or(mask, logical_not(any(mask, {-1}, true)));
  return log_softmax(masked_fill(logits, logical_not(allowed), -kInf), -1);
}

namespace {

// The states of a padded batch that differ: every trajectory's s_0 .. s_{n_b}, in order.
// Past its end a row repeats its terminal state, so padded position (b, t) is distinct
// state row[b * (L + 1) + t], and the policy evaluates each state once however uneven the
// lengths. Gathering the padded layout back from the distinct rows is exact: a padded
// position has its terminal state's activations, so its gradient reaches the weights
// as that state's would.
struct DistinctStates {
  int64_t count = 0;
  std::vector<std::int32_t> states;  // [count, S]
  std::vector<int64_t> row;          // [B * (L + 1)]
};

DistinctStates distinct_states(const SampledTrajectories& samples) {
  const int64_t B = samples.batch, L = samples.max_length, S = samples.state_dim;
  DistinctStates d;
  d.row.reserve(static_cast<size_t>(B * (L + 1)));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = samples.lengths[static_cast<size_t>(b)];
    d.states.insert(d.states.end(), samples.state(b, 0), samples.state(b, n) + S);
    for (int64_t t = 0; t <= L; ++t) d.row.push_back(d.count + std::min(t, n));
    d.count += n + 1;
  }
  return d;
}

// Flat indices into a [count, C] tensor: for each b and t < T, the entry of distinct state
// (b, t + first) in column columns[b * T + t].
std::vector<int64_t> flat_entries(const DistinctStates& d, int64_t B, int64_t L, int64_t first, int64_t T,
                                  const std::vector<int64_t>& columns, int64_t C) {
  std::vector<int64_t> out(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const size_t i = static_cast<size_t>(b * T + t);
      out[i] = d.row[static_cast<size_t>(b * (L + 1) + t + first)] * C + columns[i];
    }
  }
  return out;
}

// The padded [B * (L + 1), cols] layout of per-distinct-state rows ([count, cols]).
BoolBuffer pad_rows(const BoolBuffer& distinct, const DistinctStates& d, int64_t cols) {
  const int64_t N = static_cast<int64_t>(d.row.size());
  BoolBuffer out(N, cols);
  for (int64_t i = 0; i < N; ++i)
    std::copy_n(distinct.row(d.row[static_cast<size_t>(i)]), cols, out.span().data() + i * cols);
  return out;
}

}  // namespace

TrajectoryBatch evaluate_trajectories(const gfn::DiscreteEnv& env, Policy& policy, const SampledTrajectories& samples) {
  const int64_t B = samples.batch, L = samples.max_length, N = B * (L + 1);
  const int S = samples.state_dim;
  SUBTB_CHECK(S == env.state_dim(), "evaluate_trajectories: samples hold states of ", S, " values, ", env.name(),
              " has ", env.state_dim());
  const int A = env.num_actions(), Ab = env.num_backward_actions();
  const bool learned_pb = policy.config().backward == BackwardPolicy::learned;
  const Device dev = policy.config().device;

  TrajectoryBatch batch;
  const DistinctStates distinct = distinct_states(samples);
  const int64_t M = distinct.count;
  const Tensor row = from_vector<int64_t>(distinct.row).to(dev);  // [N]: padded position -> distinct state
  // [B, T] entries of a per-state [M, C] tensor: states (b, t + first), one column per step.
  const auto entries = [&](const Tensor& per_state, int64_t first, int64_t T, const std::vector<int64_t>& columns) {
    const int64_t C = per_state.shape()[1];
    const std::vector<int64_t> flat = flat_entries(distinct, B, L, first, T, columns, C);
    return index_select(per_state.reshape({M * C}), 0, from_vector<int64_t>(flat).to(dev)).reshape({B, T});
  };

  const Tensor encoded = encode(env, distinct.states, M).to(dev);
  const PolicyOutput out = policy.forward(encoded);
  batch.states = index_select(encoded, 0, row).reshape({B, L + 1, env.encoding_dim()});
  batch.lengths = from_vector<int64_t>(samples.lengths).to(dev);
  std::vector<int64_t> actions(samples.actions.begin(), samples.actions.end());
  batch.actions = from_vector<int64_t>(actions, Shape{B, L}).to(dev);
  batch.is_exit = eq(batch.actions, static_cast<double>(env.exit_action()));

  BoolBuffer forward_masks(M, A);
  env.forward_masks(distinct.states, forward_masks.span());
  batch.forward_masks = pad_rows(forward_masks, distinct, A).tensor({B, L + 1, A}).to(dev);
  const Tensor log_pf_all = masked_log_softmax(out.forward_logits, forward_masks.tensor({M, A}).to(dev));
  batch.log_pf = entries(log_pf_all, 0, L, padding_to_zero(actions));
  if (env.exit_action() >= 0) {
    // A terminal state's row is normalised over every action (padding); only non-terminal
    // states' entries are read.
    batch.log_pf_exit = entries(log_pf_all, 0, L + 1, std::vector<int64_t>(static_cast<size_t>(N), env.exit_action()));
  }

  BoolBuffer backward_masks(M, Ab);
  env.backward_masks(distinct.states, backward_masks.span());
  batch.backward_masks = pad_rows(backward_masks, distinct, Ab).tensor({B, L + 1, Ab}).to(dev);
  if (learned_pb) {
    // The backward action at s_{t+1} that leads back to s_t, for every step taken.
    std::vector<std::int32_t> parents, children, undo(static_cast<size_t>(B * L));
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < L; ++t) {
        parents.insert(parents.end(), samples.state(b, t), samples.state(b, t) + S);
        children.insert(children.end(), samples.state(b, t + 1), samples.state(b, t + 1) + S);
      }
    }
    env.undo_actions(parents, children, samples.actions, undo);
    const Tensor log_pb_all = masked_log_softmax(out.backward_logits, backward_masks.tensor({M, Ab}).to(dev));
    // A padding step reads a terminal state's head at action 0, which its mask may forbid.
    batch.log_pb =
        where(step_mask(batch.lengths, L), entries(log_pb_all, 1, L, padding_to_zero({undo.begin(), undo.end()})), 0.0);
  } else {
    std::vector<float> log_pb(static_cast<size_t>(B * L), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < samples.lengths[static_cast<size_t>(b)]; ++t) {
        const bool* mask = backward_masks.row(distinct.row[static_cast<size_t>(b * (L + 1) + t + 1)]);
        const int parents = static_cast<int>(std::count(mask, mask + Ab, true));
        log_pb[static_cast<size_t>(b * L + t)] = static_cast<float>(-std::log(static_cast<double>(parents)));
      }
    }
    batch.log_pb = from_vector<float>(log_pb, Shape{B, L}).to(dev);
  }

  batch.log_flow = index_select(out.log_flow, 0, row).reshape({B, L + 1});
  std::vector<float> log_rewards(samples.log_rewards.begin(), samples.log_rewards.end());
  batch.log_reward = from_vector<float>(log_rewards).to(dev);
  if (env.has_state_log_reward()) {
    std::vector<double> state_log_rewards(static_cast<size_t>(N));
    env.state_log_reward(samples.states, state_log_rewards);
    batch.log_reward_states =
        from_vector<float>(std::vector<float>(state_log_rewards.begin(), state_log_rewards.end()), Shape{B, L + 1})
            .to(dev);
  }
  batch.validate();
  return batch;
}

}  // namespace subtb::gflownet

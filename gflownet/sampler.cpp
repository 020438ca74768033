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
// mixed with the uniform distribution over them, by inverting the CDF at u.
std::int32_t draw_action(const float* logits, const bool* valid, int num_actions, const SamplerOptions& options,
                         double u) {
  double max_logit = -kInf;
  int num_valid = 0;
  for (int a = 0; a < num_actions; ++a) {
    if (!valid[a]) continue;
    ++num_valid;
    max_logit = std::max(max_logit, logits[a] / options.temperature);
  }
  double total = 0.0;
  std::vector<double> probs(static_cast<size_t>(num_actions), 0.0);
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
      const std::int32_t a = draw_action(logits.data() + i * A, valid.row(i), A, options, u[static_cast<size_t>(b)]);
      SUBTB_CHECK(a != gfn::DiscreteEnv::no_action, "sample_trajectories: ", env.name(),
                  " offers no action in a non-terminal state (row ", b, ", step ", t, ")");
      actions[static_cast<size_t>(b)] = a;
    }
    env.step(current, actions);
    actions_by_step.push_back(std::move(actions));
    states_by_step.push_back(current);
  }

  SampledTrajectories out;
  out.batch = batch;
  out.max_length = static_cast<int64_t>(actions_by_step.size());
  out.state_dim = S;
  out.lengths = std::move(lengths);
  const int64_t L = out.max_length;
  out.states.resize(static_cast<size_t>(batch * (L + 1) * S));
  out.actions.assign(static_cast<size_t>(batch * L), gfn::DiscreteEnv::no_action);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t <= L; ++t) {
      const auto& step_states = states_by_step[static_cast<size_t>(t)];
      std::copy_n(step_states.begin() + b * S, S, out.states.begin() + (b * (L + 1) + t) * S);
      if (t < L)
        out.actions[static_cast<size_t>(b * L + t)] = actions_by_step[static_cast<size_t>(t)][static_cast<size_t>(b)];
    }
  }
  out.log_rewards.resize(static_cast<size_t>(batch));
  env.log_reward(out.terminal_states(), out.log_rewards);
  return out;
}

Tensor masked_log_softmax(const Tensor& logits, const Tensor& mask) {
  const Tensor allowed = logical_or(mask, logical_not(any(mask, {-1}, true)));
  return log_softmax(masked_fill(logits, logical_not(allowed), -kInf), -1);
}

TrajectoryBatch evaluate_trajectories(const gfn::DiscreteEnv& env, Policy& policy, const SampledTrajectories& samples) {
  const int64_t B = samples.batch, L = samples.max_length, N = B * (L + 1);
  const int S = samples.state_dim;
  SUBTB_CHECK(S == env.state_dim(), "evaluate_trajectories: samples hold states of ", S, " values, ", env.name(),
              " has ", env.state_dim());
  const int A = env.num_actions(), Ab = env.num_backward_actions();
  const bool learned_pb = policy.config().backward == BackwardPolicy::learned;

  TrajectoryBatch batch;
  const Tensor encoded = encode(env, samples.states, N);
  const PolicyOutput out = policy.forward(encoded);
  batch.states = encoded.reshape({B, L + 1, env.encoding_dim()});
  batch.lengths = from_vector<int64_t>(samples.lengths);
  std::vector<int64_t> actions(samples.actions.begin(), samples.actions.end());
  batch.actions = from_vector<int64_t>(actions, Shape{B, L});
  batch.is_exit = eq(batch.actions, static_cast<double>(env.exit_action()));
  const Tensor taken = from_vector<int64_t>(padding_to_zero(actions), Shape{B, L, 1});

  BoolBuffer forward_masks(N, A);
  env.forward_masks(samples.states, forward_masks.span());
  batch.forward_masks = forward_masks.tensor({B, L + 1, A});
  const Tensor log_pf_all = masked_log_softmax(out.forward_logits, forward_masks.tensor({N, A}));
  batch.log_pf = gather(log_pf_all.reshape({B, L + 1, A}).narrow(1, 0, L), 2, taken).squeeze(2);

  BoolBuffer backward_masks(N, Ab);
  env.backward_masks(samples.states, backward_masks.span());
  batch.backward_masks = backward_masks.tensor({B, L + 1, Ab});
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
    const std::vector<int64_t> undo64 = padding_to_zero({undo.begin(), undo.end()});
    const Tensor log_pb_all = masked_log_softmax(out.backward_logits, backward_masks.tensor({N, Ab}));
    const Tensor gathered =
        gather(log_pb_all.reshape({B, L + 1, Ab}).narrow(1, 1, L), 2, from_vector<int64_t>(undo64, Shape{B, L, 1}))
            .squeeze(2);
    // A padding step reads a terminal state's head at action 0, which its mask may forbid.
    batch.log_pb = where(step_mask(batch.lengths, L), gathered, 0.0);
  } else {
    std::vector<float> log_pb(static_cast<size_t>(B * L), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < samples.lengths[static_cast<size_t>(b)]; ++t) {
        const bool* mask = backward_masks.row(b * (L + 1) + t + 1);
        const int parents = static_cast<int>(std::count(mask, mask + Ab, true));
        log_pb[static_cast<size_t>(b * L + t)] = static_cast<float>(-std::log(static_cast<double>(parents)));
      }
    }
    batch.log_pb = from_vector<float>(log_pb, Shape{B, L});
  }

  batch.log_flow = out.log_flow.reshape({B, L + 1});
  std::vector<float> log_rewards(samples.log_rewards.begin(), samples.log_rewards.end());
  batch.log_reward = from_vector<float>(log_rewards);
  batch.validate();
  return batch;
}

}  // namespace subtb::gflownet

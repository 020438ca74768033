#include "gflownet/evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "autograd/grad_mode.h"
#include "envs/gfn/exact.h"
#include "envs/gfn/metrics.h"
#include "gflownet/objectives.h"
#include "gflownet/sampler.h"
#include "tensor/ops.h"

namespace subtb::gflownet {

std::vector<double> forward_probabilities(const gfn::DiscreteEnv& env, Policy& policy) {
  const int64_t n = env.num_nonterminal_states();
  SUBTB_CHECK(n >= 0, "forward_probabilities: ", env.name(), " does not enumerate its non-terminal states");
  const int S = env.state_dim(), A = env.num_actions();
  std::vector<std::int32_t> states(static_cast<size_t>(n * S));
  for (int64_t i = 0; i < n; ++i) env.nonterminal_state(i, states.data() + i * S);
  std::vector<float> encoded(static_cast<size_t>(n * env.encoding_dim()));
  env.encode(states, encoded);
  std::unique_ptr<bool[]> masks(new bool[static_cast<size_t>(n * A)]);
  env.forward_masks(states, {masks.get(), static_cast<size_t>(n * A)});

  NoGradGuard no_grad;
  const std::vector<float> logits = policy.forward(from_vector<float>(encoded, Shape{n, env.encoding_dim()}))
                                        .forward_logits.contiguous()
                                        .to_vector<float>();
  // The softmax in f64, so that rows sum to 1 to double precision.
  std::vector<double> probs(static_cast<size_t>(n * A), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * A;
    const bool* valid = masks.get() + i * A;
    double* p = probs.data() + i * A;
    double max_logit = -std::numeric_limits<double>::infinity();
    for (int a = 0; a < A; ++a) {
      if (valid[a]) max_logit = std::max(max_logit, static_cast<double>(row[a]));
    }
    double total = 0.0;
    for (int a = 0; a < A; ++a) {
      if (valid[a]) total += p[a] = std::exp(static_cast<double>(row[a]) - max_logit);
    }
    for (int a = 0; a < A; ++a) p[a] /= total;
  }
  return probs;
}

std::vector<double> estimate_log_probabilities(const gfn::DiscreteEnv& env, Policy& policy,
                                               std::span<const std::int32_t> terminal_states, int samples,
                                               Generator& gen) {
  SUBTB_CHECK(samples > 0, "estimate_log_probabilities: samples must be positive, got ", samples);
  const int S = env.state_dim();
  const int64_t T = static_cast<int64_t>(terminal_states.size()) / S;
  std::vector<double> out(static_cast<size_t>(T));
  // Chunks of whole test states keep the padded batch small.
  const int64_t per_chunk = std::max<int64_t>(1, 4096 / samples);
  NoGradGuard no_grad;
  for (int64_t first = 0; first < T; first += per_chunk) {
    const int64_t n = std::min(per_chunk, T - first);
    std::vector<std::int32_t> repeated;
    repeated.reserve(static_cast<size_t>(n * samples * S));
    for (int64_t i = 0; i < n; ++i) {
      const auto row = terminal_states.begin() + (first + i) * S;
      for (int k = 0; k < samples; ++k) repeated.insert(repeated.end(), row, row + S);
    }
    const SampledTrajectories tau = sample_backward_trajectories(env, policy, repeated, gen);
    const TrajectoryBatch batch = evaluate_trajectories(env, policy, tau);
    const Tensor mask = step_mask(batch.lengths, batch.max_length());
    const std::vector<double> log_ratio =
        sum(where(mask, batch.log_pf - batch.log_pb, 0.0), {1}).to(DType::f64).contiguous().to_vector<double>();
    for (int64_t i = 0; i < n; ++i) {
      const double* r = log_ratio.data() + i * samples;
      const double top = *std::max_element(r, r + samples);
      double total = 0;
      for (int k = 0; k < samples; ++k) total += std::exp(r[k] - top);
      out[static_cast<size_t>(first + i)] =
          std::isfinite(top) ? top + std::log(total / samples) : -std::numeric_limits<double>::infinity();
    }
  }
  return out;
}

namespace {

// n terminal states reached by rollouts that pick uniformly among the valid actions.
std::vector<std::int32_t> uniform_terminal_states(const gfn::DiscreteEnv& env, int64_t n, Generator& gen) {
  const int S = env.state_dim(), A = env.num_actions();
  std::vector<std::int32_t> states(static_cast<size_t>(n * S));
  env.reset(states);
  std::unique_ptr<bool[]> masks(new bool[static_cast<size_t>(n * A)]);
  std::unique_ptr<bool[]> terminal(new bool[static_cast<size_t>(n)]);
  std::vector<std::int32_t> actions(static_cast<size_t>(n));
  for (int t = 0; t <= env.max_trajectory_length(); ++t) {
    env.is_terminal(states, {terminal.get(), static_cast<size_t>(n)});
    if (std::all_of(terminal.get(), terminal.get() + n, [](bool b) { return b; })) return states;
    env.forward_masks(states, {masks.get(), static_cast<size_t>(n * A)});
    const std::vector<double> u = rand({n}, DType::f64, kCPU, &gen).to_vector<double>();
    for (int64_t b = 0; b < n; ++b) {
      const bool* valid = masks.get() + b * A;
      const int64_t count = std::count(valid, valid + A, true);
      actions[static_cast<size_t>(b)] = gfn::DiscreteEnv::no_action;
      if (terminal[static_cast<size_t>(b)] || count == 0) continue;
      int64_t pick = std::min<int64_t>(count - 1, static_cast<int64_t>(u[static_cast<size_t>(b)] * count));
      for (int a = 0; a < A; ++a) {
        if (valid[a] && pick-- == 0) {
          actions[static_cast<size_t>(b)] = a;
          break;
        }
      }
    }
    env.step(states, actions);
  }
  SUBTB_THROW("PolicyEvaluator: uniform rollouts on ", env.name(), " ran past ", env.max_trajectory_length(), " steps");
}

bool enumerable(const gfn::DiscreteEnv& env, int64_t limit) {
  const int64_t terminal = env.num_terminal_states(), inner = env.num_nonterminal_states();
  return terminal >= 0 && inner >= 0 && terminal <= limit && inner <= limit;
}

// The environment's log Z where it has one: spaces it does not enumerate may still have a
// closed form or a dynamic program; one too large to enumerate here is not summed.
double known_log_partition(const gfn::DiscreteEnv& env, bool exact) {
  if (!exact && env.num_terminal_states() >= 0) return std::numeric_limits<double>::quiet_NaN();
  try {
    return env.log_partition();
  } catch (const Error&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace

PolicyEvaluator::PolicyEvaluator(const gfn::DiscreteEnv& env, EvalOptions options)
    : env_(env),
      options_(std::move(options)),
      exact_(enumerable(env, options_.max_exact_states)),
      log_z_true_(known_log_partition(env, exact_)) {
  SUBTB_CHECK(options_.importance_samples > 0 && options_.random_test_states >= 0,
              "PolicyEvaluator: importance_samples must be positive and random_test_states non-negative, got ",
              options_.importance_samples, " and ", options_.random_test_states);
  const int S = env.state_dim();
  if (exact_) target_ = gfn::target_distribution(env);
  if (!options_.test_states.empty()) {
    test_states_ = options_.test_states;
  } else if (exact_) {
    const gfn::TerminalEnumeration all = gfn::enumerate_terminal_states(env);
    test_states_ = all.states;
  } else if (options_.random_test_states > 0) {
    Generator gen(options_.seed);
    test_states_ = uniform_terminal_states(env, options_.random_test_states, gen);
  }
  SUBTB_CHECK(test_states_.size() % static_cast<size_t>(S) == 0, "PolicyEvaluator: the test set's ",
              test_states_.size(), " values are not whole ", env.name(), " states of ", S);
  const int64_t T = static_cast<int64_t>(test_states_.size()) / S;
  test_log_rewards_.resize(static_cast<size_t>(T));
  if (T > 0) env.log_reward(test_states_, test_log_rewards_);
  if (exact_) {
    for (int64_t i = 0; i < T; ++i) test_indices_.push_back(env.terminal_index(test_states_.data() + i * S));
  }
}

PolicyMetrics PolicyEvaluator::evaluate(Policy& policy, double learned_log_z,
                                        std::span<const std::int32_t> terminal_states) const {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  PolicyMetrics m;
  m.samples = static_cast<int64_t>(terminal_states.size()) / env_.state_dim();
  m.log_z = learned_log_z;
  m.log_z_true = log_z_true_;
  m.l1 = m.jsd = m.empirical_l1 = m.empirical_l1_floor = m.spearman = nan;
  m.top_k_reward = m.top_k_log_reward = nan;
  m.test_states = static_cast<int64_t>(test_log_rewards_.size());
  std::vector<double> test_log_p;
  if (exact_) {
    const std::vector<double> induced = gfn::policy_terminal_distribution(env_, forward_probabilities(env_, policy));
    m.l1 = gfn::l1_distance(induced, target_);
    m.jsd = gfn::jensen_shannon(induced, target_);
    if (m.samples > 0) {
      m.empirical_l1 = gfn::l1_distance(gfn::empirical_distribution(env_, terminal_states), target_);
      m.empirical_l1_floor = gfn::expected_sampling_l1(target_, m.samples);
    }
    for (const int64_t i : test_indices_) test_log_p.push_back(std::log(induced[static_cast<size_t>(i)]));
    m.spearman_exact = true;
  } else if (m.test_states > 0) {
    Generator gen(options_.seed ^ 0x9E3779B97F4A7C15ull);
    const int samples = env_.num_backward_actions() == 1 ? 1 : options_.importance_samples;
    test_log_p = estimate_log_probabilities(env_, policy, test_states_, samples, gen);
    m.spearman_exact = samples == 1;
  }
  if (m.test_states > 1) m.spearman = gfn::spearman(test_log_rewards_, test_log_p);
  return m;
}

}  // namespace subtb::gflownet

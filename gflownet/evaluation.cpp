#include "gflownet/evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "autograd/grad_mode.h"
#include "envs/gfn/exact.h"
#include "envs/gfn/metrics.h"
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

PolicyEvaluator::PolicyEvaluator(const gfn::DiscreteEnv& env)
    : env_(env), target_(gfn::target_distribution(env)), log_z_true_(env.log_partition()) {}

PolicyMetrics PolicyEvaluator::evaluate(Policy& policy, double learned_log_z,
                                        std::span<const std::int32_t> terminal_states) const {
  PolicyMetrics m;
  const std::vector<double> induced = gfn::policy_terminal_distribution(env_, forward_probabilities(env_, policy));
  m.l1 = gfn::l1_distance(induced, target_);
  m.samples = static_cast<int64_t>(terminal_states.size()) / env_.state_dim();
  if (m.samples > 0) {
    m.empirical_l1 = gfn::l1_distance(gfn::empirical_distribution(env_, terminal_states), target_);
    m.empirical_l1_floor = gfn::expected_sampling_l1(target_, m.samples);
  } else {
    m.empirical_l1 = m.empirical_l1_floor = std::numeric_limits<double>::quiet_NaN();
  }
  m.log_z = learned_log_z;
  m.log_z_true = log_z_true_;
  return m;
}

}  // namespace subtb::gflownet

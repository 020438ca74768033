#include "gflownet/objectives.h"

#include <cmath>
#include <vector>

#include "gflownet/subtb_weights.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb::gflownet {

namespace {

// Shape checks shared by the trajectory objectives; returns (B, L).
std::pair<int64_t, int64_t> check_steps(const char* op, const Tensor& log_pf, const Tensor& log_pb,
                                        const Tensor& lengths) {
  subtb::detail::check_floating(op, log_pf);
  SUBTB_CHECK(log_pf.dim() == 2, op, ": log_pf must be [B, L], got ", describe(log_pf));
  SUBTB_CHECK(log_pb.shape() == log_pf.shape(), op, ": log_pb ", describe(log_pb), " must match log_pf ",
              describe(log_pf));
  subtb::detail::check_same_dtype(op, log_pf, log_pb);
  const int64_t B = log_pf.shape()[0];
  SUBTB_CHECK(lengths.shape() == (Shape{B}) && lengths.dtype() == DType::i64, op, ": lengths must be i64[", B,
              "], got ", describe(lengths));
  return {B, log_pf.shape()[1]};
}

void check_states(const char* op, const char* name, const Tensor& t, int64_t B, int64_t L, const Tensor& like) {
  SUBTB_CHECK(t.shape() == (Shape{B, L + 1}), op, ": ", name, " must be [B, L + 1] = [", B, ", ", L + 1, "], got ",
              describe(t));
  subtb::detail::check_same_dtype(op, like, t);
}

// [B, L+1] bool: state t of row b is a non-terminal state of the trajectory (t < n).
Tensor nonterminal_state_mask(const Tensor& lengths, int64_t L) { return step_mask(lengths, L + 1); }

// Sum over the steps of each trajectory, ignoring padding (which may hold -inf or NaN).
Tensor sum_steps(const Tensor& x, const Tensor& mask) { return sum(where(mask, x, 0.0), {1}); }

// log F of each state with the forward-looking substitution log F~ + log R on the
// non-terminal states (the terminal entry already holds log R(x)).
Tensor effective_flow(const Tensor& log_flow, const Tensor& lengths, const Tensor& log_reward_states) {
  if (!log_reward_states.defined()) return log_flow;
  const int64_t L = log_flow.shape()[1] - 1;
  return log_flow + where(nonterminal_state_mask(lengths, L), log_reward_states, 0.0);
}

// Mean of the masked per-transition losses over the transitions of the batch, or of
// their per-trajectory sums over the non-empty trajectories.
Tensor reduce_transitions(const Tensor& per_step, const Tensor& mask, TransitionReduction reduction) {
  const Tensor terms = where(mask, per_step, 0.0);
  const DType dt = per_step.dtype();
  if (reduction == TransitionReduction::transition_mean) {
    return div(sum(terms), clamp(sum(mask.to(dt)), 1.0, NAN));
  }
  const Tensor non_empty = any(mask, {1}).to(dt);
  return div(sum(sum(terms, {1}) * non_empty), clamp(sum(non_empty), 1.0, NAN));
}

}  // namespace

Tensor apply_residual_loss(const Tensor& residual, const ResidualLoss& loss) {
  switch (loss.kind) {
    case ResidualLoss::Kind::squared: return square(residual);
    case ResidualLoss::Kind::absolute: return abs(residual);
    case ResidualLoss::Kind::huber: {
      SUBTB_CHECK(loss.huber_delta > 0, "huber loss: delta must be positive, got ", loss.huber_delta);
      const Tensor a = abs(residual);
      return where(le(a, loss.huber_delta), square(residual) * 0.5, (a - 0.5 * loss.huber_delta) * loss.huber_delta);
    }
  }
  SUBTB_THROW("apply_residual_loss: unknown kind");
}

Tensor step_mask(const Tensor& lengths, int64_t L) {
  return lt(arange(L, DType::i64, lengths.device()).unsqueeze(0), lengths.unsqueeze(1));
}

Tensor trajectory_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& lengths, const Tensor& log_reward,
                          const Tensor& log_z, const ResidualLoss& loss) {
  constexpr const char* op = "trajectory_balance";
  const auto [B, L] = check_steps(op, log_pf, log_pb, lengths);
  SUBTB_CHECK(log_reward.shape() == (Shape{B}), op, ": log_reward must be [", B, "], got ", describe(log_reward));
  SUBTB_CHECK(log_z.dim() == 0 || log_z.shape() == (Shape{B}), op, ": log_z must be a scalar or [", B, "], got ",
              describe(log_z));
  const Tensor d = log_z + sum_steps(log_pf - log_pb, step_mask(lengths, L)) - log_reward;
  return mean(apply_residual_loss(d, loss));
}

Tensor variance_trajectory_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& lengths,
                                   const Tensor& log_reward) {
  constexpr const char* op = "variance_trajectory_balance";
  const auto [B, L] = check_steps(op, log_pf, log_pb, lengths);
  SUBTB_CHECK(log_reward.shape() == (Shape{B}), op, ": log_reward must be [", B, "], got ", describe(log_reward));
  const Tensor zeta = log_reward - sum_steps(log_pf - log_pb, step_mask(lengths, L));
  return mean(square(zeta - mean(zeta)));
}

Tensor detailed_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                        TransitionReduction reduction, const ResidualLoss& loss, const Tensor& log_reward_states) {
  constexpr const char* op = "detailed_balance";
  const auto [B, L] = check_steps(op, log_pf, log_pb, lengths);
  check_states(op, "log_flow", log_flow, B, L, log_pf);
  if (log_reward_states.defined()) check_states(op, "log_reward_states", log_reward_states, B, L, log_pf);
  const Tensor F = effective_flow(log_flow, lengths, log_reward_states);
  const Tensor d = F.narrow(1, 0, L) + log_pf - F.narrow(1, 1, L) - log_pb;
  const Tensor mask = step_mask(lengths, L);
  return reduce_transitions(apply_residual_loss(where(mask, d, 0.0), loss), mask, reduction);
}

Tensor modified_detailed_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_pf_stop,
                                 const Tensor& log_reward_states, const Tensor& lengths, const ResidualLoss& loss) {
  constexpr const char* op = "modified_detailed_balance";
  const auto [B, L] = check_steps(op, log_pf, log_pb, lengths);
  check_states(op, "log_pf_stop", log_pf_stop, B, L, log_pf);
  check_states(op, "log_reward_states", log_reward_states, B, L, log_pf);
  // log R(s) - log P_F(stop|s) is log F(s) when every state may terminate.
  const Tensor G = log_reward_states - log_pf_stop;
  const Tensor d = G.narrow(1, 0, L) + log_pf - G.narrow(1, 1, L) - log_pb;
  const Tensor mask = step_mask(lengths, L);
  return reduce_transitions(apply_residual_loss(where(mask, d, 0.0), loss), mask,
                            TransitionReduction::transition_mean);
}

Tensor flow_matching(const Tensor& log_inflows, const Tensor& log_outflows, const Tensor& log_exit_flows,
                     const Tensor& log_rewards, const ResidualLoss& loss) {
  constexpr const char* op = "flow_matching";
  subtb::detail::check_floating(op, log_inflows);
  SUBTB_CHECK(log_inflows.dim() == 2 && log_outflows.dim() == 2 && log_inflows.shape()[0] == log_outflows.shape()[0],
              op, ": log_inflows [N, P] and log_outflows [N, A] must share N, got ", describe(log_inflows), " and ",
              describe(log_outflows));
  SUBTB_CHECK(log_exit_flows.dim() == 1 && log_rewards.shape() == log_exit_flows.shape(), op,
              ": log_exit_flows and log_rewards must both be [M], got ", describe(log_exit_flows), " and ",
              describe(log_rewards));
  Tensor total = zeros({}, log_inflows.dtype(), log_inflows.device());
  if (log_inflows.shape()[0] > 0) {
    const Tensor d = logsumexp(log_inflows, {1}) - logsumexp(log_outflows, {1});
    total = total + mean(apply_residual_loss(d, loss));
  }
  if (log_exit_flows.numel() > 0) total = total + mean(apply_residual_loss(log_exit_flows - log_rewards, loss));
  return total;
}

Tensor subtb_loss_composite(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                            const SubTBOptions& options, const Tensor& log_reward_states, const ResidualLoss& loss) {
  constexpr const char* op = "subtb_loss_composite";
  const auto [B, L] = check_steps(op, log_pf, log_pb, lengths);
  check_states(op, "log_flow", log_flow, B, L, log_pf);
  if (log_reward_states.defined()) check_states(op, "log_reward_states", log_reward_states, B, L, log_pf);
  const std::vector<int64_t> n_of = lengths.to(kCPU).contiguous().to_vector<int64_t>();

  // X[t] = log F(s_t) - C[t] with C the prefix sums of log P_F - log P_B: d(i, j) = X[i] - X[j].
  const Tensor steps = where(step_mask(lengths, L), log_pf - log_pb, 0.0);
  const Tensor C = cat({zeros({B, 1}, log_pf.dtype(), log_pf.device()), cumsum(steps, 1)}, 1);
  const Tensor in_trajectory = lt(arange(L + 1, DType::i64, lengths.device()).unsqueeze(0), lengths.unsqueeze(1) + 1);
  const Tensor X = where(in_trajectory, effective_flow(log_flow, lengths, log_reward_states) - C, 0.0);
  const Tensor D = X.unsqueeze(2) - X.unsqueeze(1);  // [B, L+1, L+1]

  // The weight of every (i, j) pair, built on the host: this path is the oracle, not the fast one.
  const std::vector<double> coef = options.weighting == SubTBWeighting::geometric
                                       ? internal::geometric_length_coefficients(options.lambda, n_of, L)
                                       : std::vector<double>();
  std::vector<double> w(static_cast<size_t>(B * (L + 1) * (L + 1)), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = n_of[b];
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = i + 1; j <= n; ++j) {
        const int64_t k = j - i;
        double v = 0;
        switch (options.weighting) {
          case SubTBWeighting::geometric_within: v = std::pow(options.lambda, static_cast<double>(k - 1)); break;
          case SubTBWeighting::equal_within:
          case SubTBWeighting::equal: v = 1; break;
          case SubTBWeighting::geometric: v = coef[static_cast<size_t>(k - 1)]; break;
          case SubTBWeighting::tb: v = (i == 0 && j == n) ? 1 : 0; break;
          case SubTBWeighting::db: v = k == 1 ? 1 : 0; break;
        }
        w[static_cast<size_t>((b * (L + 1) + i) * (L + 1) + j)] = v;
        total += v;
      }
    }
    const bool within = options.weighting == SubTBWeighting::geometric_within ||
                        options.weighting == SubTBWeighting::equal_within;
    if (within && total > 0) {
      for (int64_t i = 0; i <= L; ++i)
        for (int64_t j = 0; j <= L; ++j) w[static_cast<size_t>((b * (L + 1) + i) * (L + 1) + j)] /= total;
    }
  }
  const Tensor W = from_vector<double>(w, Shape{B, L + 1, L + 1}, log_pf.device()).to(log_pf.dtype());
  const Tensor rows = sum(W * apply_residual_loss(D, loss), {1, 2});
  return div(sum(rows), internal::batch_denominator(options.weighting, n_of));
}

}  // namespace subtb::gflownet

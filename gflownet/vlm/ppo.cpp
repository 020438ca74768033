#include "gflownet/vlm/ppo.h"

#include <cmath>
#include <initializer_list>
#include <utility>
#include <vector>

#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb::gflownet::vlm {

namespace {

std::vector<double> host_f64(const Tensor& t) {
  return t.detach().to(kCPU).to(DType::f64).contiguous().to_vector<double>();
}

void check_steps(const char* op, const Tensor& reference,
                 std::initializer_list<std::pair<const char*, Tensor>> others) {
  subtb::detail::check_floating(op, reference);
  SUBTB_CHECK(reference.dim() == 1, op, ": expected [N] tensors, got ", describe(reference));
  for (const auto& [name, t] : others) {
    SUBTB_CHECK(t.shape() == reference.shape(), op, ": ", name, " must be ", reference.shape(), ", got ", describe(t));
    subtb::detail::check_same_dtype(op, reference, t);
  }
}

}  // namespace

Advantages generalized_advantages(const Tensor& rewards, const Tensor& values, const Tensor& dones,
                                  const Tensor& next_values, const GaeOptions& options) {
  constexpr const char* op = "generalized_advantages";
  subtb::detail::check_floating(op, rewards);
  SUBTB_CHECK(rewards.dim() == 2, op, ": rewards must be [E, T], got ", describe(rewards));
  SUBTB_CHECK(values.shape() == rewards.shape(), op, ": values ", describe(values), " must match rewards ",
              describe(rewards));
  SUBTB_CHECK(dones.shape() == rewards.shape() && dones.dtype() == DType::b8, op, ": dones must be bool ",
              rewards.shape(), ", got ", describe(dones));
  const int64_t E = rewards.shape()[0];
  const int64_t T = rewards.shape()[1];
  SUBTB_CHECK(next_values.shape() == (Shape{E}), op, ": next_values must be [", E, "], got ", describe(next_values));
  SUBTB_CHECK(options.gamma >= 0 && options.gamma <= 1 && options.lambda >= 0 && options.lambda <= 1, op,
              ": gamma and lambda must lie in [0, 1], got ", options.gamma, " and ", options.lambda);

  const std::vector<double> r = host_f64(rewards), v = host_f64(values), d = host_f64(dones),
                            last = host_f64(next_values);
  std::vector<double> adv(r.size()), ret(r.size());
  for (int64_t e = 0; e < E; ++e) {
    double next_value = last[static_cast<size_t>(e)];
    double next_advantage = 0;
    for (int64_t t = T - 1; t >= 0; --t) {
      const size_t i = static_cast<size_t>(e * T + t);
      const double live = 1.0 - d[i];
      const double delta = r[i] + options.gamma * next_value * live - v[i];
      next_advantage = delta + options.gamma * options.lambda * live * next_advantage;
      adv[i] = next_advantage;
      ret[i] = next_advantage + v[i];
      next_value = v[i];
    }
  }
  auto out = [&](const std::vector<double>& x) {
    return from_vector<double>(x, rewards.shape(), rewards.device()).to(rewards.dtype());
  };
  return {out(adv), out(ret)};
}

Tensor normalize_advantages(const Tensor& advantages, double eps) {
  subtb::detail::check_floating("normalize_advantages", advantages);
  SUBTB_CHECK(advantages.numel() >= 2, "normalize_advantages: needs at least 2 entries, got ", describe(advantages));
  return (advantages - mean(advantages)) / (std(advantages) + eps);
}

Tensor ppo_policy_loss(const Tensor& log_prob, const Tensor& old_log_prob, const Tensor& advantages, double clip) {
  constexpr const char* op = "ppo_policy_loss";
  check_steps(op, log_prob, {{"old_log_prob", old_log_prob}, {"advantages", advantages}});
  SUBTB_CHECK(clip > 0 && clip < 1, op, ": clip must lie in (0, 1), got ", clip);
  const Tensor adv = advantages.detach();
  const Tensor ratio = exp(log_prob - old_log_prob.detach());
  return -mean(minimum(ratio * adv, clamp(ratio, 1.0 - clip, 1.0 + clip) * adv));
}

Tensor ppo_value_loss(const Tensor& values, const Tensor& old_values, const Tensor& returns, double value_clip) {
  constexpr const char* op = "ppo_value_loss";
  check_steps(op, values, {{"old_values", old_values}, {"returns", returns}});
  SUBTB_CHECK(value_clip >= 0, op, ": value_clip must be >= 0 (0: no clipping), got ", value_clip);
  const Tensor target = returns.detach();
  const Tensor plain = square(values - target);
  if (value_clip == 0) return mean(plain) * 0.5;
  const Tensor old = old_values.detach();
  const Tensor clipped = old + clamp(values - old, -value_clip, value_clip);
  return mean(maximum(plain, square(clipped - target))) * 0.5;
}

PpoLoss ppo_loss(const Tensor& log_prob, const Tensor& old_log_prob, const Tensor& advantages, const Tensor& values,
                 const Tensor& old_values, const Tensor& returns, const PpoOptions& options) {
  PpoLoss out;
  out.policy = ppo_policy_loss(log_prob, old_log_prob, advantages, options.clip);
  out.value = ppo_value_loss(values, old_values, returns, options.value_clip);
  out.total = out.policy + out.value * options.value_coef;
  const Tensor log_ratio = (log_prob - old_log_prob).detach();
  out.clip_fraction = mean(gt(abs(exp(log_ratio) - 1.0), options.clip).to(log_prob.dtype()));
  out.approx_kl = mean(-log_ratio);
  return out;
}

}  // namespace subtb::gflownet::vlm

#include "gflownet/discovery.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "tensor/error.h"

namespace subtb::gflownet {

Discovery::Discovery(const gfn::DiscreteEnv& env, int top_k) : env_(env), k_(top_k) {
  SUBTB_CHECK(top_k > 0, "Discovery: top_k must be positive, got ", top_k);
}

bool Discovery::holds(const std::int32_t* state) const {
  const int S = env_.state_dim();
  for (size_t i = 0; i < log_rewards_.size(); ++i) {
    if (std::equal(state, state + S, states_.begin() + static_cast<std::ptrdiff_t>(i) * S)) return true;
  }
  return false;
}

void Discovery::add(std::span<const std::int32_t> states) {
  const int S = env_.state_dim();
  const int64_t M = static_cast<int64_t>(states.size()) / S;
  if (M == 0) return;
  std::vector<double> log_r(static_cast<size_t>(M));
  env_.log_reward(states, log_r);
  if (env_.num_modes() > 0) {
    std::vector<std::int64_t> ids(static_cast<size_t>(M));
    env_.mode_ids(states, ids);
    for (const std::int64_t id : ids) {
      if (id >= 0) modes_.insert(id);
    }
  }
  for (int64_t b = 0; b < M; ++b) {
    const std::int32_t* s = states.data() + b * S;
    const double r = log_r[static_cast<size_t>(b)];
    if (holds(s)) continue;
    if (held() < k_) {
      states_.insert(states_.end(), s, s + S);
      log_rewards_.push_back(r);
      continue;
    }
    const auto worst = std::min_element(log_rewards_.begin(), log_rewards_.end());
    if (r <= *worst) continue;
    const std::ptrdiff_t i = worst - log_rewards_.begin();
    std::copy(s, s + S, states_.begin() + i * S);
    *worst = r;
  }
}

double Discovery::mean_reward() const {
  if (log_rewards_.empty()) return std::numeric_limits<double>::quiet_NaN();
  double total = 0;
  for (const double r : log_rewards_) total += std::exp(r);
  return total / static_cast<double>(held());
}

double Discovery::mean_log_reward() const {
  if (log_rewards_.empty()) return std::numeric_limits<double>::quiet_NaN();
  double total = 0;
  for (const double r : log_rewards_) total += r;
  return total / static_cast<double>(held());
}

nlohmann::json Discovery::to_json() const { return {{"modes", modes_}, {"top_states", states_}}; }

void Discovery::restore(const nlohmann::json& j) {
  Discovery restored(env_, k_);
  try {
    restored.modes_ = j.at("modes").get<std::set<std::int64_t>>();
    restored.states_ = j.at("top_states").get<std::vector<std::int32_t>>();
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("Discovery: not a saved discovery record: ", e.what());
  }
  const int S = env_.state_dim();
  const size_t held = restored.states_.size() / static_cast<size_t>(S);
  SUBTB_CHECK(restored.states_.size() % static_cast<size_t>(S) == 0 && held <= static_cast<size_t>(k_),
              "Discovery: a saved record of ", restored.states_.size(), " values is not at most ", k_, " states of ",
              S);
  restored.log_rewards_.resize(held);
  if (held > 0) env_.log_reward(restored.states_, restored.log_rewards_);
  modes_ = std::move(restored.modes_);
  states_ = std::move(restored.states_);
  log_rewards_ = std::move(restored.log_rewards_);
}

}  // namespace subtb::gflownet

#include "gflownet/replay_buffer.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tensor/error.h"

namespace subtb::gflownet {

std::string_view to_string(ReplayPriority priority) {
  return priority == ReplayPriority::uniform ? "uniform" : "reward";
}

ReplayPriority parse_replay_priority(std::string_view name) {
  if (name == "uniform") return ReplayPriority::uniform;
  if (name == "reward") return ReplayPriority::reward;
  SUBTB_THROW("replay priority: unknown name '", name, "' (choose uniform or reward)");
}

ReplayBuffer::ReplayBuffer(const gfn::DiscreteEnv& env, int64_t capacity) : env_(&env), capacity_(capacity) {
  SUBTB_CHECK(capacity > 0, "ReplayBuffer: capacity must be positive, got ", capacity);
}

void ReplayBuffer::add(const SampledTrajectories& samples) {
  SUBTB_CHECK(samples.state_dim == env_->state_dim(), "ReplayBuffer::add: samples hold states of ", samples.state_dim,
              " values, ", env_->name(), " has ", env_->state_dim());
  for (int64_t b = 0; b < samples.batch; ++b) {
    const auto first = samples.actions.begin() + b * samples.max_length;
    std::vector<std::int32_t> actions(first, first + samples.lengths[static_cast<size_t>(b)]);
    const double log_reward = samples.log_rewards[static_cast<size_t>(b)];
    if (size() < capacity_) {
      actions_.push_back(std::move(actions));
      log_rewards_.push_back(log_reward);
    } else {
      actions_[static_cast<size_t>(next_)] = std::move(actions);
      log_rewards_[static_cast<size_t>(next_)] = log_reward;
      next_ = (next_ + 1) % capacity_;
    }
  }
}

std::vector<int64_t> ReplayBuffer::draw(int64_t n, ReplayPriority priority, Generator& gen) const {
  SUBTB_CHECK(size() > 0, "ReplayBuffer::draw: the buffer is empty");
  SUBTB_CHECK(n >= 0, "ReplayBuffer::draw: n must be non-negative, got ", n);
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (n == 0) return out;
  const std::vector<double> u = rand({n}, DType::f64, kCPU, &gen).to_vector<double>();
  if (priority == ReplayPriority::uniform) {
    for (int64_t i = 0; i < n; ++i) {
      out[static_cast<size_t>(i)] =
          std::min(size() - 1, static_cast<int64_t>(u[static_cast<size_t>(i)] * static_cast<double>(size())));
    }
    return out;
  }
  // Cumulative R / max R (a softmax of the log-rewards, shifted so the largest term is 1).
  const double top = *std::max_element(log_rewards_.begin(), log_rewards_.end());
  SUBTB_CHECK(std::isfinite(top), "ReplayBuffer::draw: reward priority needs a finite log-reward, the best is ", top);
  std::vector<double> cumulative(log_rewards_.size());
  double total = 0;
  for (size_t i = 0; i < log_rewards_.size(); ++i) cumulative[i] = total += std::exp(log_rewards_[i] - top);
  for (int64_t i = 0; i < n; ++i) {
    const double target = u[static_cast<size_t>(i)] * total;
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
    out[static_cast<size_t>(i)] = std::min<int64_t>(size() - 1, it - cumulative.begin());
  }
  return out;
}

SampledTrajectories ReplayBuffer::trajectories(const std::vector<int64_t>& indices) const {
  const int S = env_->state_dim();
  SampledTrajectories out;
  out.batch = static_cast<int64_t>(indices.size());
  out.state_dim = S;
  for (int64_t index : indices) {
    SUBTB_CHECK(index >= 0 && index < size(), "ReplayBuffer::trajectories: index ", index, " outside [0, ", size(),
                ")");
    out.max_length = std::max(out.max_length, static_cast<int64_t>(actions_[static_cast<size_t>(index)].size()));
  }
  const int64_t B = out.batch, L = out.max_length;
  out.states.resize(static_cast<size_t>(B * (L + 1) * S));
  out.actions.assign(static_cast<size_t>(B * L), gfn::DiscreteEnv::no_action);
  out.lengths.resize(static_cast<size_t>(B));
  std::vector<std::int32_t> current(static_cast<size_t>(B * S)), step_actions(static_cast<size_t>(B));
  env_->reset(current);
  for (int64_t t = 0;; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      std::copy_n(current.begin() + b * S, S, out.states.begin() + (b * (L + 1) + t) * S);
    }
    if (t == L) break;
    for (int64_t b = 0; b < B; ++b) {
      const std::vector<std::int32_t>& a = actions_[static_cast<size_t>(indices[static_cast<size_t>(b)])];
      const std::int32_t action =
          t < static_cast<int64_t>(a.size()) ? a[static_cast<size_t>(t)] : gfn::DiscreteEnv::no_action;
      step_actions[static_cast<size_t>(b)] = action;
      out.actions[static_cast<size_t>(b * L + t)] = action;
    }
    env_->step(current, step_actions);
  }
  for (int64_t b = 0; b < B; ++b) {
    out.lengths[static_cast<size_t>(b)] =
        static_cast<int64_t>(actions_[static_cast<size_t>(indices[static_cast<size_t>(b)])].size());
  }
  out.log_rewards.resize(static_cast<size_t>(B));
  if (B > 0) env_->log_reward(out.terminal_states(), out.log_rewards);
  return out;
}

nlohmann::json ReplayBuffer::to_json() const { return {{"next", next_}, {"actions", actions_}}; }

void ReplayBuffer::restore(const nlohmann::json& j) {
  std::vector<std::vector<std::int32_t>> actions;
  int64_t next = 0;
  try {
    actions = j.at("actions").get<std::vector<std::vector<std::int32_t>>>();
    next = j.at("next").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("ReplayBuffer: not a saved buffer: ", e.what());
  }
  SUBTB_CHECK(static_cast<int64_t>(actions.size()) <= capacity_ && next >= 0 && next < capacity_,
              "ReplayBuffer: a saved buffer of ", actions.size(), " entries (next slot ", next,
              ") does not fit the capacity ", capacity_);
  ReplayBuffer restored(*env_, capacity_);
  restored.actions_ = std::move(actions);
  std::vector<int64_t> all(restored.actions_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  // Replaying checks every action against the masks and log_reward that each entry ends
  // in a terminal state; either throws naming the row.
  const SampledTrajectories replayed = restored.trajectories(all);
  actions_ = std::move(restored.actions_);
  log_rewards_ = replayed.log_rewards;
  next_ = next;
}

}  // namespace subtb::gflownet

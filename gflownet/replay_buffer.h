#pragma once
// A replay buffer of complete trajectories for off-policy training. Each entry keeps only
// the actions taken from s_0 (the states are replayed through the environment when the
// entry is drawn), so the buffer is small enough to travel in a checkpoint's JSON, and a
// replayed trajectory is re-evaluated under the current policy like a fresh one.
//
// Eviction is first in, first out. Draws are with replacement, uniform over the entries
// or proportional to R(x) (a softmax over the stored log-rewards).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string_view>
#include <vector>

#include "envs/gfn/discrete_env.h"
#include "gflownet/sampler.h"
#include "tensor/ops/random.h"

namespace subtb::gflownet {

enum class ReplayPriority { uniform, reward };
std::string_view to_string(ReplayPriority priority);
// "uniform" or "reward"; throws listing the choices.
ReplayPriority parse_replay_priority(std::string_view name);

class ReplayBuffer {
 public:
  ReplayBuffer(const gfn::DiscreteEnv& env, int64_t capacity);

  int64_t size() const { return static_cast<int64_t>(actions_.size()); }
  int64_t capacity() const { return capacity_; }

  // Stores every row of `samples`, evicting the oldest entries beyond the capacity.
  void add(const SampledTrajectories& samples);
  // `n` entry indices drawn with replacement, from exactly n uniforms of `gen`; throws on
  // an empty buffer.
  std::vector<int64_t> draw(int64_t n, ReplayPriority priority, Generator& gen) const;
  // The entries as trajectories, their states replayed from s_0.
  SampledTrajectories trajectories(const std::vector<int64_t>& indices) const;

  // {"next": <slot of the next insertion once full>, "actions": [[a_0, ...], ...]}.
  nlohmann::json to_json() const;
  // Replaces the contents with what to_json wrote; throws naming the problem when an
  // entry does not replay on this environment.
  void restore(const nlohmann::json& j);

 private:
  const gfn::DiscreteEnv* env_;  // a pointer, so that buffers assign
  int64_t capacity_;
  int64_t next_ = 0;                                // the slot the next entry overwrites once full
  std::vector<std::vector<std::int32_t>> actions_;  // per entry, the actions from s_0
  std::vector<double> log_rewards_;
};

}  // namespace subtb::gflownet

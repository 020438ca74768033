#pragma once
// What a run has found so far among the terminal states it sampled: the modes of the
// environment reached (DiscreteEnv::mode_ids: bit sequences within the mode threshold,
// the hypergrid's reward-band corners) and the best `k` unique objects (the FL-GFN
// paper's "mean of the top-100 rewards among all unique sets sampled").
//
// Only the k best unique objects are kept, not every object seen: an object evicted from
// the top k (or never admitted) can never qualify again, since the k-th best only rises,
// so the top k is the same as over the full set of unique objects, in O(k) memory that
// fits in a checkpoint.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <span>
#include <vector>

#include "envs/gfn/discrete_env.h"

namespace subtb::gflownet {

class Discovery {
 public:
  Discovery(const gfn::DiscreteEnv& env, int top_k);

  // states: [M, state_dim] terminal states.
  void add(std::span<const std::int32_t> states);

  int64_t modes_found() const { return static_cast<int64_t>(modes_.size()); }
  int top_k() const { return k_; }
  // How many of the best are held: min(k, unique objects seen).
  int64_t held() const { return static_cast<int64_t>(log_rewards_.size()); }
  // Mean of R and of log R over the held objects; NaN when none.
  double mean_reward() const;
  double mean_log_reward() const;

  nlohmann::json to_json() const;
  // Replaces the contents with what to_json wrote (log-rewards recomputed); throws naming
  // the problem when it does not fit the environment.
  void restore(const nlohmann::json& j);

 private:
  bool holds(const std::int32_t* state) const;

  const gfn::DiscreteEnv& env_;
  int k_;
  std::set<std::int64_t> modes_;
  std::vector<std::int32_t> states_;  // [held, state_dim], unordered
  std::vector<double> log_rewards_;   // [held]
};

}  // namespace subtb::gflownet

#pragma once
// SetGeneration: the set-generation task of Pan et al. (2023, forward-looking GFlowNets).
// A set of `set_size` elements is built from a universe of `universe_size` by adding one
// element per step; there is no exit action, the episode ends when the set is full.
//   R(S) = exp(-sum_{a in S} E_a),
// and since the energy is additive, every partial set has the intermediate reward
// exp(-sum of its energies): state_log_reward gives it (the forward-looking case).
//
// State row: [member_0, ..., member_{U-1}, size], members 0/1. Actions: add element a.
// Backward actions: remove element a, allowed for each member: a set of size j has j
// parents, and since the same set is reached in set_size! orders, the uniform P_B is what
// makes every order of a set equally likely. Encoding: the U membership bits as floats.
//
// log Z here sums R over *sets*, the quantity a GFlowNet's log Z (and log F(s_0)) learns
// under any proper P_B. Summed over trajectories instead (each order counted apart),
// the total would be set_size! times larger: log Z + lgamma(set_size + 1).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "envs/gfn/discrete_env.h"

namespace subtb::gfn {

struct SetGenerationConfig {
  std::string task = "custom";
  int universe_size = 0;
  int set_size = 0;
  std::vector<double> energies;  // [universe_size] E_a
};

// The paper's tasks ("small": 20 of 30, "medium": 60 of 80, "large": 80 of 100) from
// data/fl_set_energies.json (found by find_data_file when `path` is empty).
SetGenerationConfig set_generation_task(std::string_view task, const std::string& path = {});

class SetGeneration final : public DiscreteEnv {
 public:
  explicit SetGeneration(SetGenerationConfig config);

  std::string name() const override;
  const SetGenerationConfig& config() const { return config_; }

  bool has_state_log_reward() const override { return true; }

  // log e_k(w_1, ..., w_U) with w_a = exp(-E_a) and k = set_size: the elementary
  // symmetric polynomial, by a dynamic program over the elements in log space (O(U k)).
  double log_partition() const override;

 protected:
  void reset_rows(std::int32_t* states, std::int64_t batch) const override;
  void forward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const override;
  void step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const override;
  void backward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const override;
  void backward_step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const override;
  void terminal_rows(const std::int32_t* states, std::int64_t batch, bool* out) const override;
  void log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const override;
  void state_log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const override;
  void encode_rows(const std::int32_t* states, std::int64_t batch, float* out) const override;
  std::int32_t forward_action_of(const std::int32_t* state, std::int32_t backward_action) const override;

 private:
  double set_log_reward(const std::int32_t* state) const;

  SetGenerationConfig config_;
};

}  // namespace subtb::gfn

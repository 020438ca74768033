#pragma once
// HyperGrid(D, H, R0, R1, R2): the grid environment of Bengio et al. (2021) as torchgfn
// defines it. Objects are points x in {0..H-1}^D, s_0 = 0, and
//   R(x) = R0 + R1 prod_d 1[0.25 < |x_d/(H-1) - 0.5|] + R2 prod_d 1[0.3 < |x_d/(H-1) - 0.5| < 0.4].
// The band tests are evaluated exactly in integers (no rounding at the band edges).
//
// State row: [x_0, ..., x_{D-1}, done]. Forward actions: 0..D-1 increment x_d, D exits.
// Backward actions: 0..D-1 decrement x_d, D undoes the exit.
//
// Two MDPs over the same grid:
//  - torchgfn (default): x_d increments while x_d < H-1; exit is allowed from every state,
//    s_0 included. Every point is terminal, so Z sums R over all H^D points.
//  - original_2021 (the code of Bengio et al. 2021): same actions, but the episode ends by
//    itself when a coordinate reaches H-1 (no exit step there). A point with two or more
//    coordinates at H-1 is unreachable, so the terminal set, Z and the target
//    distribution hold only the points with at most one coordinate at H-1, and a boundary
//    point has one parent (decrementing its H-1 coordinate). Trajectories are one step
//    shorter when they end on the boundary.
// Backward policy: uniform over the parents (the coordinates > 0 that lead back to a
// non-terminal state, or the exit).
#include <cstdint>
#include <string>
#include <vector>

#include "envs/gfn/discrete_env.h"

namespace subtb::gfn {

enum class HyperGridMdp { torchgfn, original_2021 };

struct HyperGridConfig {
  int dim = 2;      // D
  int height = 8;   // H
  double r0 = 0.1;  // R0 >= 0 (0 gives log R = -inf off the bands)
  double r1 = 0.5;
  double r2 = 2.0;
  HyperGridMdp mdp = HyperGridMdp::torchgfn;
};

class HyperGrid final : public DiscreteEnv {
 public:
  explicit HyperGrid(HyperGridConfig config);

  std::string name() const override;
  const HyperGridConfig& config() const { return config_; }

  bool has_state_log_reward() const override { return true; }  // any point may be the object

  // Modes: the points in the R2 band in every coordinate ({1, 6} per coordinate for H = 8,
  // {2, 9} for H = 12); mode ids count them in mixed radix over the band's values.
  std::int64_t num_modes() const override;
  const std::vector<int>& mode_coordinates() const { return mode_coordinates_; }

  std::int64_t num_terminal_states() const override;
  void terminal_state(std::int64_t index, std::int32_t* state) const override;
  std::int64_t terminal_index(const std::int32_t* state) const override;
  std::int64_t num_nonterminal_states() const override;
  void nonterminal_state(std::int64_t index, std::int32_t* state) const override;
  std::int64_t nonterminal_index(const std::int32_t* state) const override;
  // Closed form: R is a sum of three terms that each factor over the coordinates.
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
  void mode_id_rows(const std::int32_t* states, std::int64_t batch, std::int64_t* out) const override;
  std::int32_t forward_action_of(const std::int32_t* state, std::int32_t backward_action) const override;

 private:
  bool original() const { return config_.mdp == HyperGridMdp::original_2021; }
  bool backward_allowed(const std::int32_t* state, std::int32_t action) const;
  double point_log_reward(const std::int32_t* x) const;

  HyperGridConfig config_;
  int edge_;                            // H - 1
  std::vector<std::uint8_t> outer_;     // [H] 0.25 < |i/(H-1) - 0.5|
  std::vector<std::uint8_t> inner_;     // [H] 0.3 < |i/(H-1) - 0.5| < 0.4
  std::vector<int> mode_coordinates_;   // the i with inner_[i], ascending
  std::vector<int> mode_digit_;         // [H] position of i in mode_coordinates_, or -1
  double log_reward_by_band_[4];        // indexed by (all outer) + 2 (all inner)
};

}  // namespace subtb::gfn

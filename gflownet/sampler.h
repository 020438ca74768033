#pragma once
// Forward sampling of trajectories from a Policy on an environment of envs/gfn, and their
// evaluation into a TrajectoryBatch.
//
// Sampling runs on the host without grad: one policy forward per step over the rows still
// running, masked actions never drawn. Evaluation is the differentiable half: every state
// a trajectory visits (not the padding, which repeats terminal states) is encoded and goes
// through one batched forward, so a training step costs a single pass over the states
// actually visited, however uneven the trajectory lengths.
#include <cstdint>
#include <span>
#include <vector>

#include "envs/gfn/discrete_env.h"
#include "gflownet/policy.h"
#include "gflownet/trajectory_batch.h"
#include "tensor/ops/random.h"

namespace subtb::gflownet {

struct SamplerOptions {
  // Exploration: the sampled action comes from (1 - epsilon) P_F + epsilon Uniform(valid actions).
  double epsilon = 0.0;
  // P_F's logits are divided by it while sampling (1: the policy itself).
  double temperature = 1.0;
};

// B complete trajectories as host arrays, padded to the longest of the batch (L steps).
struct SampledTrajectories {
  int64_t batch = 0;       // B
  int64_t max_length = 0;  // L
  int state_dim = 0;
  std::vector<std::int32_t> states;   // [B, L + 1, state_dim]; past a trajectory's end its terminal state repeats
  std::vector<std::int32_t> actions;  // [B, L], DiscreteEnv::no_action past the end
  std::vector<int64_t> lengths;       // [B] steps, the exit included
  std::vector<double> log_rewards;    // [B] log R of each terminal state

  const std::int32_t* state(int64_t row, int64_t t) const {
    return states.data() + (row * (max_length + 1) + t) * state_dim;
  }
  // [B, state_dim] the terminal state of each trajectory.
  std::vector<std::int32_t> terminal_states() const;
};

// Samples `batch` trajectories from s_0 until every one is terminal. The draws come from
// `gen` only (a fixed number per step), so a seed fixes the batch.
SampledTrajectories sample_trajectories(const gfn::DiscreteEnv& env, Policy& policy, int64_t batch,
                                        const SamplerOptions& options, Generator& gen);

// Rolls each of the terminal states ([M, state_dim]) back to s_0 with P_B: the policy's
// backward head when P_B is learned, else uniform over the parents. Returns the
// trajectories in forward order, as if sampled forward (log_rewards of the given states):
// evaluate_trajectories then scores them under P_F like any other. M uniforms per step.
SampledTrajectories sample_backward_trajectories(const gfn::DiscreteEnv& env, Policy& policy,
                                                 std::span<const std::int32_t> terminal_states, Generator& gen);

// The rows of every part, in order, padded to the longest. Parts without rows (default
// constructed ones included) are skipped.
SampledTrajectories concatenate(const std::vector<const SampledTrajectories*>& parts);

// The policy's view of sampled trajectories, with grad: log_pf, log_pb, log_flow (the
// model's log F of every state; the objectives read log_flow_with_terminal_reward()),
// log_reward, lengths, actions, is_exit, states (the encodings) and forward_masks.
// log P_F is the policy's own (no exploration, temperature 1); log P_B is -log #parents
// of s_{t+1} for a uniform P_B, else the backward head at s_{t+1} for the backward action
// that undoes the step (0 at an exit step, whose state has one parent). Entries past a
// trajectory's end are finite padding.
TrajectoryBatch evaluate_trajectories(const gfn::DiscreteEnv& env, Policy& policy, const SampledTrajectories& samples);

// Log-softmax of `logits` [N, C] over the entries `mask` (b8 [N, C]) allows, -inf
// elsewhere; a row with nothing allowed (a terminal state) is normalised over all entries
// instead, so that it stays finite: its values are padding.
Tensor masked_log_softmax(const Tensor& logits, const Tensor& mask);

}  // namespace subtb::gflownet

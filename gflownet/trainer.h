#pragma once
// GFlowNet training on any environment of envs/gfn: each step samples a batch of
// trajectories (with optional epsilon-uniform exploration), evaluates them with grad,
// takes the objective's loss and applies one Adam update, log Z at its own learning rate.
// With a replay buffer part of each batch is off-policy: trajectories of earlier steps
// (re-scored under the current policy), and terminal states of the buffer rolled back to
// s_0 with P_B (backward sampling).
// Deterministic on the CPU for a seed: the initial weights and the sampler draw from
// their own generators, both seeded from it. A checkpoint holds all of that state, so a
// trainer restored from one continues exactly as the one that wrote it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "envs/gfn/discrete_env.h"
#include "gflownet/policy.h"
#include "gflownet/replay_buffer.h"
#include "gflownet/sampler.h"
#include "gflownet/subtb.h"
#include "nn/checkpoint.h"
#include "nn/optim_adam.h"

namespace subtb::gflownet {

// tb: trajectory balance; db: detailed balance; subtb: SubTB(lambda); fldb / flsubtb:
// their forward-looking forms (log F(s) = log F~(s) + log R(s), needs the environment's
// intermediate rewards); fm: flow matching over edge flows (the P_F logits, needs
// parents); mdb: modified DB (every state may terminate: an exit action and a reward on
// every state); zvar: variance TB (no learned log Z).
enum class Objective { tb, db, subtb, fldb, flsubtb, fm, mdb, zvar };
std::string_view to_string(Objective objective);
// One of the names above; throws listing the choices.
Objective parse_objective(std::string_view name);
// Throws naming the objective and the environment when `env` lacks what the objective
// needs (intermediate rewards, an exit from every state).
void check_objective_supported(Objective objective, const gfn::DiscreteEnv& env);

// Off-policy training: capacity 0 trains on-policy only.
struct ReplayConfig {
  int64_t capacity = 0;          // trajectories kept (first in, first out)
  double fraction = 0.0;         // share of each batch replayed from the buffer, in [0, 1)
  double backward_fraction = 0;  // share made by rolling the buffer's terminal states back with P_B
  ReplayPriority priority = ReplayPriority::uniform;  // how entries are drawn
};
struct TrainerConfig {
  Objective objective = Objective::tb;
  SubTBOptions subtb;  // lambda and weighting of Objective::subtb
  int64_t hidden = 256;
  int64_t layers = 2;
  BackwardPolicy backward = BackwardPolicy::uniform;
  SamplerOptions sampling;
  int64_t batch = 16;
  double lr = 1e-3;       // the network's
  double lr_log_z = 0.1;  // trajectory balance's log Z
  uint64_t seed = 0;
  // A step whose loss is not finite changes nothing (but the sampler's stream) and
  // returns that loss, instead of throwing.
  bool skip_nonfinite = false;
  ReplayConfig replay;
  Device device = kCPU;  // of the policy and the loss; sampling runs on the host
};

// The loss of `objective` on an evaluated batch (log_z: TB's scalar, unused otherwise).
// Every objective but fm (which needs edge flows, flow_matching_batch.h): the FL ones
// read batch.log_reward_states, mdb also batch.log_pf_exit.
Tensor objective_loss(const TrajectoryBatch& batch, Objective objective, const SubTBOptions& subtb,
                      const Tensor& log_z);

class Trainer {
 public:
  Trainer(const gfn::DiscreteEnv& env, const TrainerConfig& config);

  // One training step; returns its loss. A loss that is not finite throws naming the
  // step, before any parameter changes, unless config.skip_nonfinite.
  double step();

  int64_t steps_done() const { return steps_done_; }
  const TrainerConfig& config() const { return config_; }
  Policy& policy() { return policy_; }
  // The on-policy trajectories of the latest step (without the replayed ones).
  const SampledTrajectories& last_samples() const { return last_samples_; }
  // The model's estimate of log Z: the TB scalar; log F(s_0) for the flow objectives
  // (plus log R(s_0) for the FL ones); the log of the total out-flow of s_0 for fm;
  // log R(s_0) - log P_F(exit | s_0) for mdb; the batch mean of the log Z estimates of
  // the latest step for zvar (NaN before the first step).
  double learned_log_z();

  // The policy, Adam's state (log Z's group included), both generators and the step,
  // written atomically with config_json (any JSON text) alongside.
  // The replay buffer goes into the JSON under "replay_buffer" (config_json must then be
  // an object).
  void save_checkpoint(const std::string& path, const std::string& config_json);
  // Restores what save_checkpoint wrote and returns the step and the JSON text; throws
  // naming the file, without changing the trainer, when it is missing, corrupt or made
  // for another model.
  nn::CheckpointInfo load_checkpoint(const std::string& path);

 private:
  nn::TrainingState training_state();
  // The step's batch: fresh on-policy trajectories, then replayed and backward ones.
  SampledTrajectories sample_batch();
  Tensor loss(const SampledTrajectories& batch);

  const gfn::DiscreteEnv& env_;
  TrainerConfig config_;
  Generator init_gen_;
  Generator sample_gen_;
  Policy policy_;
  nn::Adam optimizer_;
  std::optional<ReplayBuffer> replay_;
  SampledTrajectories last_samples_;
  double last_zvar_log_z_;
  int64_t steps_done_ = 0;
};

}  // namespace subtb::gflownet

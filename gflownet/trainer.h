#pragma once
// On-policy GFlowNet training on an environment of envs/gfn: each step samples a batch
// of trajectories (with optional epsilon-uniform exploration), evaluates them with grad,
// takes the objective's loss and applies one Adam update, log Z at its own learning rate.
// Deterministic on the CPU for a seed: the initial weights and the sampler draw from
// their own generators, both seeded from it. A checkpoint holds all of that state, so a
// trainer restored from one continues exactly as the one that wrote it.
#include <cstdint>
#include <string>
#include <string_view>

#include "envs/gfn/discrete_env.h"
#include "gflownet/policy.h"
#include "gflownet/sampler.h"
#include "gflownet/subtb.h"
#include "nn/checkpoint.h"
#include "nn/optim_adam.h"

namespace subtb::gflownet {

enum class Objective { tb, db, subtb };
std::string_view to_string(Objective objective);
// "tb", "db" or "subtb"; throws listing the choices.
Objective parse_objective(std::string_view name);

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
};

// The loss of `objective` on an evaluated batch (log_z: TB's scalar, unused otherwise).
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
  // The trajectories of the latest step.
  const SampledTrajectories& last_samples() const { return last_samples_; }
  // The model's log Z: the TB scalar, or log F(s_0) for the flow objectives.
  double learned_log_z();

  // The policy, Adam's state (log Z's group included), both generators and the step,
  // written atomically with config_json (any JSON text) alongside.
  void save_checkpoint(const std::string& path, const std::string& config_json);
  // Restores what save_checkpoint wrote and returns the step and the JSON text; throws
  // naming the file, without changing the trainer, when it is missing, corrupt or made
  // for another model.
  nn::CheckpointInfo load_checkpoint(const std::string& path);

 private:
  nn::TrainingState training_state();

  const gfn::DiscreteEnv& env_;
  TrainerConfig config_;
  Generator init_gen_;
  Generator sample_gen_;
  Policy policy_;
  nn::Adam optimizer_;
  SampledTrajectories last_samples_;
  int64_t steps_done_ = 0;
};

}  // namespace subtb::gflownet

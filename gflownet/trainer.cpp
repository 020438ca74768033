#include "gflownet/trainer.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "gflownet/objectives.h"
#include "tensor/ops.h"

namespace subtb::gflownet {

std::string_view to_string(Objective objective) {
  switch (objective) {
    case Objective::tb:
      return "tb";
    case Objective::db:
      return "db";
    case Objective::subtb:
      return "subtb";
  }
  return "?";
}

Objective parse_objective(std::string_view name) {
  for (Objective o : {Objective::tb, Objective::db, Objective::subtb}) {
    if (name == to_string(o)) return o;
  }
  SUBTB_THROW("objective: unknown name '", name, "' (choose tb, db or subtb)");
}

Tensor objective_loss(const TrajectoryBatch& batch, Objective objective, const SubTBOptions& subtb,
                      const Tensor& log_z) {
  switch (objective) {
    case Objective::tb:
      return trajectory_balance(batch.log_pf, batch.log_pb, batch.lengths, batch.log_reward, log_z);
    case Objective::db:
      return detailed_balance(batch.log_pf, batch.log_pb, batch.log_flow_with_terminal_reward(), batch.lengths);
    case Objective::subtb:
      return subtb_loss(batch.log_pf, batch.log_pb, batch.log_flow_with_terminal_reward(), batch.lengths, subtb);
  }
  SUBTB_THROW("objective_loss: unknown objective");
}

namespace {

// Distinct streams for the initial weights and the sampler, both fixed by the seed.
constexpr uint64_t kSamplerStream = 0x5851F42D4C957F2Dull;

PolicyConfig policy_config(const gfn::DiscreteEnv& env, const TrainerConfig& c) {
  return {env.encoding_dim(), env.num_actions(), env.num_backward_actions(), c.hidden, c.layers, c.backward};
}

std::vector<nn::ParamGroup> param_groups(const Policy& policy, const TrainerConfig& c) {
  return {nn::ParamGroup{policy.network_parameters(), c.lr}, nn::ParamGroup{{policy.log_z}, c.lr_log_z}};
}

}  // namespace

Trainer::Trainer(const gfn::DiscreteEnv& env, const TrainerConfig& config)
    : env_(env),
      config_(config),
      init_gen_(config.seed),
      sample_gen_(config.seed ^ kSamplerStream),
      policy_(policy_config(env, config), init_gen_),
      optimizer_(param_groups(policy_, config), nn::AdamOptions{config.lr}) {
  SUBTB_CHECK(config.batch > 0, "Trainer: batch must be positive, got ", config.batch);
  SUBTB_CHECK(config.lr > 0 && config.lr_log_z > 0, "Trainer: learning rates must be positive, got lr ", config.lr,
              ", lr_log_z ", config.lr_log_z);
}

double Trainer::step() {
  last_samples_ = sample_trajectories(env_, policy_, config_.batch, config_.sampling, sample_gen_);
  const TrajectoryBatch batch = evaluate_trajectories(env_, policy_, last_samples_);
  const Tensor loss = objective_loss(batch, config_.objective, config_.subtb, policy_.log_z);
  const double value = loss.item();
  const int64_t step = steps_done_ + 1;
  if (!std::isfinite(value)) {
    SUBTB_CHECK(config_.skip_nonfinite, "training step ", step, ": the ", to_string(config_.objective),
                " loss is not finite (", value, ")");
    steps_done_ = step;
    return value;
  }
  optimizer_.zero_grad();
  loss.backward();
  optimizer_.step();
  steps_done_ = step;
  return value;
}

nn::TrainingState Trainer::training_state() {
  return {policy_, &optimizer_, {{"init", &init_gen_}, {"sampler", &sample_gen_}}};
}

void Trainer::save_checkpoint(const std::string& path, const std::string& config_json) {
  nn::save_checkpoint(path, training_state(), steps_done_, config_json);
}

nn::CheckpointInfo Trainer::load_checkpoint(const std::string& path) {
  const nn::CheckpointInfo info = nn::load_checkpoint(path, training_state());
  steps_done_ = info.step;
  last_samples_ = {};
  return info;
}

double Trainer::learned_log_z() {
  if (config_.objective == Objective::tb) return policy_.log_z.item();
  NoGradGuard no_grad;
  std::vector<std::int32_t> s0(static_cast<size_t>(env_.state_dim()));
  env_.reset(s0);
  std::vector<float> encoded(static_cast<size_t>(env_.encoding_dim()));
  env_.encode(s0, encoded);
  return policy_.forward(from_vector<float>(encoded, Shape{1, env_.encoding_dim()})).log_flow.item();
}

}  // namespace subtb::gflownet

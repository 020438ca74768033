#include "gflownet/trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "gflownet/flow_matching_batch.h"
#include "gflownet/objectives.h"
#include "nn/safetensors.h"
#include "tensor/ops.h"

namespace subtb::gflownet {

namespace {

constexpr Objective kObjectives[] = {Objective::tb,      Objective::db, Objective::subtb, Objective::fldb,
                                     Objective::flsubtb, Objective::fm, Objective::mdb,   Objective::zvar};

bool forward_looking(Objective o) { return o == Objective::fldb || o == Objective::flsubtb; }

}  // namespace

std::string_view to_string(Objective objective) {
  switch (objective) {
    case Objective::tb:
      return "tb";
    case Objective::db:
      return "db";
    case Objective::subtb:
      return "subtb";
    case Objective::fldb:
      return "fldb";
    case Objective::flsubtb:
      return "flsubtb";
    case Objective::fm:
      return "fm";
    case Objective::mdb:
      return "mdb";
    case Objective::zvar:
      return "zvar";
  }
  return "?";
}

Objective parse_objective(std::string_view name) {
  for (Objective o : kObjectives) {
    if (name == to_string(o)) return o;
  }
  SUBTB_THROW("objective: unknown name '", name, "' (choose tb, db, subtb, fldb, flsubtb, fm, mdb or zvar)");
}

void check_objective_supported(Objective objective, const gfn::DiscreteEnv& env) {
  if (forward_looking(objective)) {
    SUBTB_CHECK(env.has_state_log_reward(), "objective ", to_string(objective), ": ", env.name(),
                " has no intermediate rewards (a reward on every state), which the forward-looking objectives need");
  }
  if (objective == Objective::mdb) {
    SUBTB_CHECK(env.has_state_log_reward() && env.exit_action() >= 0, "objective mdb: ", env.name(),
                " does not let every state terminate (it needs an exit action and a reward on every state)");
  }
}

Tensor objective_loss(const TrajectoryBatch& batch, Objective objective, const SubTBOptions& subtb,
                      const Tensor& log_z) {
  const auto needs = [&](const Tensor& field, const char* name) {
    SUBTB_CHECK(field.defined(), "objective_loss: ", to_string(objective), " needs the batch's ", name);
  };
  switch (objective) {
    case Objective::tb:
      return trajectory_balance(batch.log_pf, batch.log_pb, batch.lengths, batch.log_reward, log_z);
    case Objective::db:
      return detailed_balance(batch.log_pf, batch.log_pb, batch.log_flow_with_terminal_reward(), batch.lengths);
    case Objective::subtb:
      return subtb_loss(batch.log_pf, batch.log_pb, batch.log_flow_with_terminal_reward(), batch.lengths, subtb);
    case Objective::fldb:
      needs(batch.log_reward_states, "log_reward_states");
      return detailed_balance(batch.log_pf, batch.log_pb, batch.log_flow_with_terminal_reward(), batch.lengths,
                              TransitionReduction::transition_mean, {}, batch.log_reward_states);
    case Objective::flsubtb:
      needs(batch.log_reward_states, "log_reward_states");
      return subtb_loss(batch.log_pf, batch.log_pb, batch.log_flow_with_terminal_reward(), batch.lengths, subtb,
                        batch.log_reward_states);
    case Objective::mdb: {
      needs(batch.log_reward_states, "log_reward_states");
      needs(batch.log_pf_exit, "log_pf_exit");
      needs(batch.is_exit, "is_exit");
      // The transitions between objects: every step but the closing exit.
      const int64_t L = batch.max_length();
      const Tensor ends_with_exit = any(logical_and(batch.is_exit, step_mask(batch.lengths, L)), {1});
      const Tensor inner_lengths = batch.lengths - ends_with_exit.to(DType::i64);
      return modified_detailed_balance(batch.log_pf, batch.log_pb, batch.log_pf_exit, batch.log_reward_states,
                                       inner_lengths);
    }
    case Objective::zvar:
      return variance_trajectory_balance(batch.log_pf, batch.log_pb, batch.lengths, batch.log_reward);
    case Objective::fm:
      SUBTB_THROW("objective_loss: fm is defined on edge flows, not on a trajectory batch (see flow_matching_loss)");
  }
  SUBTB_THROW("objective_loss: unknown objective");
}

namespace {

// Distinct streams for the initial weights and the sampler, both fixed by the seed.
constexpr uint64_t kSamplerStream = 0x5851F42D4C957F2Dull;

PolicyConfig policy_config(const gfn::DiscreteEnv& env, const TrainerConfig& c) {
  return {env.encoding_dim(), env.num_actions(), env.num_backward_actions(), c.hidden, c.layers, c.backward, c.device};
}

// Rows of a share of the batch, rounded to the nearest.
int64_t share(double fraction, int64_t batch) { return std::llround(fraction * static_cast<double>(batch)); }

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
      optimizer_(param_groups(policy_, config), nn::AdamOptions{config.lr}),
      last_zvar_log_z_(std::numeric_limits<double>::quiet_NaN()) {
  SUBTB_CHECK(config.batch > 0, "Trainer: batch must be positive, got ", config.batch);
  SUBTB_CHECK(config.lr > 0 && config.lr_log_z > 0, "Trainer: learning rates must be positive, got lr ", config.lr,
              ", lr_log_z ", config.lr_log_z);
  check_objective_supported(config.objective, env);
  const ReplayConfig& r = config.replay;
  SUBTB_CHECK(r.capacity >= 0 && r.fraction >= 0 && r.backward_fraction >= 0 && r.fraction + r.backward_fraction < 1,
              "Trainer: replay needs capacity >= 0 and fractions >= 0 that sum below 1 (a batch keeps fresh "
              "trajectories), got capacity ",
              r.capacity, ", fraction ", r.fraction, ", backward_fraction ", r.backward_fraction);
  SUBTB_CHECK(r.capacity > 0 || (r.fraction == 0 && r.backward_fraction == 0),
              "Trainer: replay fractions need a replay buffer (capacity > 0), got fraction ", r.fraction,
              ", backward_fraction ", r.backward_fraction);
  if (r.capacity > 0) replay_.emplace(env, r.capacity);
}

SampledTrajectories Trainer::sample_batch() {
  // Until the buffer holds something the whole batch is fresh.
  const bool replaying = replay_ && replay_->size() > 0;
  // Rounding may not take the last fresh row: it keeps the buffer growing.
  const int64_t replayed = replaying ? std::min(share(config_.replay.fraction, config_.batch), config_.batch - 1) : 0;
  const int64_t backward =
      replaying ? std::min(share(config_.replay.backward_fraction, config_.batch), config_.batch - 1 - replayed) : 0;
  last_samples_ =
      sample_trajectories(env_, policy_, config_.batch - replayed - backward, config_.sampling, sample_gen_);
  if (!replaying || replayed + backward == 0) return last_samples_;
  const SampledTrajectories old = replay_->trajectories(replay_->draw(replayed, config_.replay.priority, sample_gen_));
  SampledTrajectories reversed;
  if (backward > 0) {
    const SampledTrajectories seeds =
        replay_->trajectories(replay_->draw(backward, config_.replay.priority, sample_gen_));
    reversed = sample_backward_trajectories(env_, policy_, seeds.terminal_states(), sample_gen_);
  }
  return concatenate({&last_samples_, &old, &reversed});
}

Tensor Trainer::loss(const SampledTrajectories& samples) {
  if (config_.objective == Objective::fm) return flow_matching_loss(env_, policy_, samples);
  const TrajectoryBatch batch = evaluate_trajectories(env_, policy_, samples);
  if (config_.objective == Objective::zvar) {
    NoGradGuard no_grad;
    const Tensor mask = step_mask(batch.lengths, batch.max_length());
    const Tensor path = sum(where(mask, batch.log_pf - batch.log_pb, 0.0), {1});
    last_zvar_log_z_ = mean(batch.log_reward - path).item();
  }
  return objective_loss(batch, config_.objective, config_.subtb, policy_.log_z);
}

double Trainer::step() {
  const SampledTrajectories samples = sample_batch();
  const Tensor loss_value = loss(samples);
  const double value = loss_value.item();
  const int64_t step = steps_done_ + 1;
  if (replay_) replay_->add(last_samples_);
  if (!std::isfinite(value)) {
    SUBTB_CHECK(config_.skip_nonfinite, "training step ", step, ": the ", to_string(config_.objective),
                " loss is not finite (", value, ")");
    steps_done_ = step;
    return value;
  }
  optimizer_.zero_grad();
  loss_value.backward();
  optimizer_.step();
  steps_done_ = step;
  return value;
}

nn::TrainingState Trainer::training_state() {
  return {policy_, &optimizer_, {{"init", &init_gen_}, {"sampler", &sample_gen_}}};
}

void Trainer::save_checkpoint(const std::string& path, const std::string& config_json) {
  if (!replay_) {
    nn::save_checkpoint(path, training_state(), steps_done_, config_json);
    return;
  }
  nlohmann::json j = nlohmann::json::parse(config_json);
  SUBTB_CHECK(j.is_object(), "Trainer::save_checkpoint: with a replay buffer the config must be a JSON object");
  j["replay_buffer"] = replay_->to_json();
  nn::save_checkpoint(path, training_state(), steps_done_, j.dump());
}

nn::CheckpointInfo Trainer::load_checkpoint(const std::string& path) {
  // The buffer is read (and replayed) before anything changes, so a bad file leaves the trainer as it was.
  std::optional<ReplayBuffer> buffer;
  if (replay_) {
    const nn::Metadata metadata = nn::load_safetensors(path).metadata;
    const auto it = metadata.find("config");
    SUBTB_CHECK(it != metadata.end(), "Trainer::load_checkpoint: '", path, "' has no config");
    try {
      buffer.emplace(env_, config_.replay.capacity);
      buffer->restore(nlohmann::json::parse(it->second).at("replay_buffer"));
    } catch (const nlohmann::json::exception& e) {
      SUBTB_THROW("Trainer::load_checkpoint: '", path, "' holds no replay buffer: ", e.what());
    } catch (const Error& e) {
      SUBTB_THROW("Trainer::load_checkpoint: '", path, "': ", e.what());
    }
  }
  const nn::CheckpointInfo info = nn::load_checkpoint(path, training_state());
  if (buffer) replay_ = std::move(buffer);
  steps_done_ = info.step;
  last_samples_ = {};
  last_zvar_log_z_ = std::numeric_limits<double>::quiet_NaN();
  return info;
}

double Trainer::learned_log_z() {
  switch (config_.objective) {
    case Objective::tb:
      return policy_.log_z.item();
    case Objective::zvar:
      return last_zvar_log_z_;
    case Objective::fm:
      return flow_matching_log_z(env_, policy_);
    default:
      break;
  }
  NoGradGuard no_grad;
  std::vector<std::int32_t> s0(static_cast<size_t>(env_.state_dim()));
  env_.reset(s0);
  std::vector<float> encoded(static_cast<size_t>(env_.encoding_dim()));
  env_.encode(s0, encoded);
  const PolicyOutput out = policy_.forward(from_vector<float>(encoded, Shape{1, env_.encoding_dim()}));
  double log_r0 = 0;
  if (forward_looking(config_.objective) || config_.objective == Objective::mdb)
    env_.state_log_reward(s0, {&log_r0, 1});
  if (config_.objective != Objective::mdb)
    return out.log_flow.item() + (forward_looking(config_.objective) ? log_r0 : 0);
  // Every state may terminate: F(s_0) = R(s_0) / P_F(exit | s_0).
  std::unique_ptr<bool[]> mask(new bool[static_cast<size_t>(env_.num_actions())]);
  env_.forward_masks(s0, {mask.get(), static_cast<size_t>(env_.num_actions())});
  const Tensor valid = from_buffer(mask.get(), Shape{1, env_.num_actions()}, DType::b8).to(config_.device);
  return log_r0 - masked_log_softmax(out.forward_logits, valid).select(1, env_.exit_action()).item();
}

}  // namespace subtb::gflownet

#pragma once
// GflowVlmTrainer: fine-tuning a VisionLanguageModel on a VLM task (envs/vlm/) with one of
// GFlowVLM's objectives or one of its baselines.
//
// Every iteration plays `episodes` episodes: `episodes_per_task` of each of
// episodes / episodes_per_task task resets (seeds drawn from the trainer's stream), so
// that Var-TB, which compares episodes from the same start state, has groups to compare.
//   var_tb | tb | subtb | db  the model plays (rollout.h) at the sampling temperature;
//              with off_policy, each episode goes through GFlowVLM's rule (the expert's
//              episode of the same seed joins a failed one in the EpisodeBuffer) and
//              `replay` episodes drawn from the buffer join the fresh ones. The episodes
//              are scored again under the current model (scoring.h) and the objective of
//              objectives.h gives the loss. Var-TB groups episodes by seed (one log Z per
//              start state); tb learns a single scalar log Z for all start states, an
//              approximation where their partition functions differ.
//   sft        the expert plays; token cross-entropy on its answers, plus the [DONE]
//              token at the end of the successful episodes (temperature 1).
//   ppo        the model plays; RL4VLM's PPO on the environments' own rewards: a value
//              head on the last prompt position's hidden state, GAE, `ppo_epochs`
//              clipped updates of the CoT-weighted step log-probabilities.
// Updates: AdamW over the parameters that require grad (a LoRA-adapted model trains its
// adapters only), warmup + cosine schedule over `iterations`, gradient clipping.
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "envs/vlm/registry.h"
#include "envs/vlm/vlm_env.h"
#include "gflownet/subtb.h"
#include "gflownet/vlm/episode_buffer.h"
#include "gflownet/vlm/ppo.h"
#include "gflownet/vlm/rollout.h"
#include "gflownet/vlm/value_head.h"
#include "nn/lr_schedule.h"
#include "nn/optim_adam.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"

namespace subtb::gflownet::vlm {

enum class Method { sft, ppo, var_tb, tb, subtb, db };
std::string_view to_string(Method method);
// "sft", "ppo", "vartb" (or "var_tb"), "tb", "subtb", "db"; throws listing the names.
Method parse_method(std::string_view name);

struct GflowVlmConfig {
  Method method = Method::var_tb;
  std::string task = "numberline";  // envs/vlm/registry.h
  subtb::vlm::TaskOptions task_options;
  int max_steps = 0;  // the episode step limit; 0: the task's
  int64_t episodes = 4;
  int64_t episodes_per_task = 2;  // must divide episodes
  int64_t iterations = 100;       // the schedule's length
  int64_t warmup = 5;
  double lr = 1e-4;
  double min_lr_factor = 0.1;
  double weight_decay = 0.01;
  double grad_clip = 1.0;  // 0: no clipping
  RolloutOptions rollout;
  double lambda_cot = kDefaultLambdaCot;
  bool off_policy = false;
  int64_t buffer_capacity = 4;  // the paper's
  int64_t replay = 2;           // buffer episodes per update (off-policy)
  SubTBOptions subtb;
  PpoOptions ppo;
  GaeOptions gae;
  int64_t ppo_epochs = 2;
  std::uint64_t seed = 0;

  // Throws naming the first inconsistent field.
  void validate() const;
};

nlohmann::json to_json(const GflowVlmConfig& config);

struct IterationMetrics {
  int64_t iteration = 0;       // iterations done before this one
  double loss = 0;             // the objective before the update (the last epoch's for PPO)
  double mean_log_reward = 0;  // log R(x) of the iteration's own episodes
  double success_rate = 0;     // of those
  double invalid_rate = 0;     // invalid answers / answers (0 for sft)
  double mean_steps = 0;       // steps per episode
  double lr = 0;
};

struct EvalMetrics {
  int64_t episodes = 0;
  double success_rate = 0;
  double invalid_rate = 0;
  double mean_reward = 0;  // GFlowVLM's R of the final states
  double mean_steps = 0;
};

nlohmann::json to_json(const IterationMetrics& metrics);
nlohmann::json to_json(const EvalMetrics& metrics);

class GflowVlmTrainer {
 public:
  // Throws when the config is inconsistent, the tokenizer's ids do not fit the model's
  // vocabulary, or the model's image token is not the tokenizer's <image>.
  GflowVlmTrainer(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer, const GflowVlmConfig& config);

  // One iteration: play, score, update.
  IterationMetrics step();

  // Plays `episodes` episodes of `task` (the training task by default), seeds
  // first_seed, first_seed + 1, ..., decoding at the rollout temperature from a
  // generator seeded by first_seed, without updating anything.
  EvalMetrics evaluate(int64_t episodes, std::uint64_t first_seed, std::string_view task = {});

  int64_t iterations_done() const { return iterations_done_; }
  double current_lr() const;
  const GflowVlmConfig& config() const { return config_; }
  const EpisodeBuffer& buffer() const { return buffer_; }

 private:
  subtb::vlm::VlmEnv make_env(std::string_view task) const;
  std::vector<std::uint64_t> next_seeds();
  double update(const Tensor& loss);
  double gflownet_iteration(IterationMetrics& metrics);
  double sft_iteration(IterationMetrics& metrics);
  double ppo_iteration(IterationMetrics& metrics);

  nn::VisionLanguageModel& model_;
  const nn::Tokenizer& tokenizer_;
  GflowVlmConfig config_;
  std::vector<subtb::vlm::VlmEnv> envs_;
  subtb::vlm::VlmEnv scratch_env_;  // replays and expert episodes
  EpisodeBuffer buffer_;
  std::shared_ptr<ValueHead> value_head_;  // ppo
  Tensor log_z_;                           // tb
  std::vector<Tensor> params_;
  std::unique_ptr<nn::AdamW> optimizer_;
  nn::LrSchedule schedule_;
  Generator gen_;
  std::uint64_t next_seed_ = 0;
  int64_t iterations_done_ = 0;
};

}  // namespace subtb::gflownet::vlm

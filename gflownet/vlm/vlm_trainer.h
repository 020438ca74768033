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
//
// save_checkpoint / load_checkpoint keep everything the next iterations depend on, so that
// k iterations, a checkpoint, a fresh trainer that loads it and N - k more iterations give
// the parameters and metrics of N iterations straight, bit for bit.
#include <chrono>
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
#include "gflownet/vlm/evaluation.h"
#include "gflownet/vlm/ppo.h"
#include "gflownet/vlm/rollout.h"
#include "gflownet/vlm/value_head.h"
#include "nn/checkpoint.h"
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
  // sft: teach [DONE] after the expert's successful episodes (GFlowVLM's first stage), or
  // only its answers (the SFT baseline without [DONE], which never learns to stop).
  bool sft_teach_done = true;
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

// Where an iteration's wall time went, in seconds. The phases do not overlap; total also
// holds what none of them covers (summaries, the episode buffer).
struct IterationTimes {
  double generate = 0;     // the model's sampling (model.generate, KV cache)
  double environment = 0;  // environment resets and steps, rendering, prompts, image
                           // preprocessing: rollouts, expert episodes, scoring's replays
  double score = 0;        // the scoring forward passes (score_episodes, PPO's value head)
  double backward = 0;     // the loss from the scores, and its backward pass
  double update = 0;       // gradient clipping and the AdamW step
  double total = 0;        // the whole of step()

  IterationTimes& operator+=(const IterationTimes& other);
};

struct IterationMetrics {
  int64_t iteration = 0;       // iterations done before this one
  double loss = 0;             // the objective before the update (the last epoch's for PPO)
  double mean_log_reward = 0;  // log R(x) of the iteration's own episodes
  double success_rate = 0;     // of those
  double invalid_rate = 0;     // invalid answers / answers (0 for sft)
  double mean_steps = 0;       // steps per episode
  double lr = 0;
  // Environment steps of training so far, this iteration's included: the model's answers
  // that reached an environment, and the expert's steps (sft; off-policy's expert episodes).
  int64_t env_steps = 0;
  IterationTimes time;
};

nlohmann::json to_json(const IterationMetrics& metrics);

class GflowVlmTrainer {
 public:
  // Throws when the config is inconsistent, the tokenizer's ids do not fit the model's
  // vocabulary, or the model's image token is not the tokenizer's <image>.
  GflowVlmTrainer(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer, const GflowVlmConfig& config);

  // One iteration: play, score, update.
  IterationMetrics step();

  // Evaluates the model on `task` (the training task by default) without updating
  // anything (evaluation.h), in environments set up as training's.
  EvalMetrics evaluate(const EvalOptions& options, std::string_view task = {});
  // Evaluation with training's decoding (rollout settings) on `episodes` episodes of seeds
  // first_seed, first_seed + 1, ...; the default fallback for invalid outputs, no Div@N.
  EvalOptions eval_options(int64_t episodes, std::uint64_t first_seed) const;
  EvalMetrics evaluate(int64_t episodes, std::uint64_t first_seed, std::string_view task = {}) {
    return evaluate(eval_options(episodes, first_seed), task);
  }

  // A checkpoint (nn/checkpoint.h, written atomically) of the model (LoRA adapters
  // included), the AdamW moments and steps, the trainer's generator, the value head (ppo,
  // module "value_head") and log Z (tb, module "log_z"); `config_json`, a JSON object, is
  // saved with a "trainer" entry added: the loop config, the next task seed, the
  // environment steps and the episode buffer's episodes. The step is iterations_done().
  void save_checkpoint(const std::string& path, const std::string& config_json);
  // Restores what save_checkpoint wrote and returns its step and config_json (without the
  // "trainer" entry). The whole file is checked first, and nothing changes when it throws:
  // when it is no GflowVlmTrainer checkpoint, or its loop config differs from this
  // trainer's in a field other than iterations (the schedule's length, which a resumed
  // run may extend); the error names the field.
  nn::CheckpointInfo load_checkpoint(const std::string& path);

  int64_t iterations_done() const { return iterations_done_; }
  double current_lr() const;
  const GflowVlmConfig& config() const { return config_; }
  const EpisodeBuffer& buffer() const { return buffer_; }

 private:
  subtb::vlm::EnvOptions env_options() const;
  subtb::vlm::VlmEnv make_env(std::string_view task) const;
  std::vector<std::uint64_t> next_seeds();
  // Seconds of wall time from lap to lap: how step() splits an iteration into phases.
  class Stopwatch {
   public:
    double lap();

   private:
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  };

  nn::TrainingState training_state();
  double update(const Tensor& loss, IterationTimes& time, Stopwatch& watch);
  double gflownet_iteration(IterationMetrics& metrics, Stopwatch& watch);
  double sft_iteration(IterationMetrics& metrics, Stopwatch& watch);
  double ppo_iteration(IterationMetrics& metrics, Stopwatch& watch);

  nn::VisionLanguageModel& model_;
  const nn::Tokenizer& tokenizer_;
  GflowVlmConfig config_;
  std::vector<subtb::vlm::VlmEnv> envs_;
  subtb::vlm::VlmEnv scratch_env_;  // replays and expert episodes
  EpisodeBuffer buffer_;
  std::shared_ptr<ValueHead> value_head_;     // ppo
  std::shared_ptr<nn::Module> log_z_module_;  // tb: holds log_z_ as its parameter "value"
  Tensor log_z_;
  std::vector<Tensor> params_;
  std::unique_ptr<nn::AdamW> optimizer_;
  nn::LrSchedule schedule_;
  Generator gen_;
  std::uint64_t next_seed_ = 0;
  int64_t iterations_done_ = 0;
  int64_t env_steps_ = 0;
};

}  // namespace subtb::gflownet::vlm

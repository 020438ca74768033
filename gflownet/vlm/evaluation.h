#pragma once
// Evaluating a VLM policy on a task without updating it: the success rate (overall and per
// task category), the rate of invalid outputs, the mean final reward and length, and
// GFlowVLM's diversity Div@N.
//
// Episodes are played in one batch through play_episodes (rollout.h), in environments set
// up as training's (GFlowVLM's prompt, [DONE] offered, its step limit) but for the fallback
// of invalid outputs, on task seeds first_seed, first_seed + 1, ...; training draws its
// seeds from kFirstTrainingSeed up, so the two never share a task.
//
// Invalid outputs: by default an answer naming no admissible action moves nothing (the step
// still counts toward the limit), so that a model writing unusable text is not credited with
// the successes of random play. RL4VLM's evaluation takes a random action instead
// (InvalidFallback::random_action, still selectable); on NumberLine, whose random walk often
// reaches a near target, that alone gives an untrained model a sizeable success rate.
//
// Div@N (GFlowVLM): each of the first `div_tasks` evaluation seeds is played N more times,
// with a random stream of its own so that turning Div@N on leaves the other metrics as they
// were; per task, the number of distinct successful trajectories (sequences of actions taken)
// among the N samples, averaged over the tasks with at least one success.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "envs/vlm/task.h"
#include "envs/vlm/vlm_env.h"
#include "gflownet/vlm/episode.h"
#include "gflownet/vlm/rollout.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"

namespace subtb::gflownet::vlm {

// The first task seed training draws; evaluation seeds stay below it.
inline constexpr std::uint64_t kFirstTrainingSeed = std::uint64_t{1} << 40;

struct EvalOptions {
  int64_t episodes = 50;
  std::uint64_t first_seed = 0;
  RolloutOptions rollout;  // decoding; greedy is reported as temperature 0
  subtb::vlm::InvalidFallback on_invalid = subtb::vlm::InvalidFallback::penalty;
  int64_t div_n = 0;      // samples per task for Div@N; 0: not computed
  int64_t div_tasks = 8;  // tasks Div@N samples

  // Throws naming the first field out of range.
  void validate() const;
};

struct CategoryMetrics {
  int64_t episodes = 0;
  double success_rate = 0;
};

struct DivAtN {
  int64_t n = 0;                   // samples per task
  int64_t tasks = 0;               // tasks sampled
  int64_t tasks_with_success = 0;  // of those, tasks with at least one successful sample
  std::optional<double> value;     // mean distinct successful trajectories; none without a success
};

struct EvalMetrics {
  int64_t episodes = 0;
  double success_rate = 0;
  double invalid_rate = 0;  // invalid answers / answers
  double mean_reward = 0;   // GFlowVLM's R of the final states
  double mean_steps = 0;
  double temperature = 0;  // of the decoding; 0 when greedy
  // Per Task::category() (the household world's task types); tasks without categories
  // (the card games) leave it empty.
  std::map<std::string, CategoryMetrics> by_category;
  std::optional<DivAtN> div_at_n;  // when EvalOptions::div_n > 0
};

// {"episodes", "success_rate", "invalid_rate", "mean_reward", "mean_steps", "temperature",
//  "by_category": {name: {"episodes", "success_rate"}}, "div_at_n": {"n", "tasks",
//  "tasks_with_success", "value" (null without a success)} (only when computed)}.
nlohmann::json to_json(const EvalMetrics& metrics);

// Div@N of `episodes`: n samples of each task, the samples of a task sharing its seed. A
// trajectory is the sequence of actions taken (an invalid output that moved nothing takes
// none). Throws unless every seed has exactly n episodes.
DivAtN div_at_n(const std::vector<Episode>& episodes, int64_t n);

using TaskFactory = std::function<std::unique_ptr<subtb::vlm::Task>()>;

// Plays options.episodes episodes of the tasks `make_task` builds (plus the Div@N samples)
// with the model, in environments of `env` (training's; it must offer [DONE]) with
// options.on_invalid, decoding from generators seeded by first_seed. Throws when the
// options are out of range or the evaluation seeds reach kFirstTrainingSeed.
EvalMetrics evaluate_policy(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer,
                            const TaskFactory& make_task, const subtb::vlm::EnvOptions& env,
                            const EvalOptions& options);

}  // namespace subtb::gflownet::vlm

#pragma once
// Playing VLM tasks into Episode records (gflownet/vlm/episode.h): the model's episodes,
// generated in a batch of environments with the KV cache, and the expert's.
//
// At step t every unfinished environment renders its image and prompt (the GFlowVLM
// prompt: goal, history "State 0: ... Action 1: ...", actions with [DONE], answer format),
// the prompt goes through the SFT template of nn/vision/vlm_sft.h and the model samples an
// answer. An answer whose first token is [DONE], or whose action is "[DONE]", stops the
// episode in s_t (stopping is not a step). Any other answer is parsed and stepped; an
// answer naming no admissible action counts as invalid and the environment's fallback
// is taken (training's: a random action; evaluation's: by default no move, recorded as a
// step with an empty action). The episode also ends when the task or the step limit ends
// it, or when the next prompt would not leave room for an answer in the LM's context.
// Generation also stops at <image>, <bos> or <pad>, which only the prompt template places;
// that token is recorded as <eos>, so that the answer ends there and is never empty.
// log R(z_{0:t} [DONE]) is recorded for every state visited.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "envs/vlm/vlm_env.h"
#include "gflownet/vlm/episode.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"
#include "tensor/ops/random.h"

namespace subtb::gflownet::vlm {

struct RolloutOptions {
  int64_t max_new_tokens = 64;
  double temperature = 0.2;  // RL4VLM's sampling temperature
  bool greedy = false;       // evaluation may decode greedily
};

struct RolloutResult {
  std::vector<Episode> episodes;             // one per environment, in order
  std::vector<std::vector<double>> rewards;  // the environments' own per-step rewards (PPO's)
  int64_t steps = 0;                         // answers parsed
  int64_t invalid = 0;                       // of those, naming no admissible action
  // Where the wall time went: model.generate's sampling; the rest of the call (resets,
  // prompts, rendering, image preprocessing, parsing, steps) is the environments'.
  double generate_seconds = 0;
  double environment_seconds = 0;
};

// RL4VLM's split of an answer's tokens: those that start before the first "action" key
// of the decoded text are chain of thought, the rest (the key, the action, the closing
// brace, <eos>) the action. An answer without the key is all chain of thought.
std::vector<TokenRole> answer_roles(const nn::Tokenizer& tokenizer, std::span<const std::int32_t> answer);

// Resets envs[i] with seeds[i] and plays one episode in each with the model. The
// environments must offer [DONE] (EnvOptions::done_action).
RolloutResult play_episodes(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer,
                            std::vector<subtb::vlm::VlmEnv>& envs, const std::vector<std::uint64_t>& seeds,
                            const RolloutOptions& options, Generator& gen);

// The expert's episode of the task reset with `seed`, its answers tokenized as the model
// would write them; nothing when the task has no expert. The episode stops where a prompt
// and the expert's answer would not fit the LM's context. `rewards`, when given, receives
// the environment's per-step rewards.
std::optional<Episode> play_expert_episode(subtb::vlm::VlmEnv& env, const nn::Tokenizer& tokenizer,
                                           const nn::VisionLanguageModel& model, std::uint64_t seed,
                                           std::vector<double>* rewards = nullptr);

}  // namespace subtb::gflownet::vlm

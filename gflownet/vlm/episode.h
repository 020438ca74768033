#pragma once
// A VLM episode as training keeps it: for every step the prompt's and the answer's
// tokens, which answer tokens are chain of thought and which the action, and the log of
// GFlowVLM's reward of stopping in every state. Log-probabilities are not stored: a
// stored episode is scored again under the current model, like a fresh one, so it serves
// on- and off-policy training alike. Images are not stored either: resetting the task
// with `seed` and replaying the actions renders them again.
//
// collate() lays a list of episodes out as the tensors step_log_pf and the objectives
// take (gflownet/vlm/step_log_probs.h, objectives.h).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "gflownet/vlm/step_log_probs.h"
#include "tensor/tensor.h"

namespace subtb::gflownet::vlm {

enum class TokenRole : std::uint8_t { other, cot, action };

struct EpisodeStep {
  std::vector<std::int32_t> prompt;  // the prompt of state s_t, as the model reads it
  std::vector<std::int32_t> answer;  // the answer generated in s_t
  std::vector<TokenRole> roles;      // one per answer token
  std::string action;                // the action the answer named
};

enum class EpisodeSource : std::uint8_t { model, expert };

struct Episode {
  std::uint64_t seed = 0;           // the task's reset seed
  std::vector<EpisodeStep> steps;   // n steps s_0 -> ... -> s_n (stopping in s_n is not a step)
  std::vector<double> log_rewards;  // n + 1 finite entries: log R(z_{0:t} [DONE]) for t = 0 .. n
  bool success = false;             // the task's goal was reached
  EpisodeSource source = EpisodeSource::model;
};

// Throws naming the problem unless log_rewards has steps + 1 finite entries (every
// GFlowVLM reward is positive; log R = -inf would make the [DONE] flows infinite) and every
// step has one role per answer token.
void check_episode(const Episode& episode);

// {"seed", "success", "source": "model" | "expert", "log_rewards": [...], "steps":
// [{"prompt": [ids], "answer": [ids], "roles": "ccoa..." (c: CoT, a: action, o: other),
// "action"}]}: what a checkpoint stores. episode_from_json checks what it reads.
nlohmann::json to_json(const Episode& episode);
Episode episode_from_json(const nlohmann::json& j);

// B episodes, padded to T answer tokens and S = max n steps.
struct CollatedEpisodes {
  Tensor answer_tokens;  // [B, T] i64: the answers of all steps, concatenated; <pad> after the end
  AnswerTokens answer;   // [B, T] step_index (-1 on padding), action_mask, cot_mask
  Tensor log_reward;     // [B, S + 1] floating; 0 past an episode's end
  Tensor lengths;        // [B] i64: n_b
};

CollatedEpisodes collate(const std::vector<Episode>& episodes, DType dtype = DType::f32, Device device = kCPU);

}  // namespace subtb::gflownet::vlm

#pragma once
// Scoring stored episodes under the current model: the quantities every trainer of
// GFlowVLM needs, from one forward pass over all states of a batch of episodes.
//
// Episode b with n_b steps contributes n_b + 1 sequences: for t < n_b the prompt of s_t
// followed by the answer of step t, and the prompt of s_{n_b} alone. They are right-padded
// and run together, images replayed (episode_images.h). From that pass:
//   token_log_probs [B, T]   log p of every answer token at the temperature, laid out as
//                            collate() lays the answers out (padding 0)
//   batch.log_pf    [B, S]   step_log_pf of those (CoT weighted by lambda_cot)
//   batch.log_done  [B, S+1] log P_F([DONE] | s_t): [DONE] as the first answer token
//   batch.log_reward, lengths from collate()
//   state_hidden    [B, S+1, dim] the LM's last hidden state at each state's last prompt
//                            position (PPO's value head reads it)
// Entries past an episode's end hold finite placeholders and are never read by the
// objectives.
#include <vector>

#include "envs/vlm/vlm_env.h"
#include "gflownet/vlm/episode.h"
#include "gflownet/vlm/objectives.h"
#include "gflownet/vlm/step_log_probs.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"

namespace subtb::gflownet::vlm {

struct ScoreOptions {
  double temperature = 0.2;  // the sampling temperature: the probabilities trained are the sampler's
  double lambda_cot = kDefaultLambdaCot;
};

struct ScoredEpisodes {
  CollatedEpisodes collated;
  Tensor token_log_probs;  // [B, T]
  EpisodeBatch batch;
  Tensor state_hidden;  // [B, S + 1, dim]
  // Of the call's wall time, replaying the images and building the stopping states'
  // prompts (the environments' part); the rest is the forward pass and its bookkeeping.
  double replay_seconds = 0;
};

// `env` replays the episodes' images (its task must be theirs). Differentiable in the
// model's parameters unless called under NoGradGuard.
ScoredEpisodes score_episodes(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer, subtb::vlm::VlmEnv& env,
                              const std::vector<Episode>& episodes, const ScoreOptions& options = {});

}  // namespace subtb::gflownet::vlm

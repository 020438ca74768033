#pragma once
// Token-level log-probabilities of a VLM agent's steps (GFlowVLM, after RL4VLM).
//
// An episode s_0 -> s_1 -> ... -> s_n is n steps; at step t the model answers the prompt of
// state s_t with a span of tokens: a chain of thought (CoT) and then the action, e.g.
// {"thoughts": "...", "action": "+"}. The step's log P_F weighs the two parts differently:
//   log P_F(s_{t+1} | s_t) = sum_{action tokens} log p + lambda_cot * sum_{CoT tokens} log p
// with lambda_cot = 0.4 (the paper's choice; 0.2 and 0.8 did worse). Tokens in neither mask
// (padding, separators the caller chooses to ignore) do not count. RL4VLM's split puts every
// token before the "action" key in the CoT and the rest in the action.
//
// Layout, one row per episode with the answers of its steps concatenated (episode-major):
//   token_log_probs: [B, T] floating  log p(token | prompt, earlier answer tokens) of every
//                                     generated token, computed from logits already divided
//                                     by the sampling temperature (RL4VLM: 0.2), e.g. with
//                                     nn::token_log_probs(logits / temperature, tokens) per
//                                     step and written into the episode's row
//   step_index:      [B, T] i64       the step (0 .. S-1) whose answer holds the token, -1 for
//                                     positions that belong to no step (padding)
//   action_mask:     [B, T] bool      the token is part of the action
//   cot_mask:        [B, T] bool      the token is part of the chain of thought
// Every token in a mask must belong to a step; the masks must not overlap.
//
// [DONE] is not a step here: stopping in state s_t is the exit, whose log-probability
// log P_F([DONE] | s_t) comes separately for every state, [B, S + 1] (done_log_probs).
#include <cstdint>

#include "nn/tokenizer/special_tokens.h"
#include "tensor/tensor.h"

namespace subtb::gflownet::vlm {

inline constexpr double kDefaultLambdaCot = 0.4;

struct AnswerTokens {
  Tensor step_index;   // [B, T] i64, -1 outside every step
  Tensor action_mask;  // [B, T] bool
  Tensor cot_mask;     // [B, T] bool
};

// [B, S] log P_F of every step: the action tokens' log-probs plus lambda_cot times the CoT
// tokens'. Steps with no token are 0. Differentiable in token_log_probs; a -inf log-prob of
// an ignored token never reaches the result or its gradient.
Tensor step_log_pf(const Tensor& token_log_probs, const AnswerTokens& answer, int64_t num_steps,
                   double lambda_cot = kDefaultLambdaCot);

// [B] i64: the number of steps of each episode, 1 + its largest step index (0 for an
// episode without tokens: it stopped in s_0).
Tensor episode_lengths(const Tensor& step_index);

// [B, S + 1] log P_F([DONE] | s_t) from the logits of the first answer position in every
// state, [B, S + 1, V]: log_softmax(logits / temperature)[..., done_id]. Differentiable in
// the logits.
Tensor done_log_probs(const Tensor& first_answer_logits, double temperature = 1.0, int64_t done_id = nn::kDoneToken);

}  // namespace subtb::gflownet::vlm

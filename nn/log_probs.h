#pragma once
// Log-probabilities of given tokens under a language model's logits: what sequence-level
// objectives (GFlowNet fine-tuning, SFT on a completion, scoring) are built from.
#include "tensor/tensor.h"

namespace subtb::nn {

// log softmax(logits)[b, t, targets[b, t]] for every position, 0 where mask is false.
// logits: [B, T, V] floating, targets: [B, T] i64 in [0, V), mask: [B, T] bool or
// undefined (every position counts) -> [B, T] in logits' dtype. Differentiable in the
// logits; computed as logit - logsumexp, without a [B, T, V] log-softmax copy.
Tensor token_log_probs(const Tensor& logits, const Tensor& targets, const Tensor& mask = Tensor());

// The log-probability of each token of `tokens` given the tokens before it, from the
// logits a causal model computed on `tokens` itself (position t predicts token t + 1):
// out[b, t] = log p(tokens[b, t] | tokens[b, < t]) where mask[b, t] (t >= 1), and 0 at
// t = 0 and wherever mask is false. logits: [B, T, V], tokens: [B, T] i64, mask: [B, T]
// bool (typically true on the continuation only) -> [B, T]. Summing over dim 1 gives
// log p(continuation | prompt).
Tensor continuation_log_probs(const Tensor& logits, const Tensor& tokens, const Tensor& mask);

}  // namespace subtb::nn

#pragma once
// Log-probabilities of given tokens under a language model's logits: what sequence-level
// objectives (GFlowNet fine-tuning, SFT on a completion, scoring) are built from.
#include <functional>

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

// The same, from the causal model's final hidden states [B, T, dim] and its head (hidden
// rows [N, dim] -> logits [N, V]): only the N rows that predict a masked token go through
// the head and the log-softmax, instead of all B * T. The values and the gradients (to
// hidden and through head) are those of continuation_log_probs(head(hidden), ...); the
// mask is read on the host to pick the rows.
Tensor continuation_log_probs(const Tensor& hidden, const std::function<Tensor(const Tensor&)>& head,
                              const Tensor& tokens, const Tensor& mask);

}  // namespace subtb::nn

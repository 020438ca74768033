#pragma once
// Supervised fine-tuning on expert trajectories, GFlowVLM's first stage: token
// cross-entropy on the answers (chain of thought and action) of every expert step. In
// GFlowVLM's data every successful episode ends with one more step whose answer is the
// [DONE] token; whether that token is taught is a flag, so the SFT baseline without
// [DONE] and the GFlowNet's starting point come from the same data.
#include <cstdint>

#include "nn/tokenizer/special_tokens.h"
#include "tensor/tensor.h"

namespace subtb::gflownet::vlm {

struct SftLossOptions {
  bool train_done = true;            // false: [DONE] targets are masked out
  int64_t done_id = nn::kDoneToken;  // the [DONE] token's id
};

// Mean over the counted positions of -log softmax(logits)[b, t, targets[b, t]].
// logits: [B, T, V] floating, aligned with targets (logits[b, t] predicts targets[b, t]);
// targets: [B, T] i64; mask: [B, T] bool, true on answer tokens. A position counts when
// mask is true and, unless options.train_done, its target is not [DONE]. Throws when no
// position counts (an empty batch has no mean). Differentiable in logits.
Tensor sft_loss(const Tensor& logits, const Tensor& targets, const Tensor& mask, const SftLossOptions& options = {});

}  // namespace subtb::gflownet::vlm

#pragma once
// The model and tokenizer the GFlowVLM tests play with: the CLI's tokenizer recipe on a
// smaller corpus, and a VLM small enough that an iteration takes milliseconds, with the
// tiny preset's context so that household prompts fit; and a training loop sized for them.
#include <cstdint>
#include <string>
#include <utility>

#include "gflownet/vlm/task_tokenizer.h"
#include "gflownet/vlm/vlm_trainer.h"
#include "nn/tokenizer/special_tokens.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"

namespace subtb::gflownet::vlm::testing {

inline constexpr int64_t kMicroMaxSeqLen = 1024;  // the tiny preset's

inline const nn::Tokenizer& micro_tokenizer() {
  static const nn::Tokenizer tok =
      train_task_tokenizer({.corpus_bytes = 60'000, .expert_episodes_per_task = 4, .vocab_size = 1024});
  return tok;
}

inline nn::VLMConfig micro_config() {
  nn::VLMConfig c;
  c.vision.image_size = 16, c.vision.patch_size = 8, c.vision.dim = 16, c.vision.n_layers = 1, c.vision.n_heads = 2;
  c.language.vocab_size = micro_tokenizer().vocab_size(), c.language.dim = 32, c.language.n_layers = 1;
  c.language.n_heads = 2, c.language.ffn_hidden = 64, c.language.max_seq_len = kMicroMaxSeqLen;
  c.image_token_id = nn::kImageToken;
  return c;
}

// A training loop small enough for the micro model: two episodes of one task reset, at
// most two steps of 8-token answers, sampled at temperature 1; tests change what they test.
inline GflowVlmConfig micro_loop_config(Method method, std::string task = "numberline") {
  GflowVlmConfig c;
  c.method = method;
  c.task = std::move(task);
  c.max_steps = 2;
  c.episodes = 2;
  c.episodes_per_task = 2;
  c.iterations = 4;
  c.warmup = 0;
  c.lr = 1e-2;
  c.rollout.max_new_tokens = 8;
  c.rollout.temperature = 1.0;
  c.seed = 7;
  return c;
}

}  // namespace subtb::gflownet::vlm::testing

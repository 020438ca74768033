#pragma once
// The tokenizer GFlowVLM runs train their model with: byte-level BPE learned on the
// built-in corpus (nn/text/synthetic_corpus.h, about the tasks' worlds) plus the tasks' own
// prompts and expert answers (envs/vlm/task_texts.h). The tasks' fixed wording then takes
// few tokens: a household prompt about 40% fewer than with the corpus alone, which is what
// fits it into the tiny model's context (envs/vlm/README.md, "Prompt lengths").
// Deterministic: the same options give the same tokenizer.
#include <cstddef>
#include <cstdint>

#include "nn/tokenizer/tokenizer.h"

namespace subtb::gflownet::vlm {

struct TaskTokenizerOptions {
  std::size_t corpus_bytes = 400'000;  // of nn::synthetic_corpus with seed 0
  int expert_episodes_per_task = 20;   // task texts, from reset seeds 10^6, 10^6 + 1, ...
  std::int32_t vocab_size = 1024;
};

nn::Tokenizer train_task_tokenizer(const TaskTokenizerOptions& options = {});

}  // namespace subtb::gflownet::vlm

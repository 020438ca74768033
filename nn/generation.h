#pragma once
// Batched autoregressive generation with a KV cache: the prompts are left-padded to a
// common length, run once through the model (prefill), then each step feeds every row's
// newest token and appends one column to the cache.
//
// Decoding: greedy (argmax), or sampling at a temperature, optionally restricted to the
// top_k most likely tokens and/or the smallest set whose probability reaches top_p
// (nucleus), drawn from a seeded Generator so that a seed fixes the output. A row stops
// at a stop token id, at a stop string in its decoded text (nn/ knows no tokenizer: the
// caller supplies `decode`), or after max_new_tokens.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/causal_lm.h"
#include "tensor/ops/random.h"

namespace subtb::nn {

struct GenerationConfig {
  int64_t max_new_tokens = 64;
  bool greedy = false;
  double temperature = 1.0;  // > 0; ignored when greedy
  int64_t top_k = 0;         // 0: no limit
  double top_p = 1.0;        // in (0, 1]; 1: no limit
  std::vector<int64_t> stop_token_ids;
  std::vector<std::string> stop_strings;
  // Token ids -> text; required with stop_strings.
  std::function<std::string(const std::vector<int64_t>&)> decode;
  int64_t pad_token_id = 0;  // what fills the padding columns (they are masked)
  Generator* gen = nullptr;  // nullptr: the default generator
};

enum class FinishReason { length, stop_token, stop_string };

struct GeneratedRow {
  std::vector<int64_t> tokens;  // the new tokens, the stop token or the one completing a stop string included
  FinishReason finish = FinishReason::length;
};

// prompts: one non-empty list of token ids per row. Runs in eval mode and without grad;
// the model's mode is restored afterwards. Prompt plus new tokens must fit in
// config().max_seq_len.
std::vector<GeneratedRow> generate(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                   const GenerationConfig& config);

// The same from prompt embeddings [B, T, dim], left-padded, with valid [B, T] bool
// (undefined: no padding): the path of a vision-language model whose prompts hold image
// features.
std::vector<GeneratedRow> generate_from_embeddings(CausalLM& model, const Tensor& embeds, const Tensor& valid,
                                                   const GenerationConfig& config);

// One decoding choice per row of logits [B, V] (any device): greedy or sampled as
// `config` says -> B token ids. Exposed for tests and for callers with their own loop.
std::vector<int64_t> choose_tokens(const Tensor& logits, const GenerationConfig& config);

}  // namespace subtb::nn

#pragma once
// The shape of a causal language model (nn/causal_lm.h), its named presets, and its
// JSON form (the keys are the field names; the run folders' config.json and the
// generate command read it back).
#include <cstdint>
#include <string>
#include <string_view>

namespace subtb::nn {

struct CausalLMConfig {
  int64_t vocab_size = 0;
  int64_t dim = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // 0 means n_heads; fewer is grouped-query attention
  int64_t ffn_hidden = 0;  // SwiGLU hidden width
  int64_t max_seq_len = 0;
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = false;  // the output head reuses embed_tokens.weight
  double init_std = 0.02;       // N(0, init_std^2) for every weight matrix and embedding

  int64_t head_dim() const { return n_heads > 0 ? dim / n_heads : 0; }
  int64_t kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  // Throws naming the first inconsistent field.
  void validate() const;
};

// "tiny" (dim 128, 4 layers: trains on two CPU cores in minutes), "small" (dim 256,
// 6 layers) and "base" (dim 512, 8 layers); vocab_size is left 0 for the tokenizer to
// fill in. Anything else throws listing the names.
CausalLMConfig lm_preset(std::string_view name);

std::string to_json(const CausalLMConfig& config);
// Throws naming a missing or mistyped key.
CausalLMConfig lm_config_from_json(const std::string& json);

}  // namespace subtb::nn

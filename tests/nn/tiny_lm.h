#pragma once
// A tiny causal LM for the transformer tests: small enough that a forward takes
// microseconds, with grouped-query heads so that every path of the attention is used.
#include "nn/causal_lm.h"

namespace subtb::testing {

inline nn::CausalLMConfig tiny_lm_config() {
  nn::CausalLMConfig c;
  c.vocab_size = 17;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.ffn_hidden = 24;
  c.max_seq_len = 32;
  c.init_std = 0.2;  // larger than usual, so that the logits of a random model differ clearly
  return c;
}

}  // namespace subtb::testing

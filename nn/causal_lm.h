#pragma once
// A decoder-only causal language model in the LLaMA shape: token embeddings, n_layers
// pre-norm blocks (RMSNorm, grouped-query attention with RoPE, SwiGLU), a final RMSNorm
// and an output head. Parameter names are Hugging Face's LlamaForCausalLM ones, so a
// checkpoint opens in Python tools:
//   model.embed_tokens.weight                         [V, dim]
//   model.layers.N.input_layernorm.weight             [dim]
//   model.layers.N.self_attn.{q,k,v,o}_proj.weight    q, o: [dim, dim]; k, v: [Hkv * D, dim]
//   model.layers.N.post_attention_layernorm.weight    [dim]
//   model.layers.N.mlp.{gate,up}_proj.weight          [ffn_hidden, dim]
//   model.layers.N.mlp.down_proj.weight               [dim, ffn_hidden]
//   model.norm.weight                                 [dim]
//   lm_head.weight                                    [V, dim] (absent with tied embeddings)
//
// Padding: `valid` ([B, T] bool, true = a real token) marks padding on either side; a
// padded row computes what it would alone (positions count real tokens only). With a
// KV cache, batches must be left-padded (nn/kv_cache.h).
#include <memory>

#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/kv_cache.h"
#include "nn/linear.h"
#include "nn/lm_config.h"
#include "nn/module.h"
#include "nn/module_list.h"
#include "nn/norm.h"
#include "nn/rope.h"
#include "nn/transformer_block.h"

namespace subtb::nn {

// The trunk, registered as "model": embeddings, blocks and the final norm.
class DecoderModel : public Module {
 public:
  DecoderModel(const CausalLMConfig& config, const ParamInit& init);

  std::shared_ptr<Embedding> embed_tokens;
  std::shared_ptr<ModuleList<TransformerBlock>> layers;
  std::shared_ptr<RMSNorm> norm;
};

class CausalLM : public Module {
 public:
  explicit CausalLM(const CausalLMConfig& config, const ParamInit& init = {});

  // tokens: [B, T] i64 -> logits [B, T, vocab_size]. With a cache, the tokens continue
  // the cached ones (and are appended to it).
  Tensor forward(const Tensor& tokens, KVCache* cache = nullptr, const Tensor& valid = Tensor());
  // The same from input embeddings [B, T, dim] (e.g. image features placed among token
  // embeddings by a vision-language model).
  Tensor forward_embeddings(const Tensor& embeds, KVCache* cache = nullptr, const Tensor& valid = Tensor());

  // The pieces of forward_embeddings, for callers that need the hidden states:
  // tokens [B, T] -> [B, T, dim];
  Tensor embed(const Tensor& tokens);
  // embeds [B, T, dim] -> the final norm's output [B, T, dim];
  Tensor hidden_states(const Tensor& embeds, KVCache* cache = nullptr, const Tensor& valid = Tensor());
  // hidden [..., dim] -> logits [..., vocab_size].
  Tensor logits(const Tensor& hidden);

  // A cache for `batch` rows of up to max_len tokens (0: config().max_seq_len), in the
  // model's dtype and on its device.
  KVCache make_cache(int64_t batch, int64_t max_len = 0) const;

  const CausalLMConfig& config() const { return config_; }
  const RotaryEmbedding& rope() const { return rope_; }

  std::shared_ptr<DecoderModel> model;
  std::shared_ptr<Linear> lm_head;  // null with tied embeddings

 private:
  CausalLMConfig config_;
  RotaryEmbedding rope_;
};

}  // namespace subtb::nn

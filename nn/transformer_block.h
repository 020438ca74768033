#pragma once
// A pre-norm transformer block:
//   h   = x + self_attn(input_layernorm(x))
//   out = h + mlp(post_attention_layernorm(h))
// With RMSNorm and SwiGLU it is a LLaMA decoder layer (the names match Hugging Face's:
// input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
// mlp.{gate,up,down}_proj); with LayerNorm, biases, GELU and a non-causal context it is a
// ViT encoder layer. Causality, positions, masks and the cache come with each call
// (AttentionContext), so one block serves both.
#include <memory>
#include <string_view>

#include "nn/attention.h"
#include "nn/feed_forward.h"
#include "nn/init.h"
#include "nn/module.h"

namespace subtb::nn {

enum class NormKind { rms, layer };

struct BlockConfig {
  int64_t dim = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // 0 means n_heads
  int64_t ffn_hidden = 0;
  FeedForwardKind ffn = FeedForwardKind::swiglu;
  NormKind norm = NormKind::rms;
  double norm_eps = 1e-5;
  bool bias = false;  // on every Linear of the block
};

class TransformerBlock : public Module {
 public:
  explicit TransformerBlock(const BlockConfig& config, const ParamInit& init = {});

  // x: [B, T, dim] -> [B, T, dim].
  Tensor forward(const Tensor& x, const AttentionContext& context = {});

  std::shared_ptr<Layer> input_layernorm;
  std::shared_ptr<MultiHeadAttention> self_attn;
  std::shared_ptr<Layer> post_attention_layernorm;
  std::shared_ptr<FeedForward> mlp;
};

}  // namespace subtb::nn

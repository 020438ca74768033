#include "nn/transformer_block.h"

#include "nn/norm.h"
#include "tensor/ops.h"

namespace subtb::nn {

namespace {

std::shared_ptr<Layer> make_norm(const BlockConfig& c, const ParamInit& init) {
  if (c.norm == NormKind::rms) return std::make_shared<RMSNorm>(c.dim, c.norm_eps, init);
  return std::make_shared<LayerNorm>(c.dim, c.norm_eps, /*elementwise_affine=*/true, init);
}

}  // namespace

TransformerBlock::TransformerBlock(const BlockConfig& c, const ParamInit& init) {
  input_layernorm = register_module("input_layernorm", make_norm(c, init));
  self_attn = register_module(
      "self_attn",
      std::make_shared<MultiHeadAttention>(
          AttentionConfig{.dim = c.dim, .n_heads = c.n_heads, .n_kv_heads = c.n_kv_heads, .bias = c.bias}, init));
  post_attention_layernorm = register_module("post_attention_layernorm", make_norm(c, init));
  mlp = register_module(
      "mlp", std::make_shared<FeedForward>(
                 FeedForwardConfig{.dim = c.dim, .hidden = c.ffn_hidden, .kind = c.ffn, .bias = c.bias}, init));
}

Tensor TransformerBlock::forward(const Tensor& x, const AttentionContext& context) {
  const Tensor h = x + self_attn->forward(input_layernorm->forward(x), context);
  return h + mlp->forward(post_attention_layernorm->forward(h));
}

}  // namespace subtb::nn

#include "nn/attention.h"

#include "tensor/ops.h"

namespace subtb::nn {

namespace {

AttentionConfig checked(AttentionConfig c) {
  if (c.n_kv_heads == 0) c.n_kv_heads = c.n_heads;
  SUBTB_CHECK(c.dim > 0 && c.n_heads > 0 && c.n_kv_heads > 0 && c.dim % c.n_heads == 0 && c.n_heads % c.n_kv_heads == 0,
              "MultiHeadAttention: dim ", c.dim, " must be a positive multiple of n_heads ", c.n_heads,
              ", itself a positive multiple of n_kv_heads ", c.n_kv_heads);
  return c;
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(const AttentionConfig& config, const ParamInit& init) {
  const AttentionConfig c = checked(config);
  n_heads_ = c.n_heads;
  n_kv_heads_ = c.n_kv_heads;
  head_dim_ = c.dim / c.n_heads;
  q_proj = register_module("q_proj", std::make_shared<Linear>(c.dim, n_heads_ * head_dim_, c.bias, init));
  k_proj = register_module("k_proj", std::make_shared<Linear>(c.dim, n_kv_heads_ * head_dim_, c.bias, init));
  v_proj = register_module("v_proj", std::make_shared<Linear>(c.dim, n_kv_heads_ * head_dim_, c.bias, init));
  o_proj = register_module("o_proj", std::make_shared<Linear>(n_heads_ * head_dim_, c.dim, c.bias, init));
}

Tensor MultiHeadAttention::forward(const Tensor& x, const AttentionContext& context) {
  SUBTB_CHECK(x.dim() == 3 && x.shape()[2] == q_proj->in_features(), "MultiHeadAttention: input ", describe(x),
              " is not [B, T, ", q_proj->in_features(), "]");
  const int64_t B = x.shape()[0], T = x.shape()[1];
  // Projections come out as [B, T, H, D]; RoPE rotates in that layout and transpose(1, 2)
  // gives the op its [B, H, T, D] as a view.
  Tensor q = q_proj->forward(x).view(Shape{B, T, n_heads_, head_dim_});
  Tensor k = k_proj->forward(x).view(Shape{B, T, n_kv_heads_, head_dim_});
  Tensor v = v_proj->forward(x).view(Shape{B, T, n_kv_heads_, head_dim_});
  if (context.rope != nullptr) {
    q = context.rope->apply(q, context.positions);
    k = context.rope->apply(k, context.positions);
  }
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  v = v.transpose(1, 2);
  if (context.cache != nullptr) std::tie(k, v) = context.cache->append(context.layer, k, v);

  AttentionOptions options;
  options.causal = context.causal;
  if (context.key_mask.defined()) options.key_mask = context.key_mask.contiguous();
  const Tensor out = scaled_dot_product_attention(q, k, v, options);  // [B, H, T, D]
  return o_proj->forward(out.transpose(1, 2).reshape(Shape{B, T, n_heads_ * head_dim_}));
}

}  // namespace subtb::nn

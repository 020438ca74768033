#pragma once
// Multi-head self-attention over the fused scaled_dot_product_attention op, with
// grouped-query heads (n_kv_heads dividing n_heads; n_kv_heads = 1 is multi-query), rotary
// position embeddings and a KV cache. Parameter names follow Hugging Face's LLaMA:
// q_proj, k_proj, v_proj, o_proj.
#include <memory>

#include "nn/init.h"
#include "nn/kv_cache.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/rope.h"

namespace subtb::nn {

struct AttentionConfig {
  int64_t dim = 0;         // model width
  int64_t n_heads = 0;     // query heads; head_dim = dim / n_heads
  int64_t n_kv_heads = 0;  // key/value heads; 0 means n_heads
  bool bias = false;       // biases on the four projections (LLaMA has none, ViTs do)
};

// What one self-attention call needs beyond its input; a model builds it once per
// forward and hands it to every block.
struct AttentionContext {
  bool causal = false;
  // Rotates queries and keys at `positions` ([B, T] i64) when set.
  const RotaryEmbedding* rope = nullptr;
  Tensor positions;
  // [B, Tk] bool, true = the key takes part (padding is false); Tk is T, or the cache's
  // filled length plus T when a cache is given. Undefined: every key takes part.
  Tensor key_mask;
  // Keys and values are appended to the cache at layer `layer` and attention reads all
  // of its filled columns.
  KVCache* cache = nullptr;
  int64_t layer = 0;
};

class MultiHeadAttention : public Module {
 public:
  explicit MultiHeadAttention(const AttentionConfig& config, const ParamInit& init = {});

  // x: [B, T, dim] -> [B, T, dim].
  Tensor forward(const Tensor& x, const AttentionContext& context = {});

  int64_t n_heads() const { return n_heads_; }
  int64_t n_kv_heads() const { return n_kv_heads_; }
  int64_t head_dim() const { return head_dim_; }

  std::shared_ptr<Linear> q_proj, k_proj, v_proj, o_proj;

 private:
  int64_t n_heads_, n_kv_heads_, head_dim_;
};

}  // namespace subtb::nn

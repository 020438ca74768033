#include "nn/causal_lm.h"

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace subtb::nn {

namespace {

const CausalLMConfig& validated(const CausalLMConfig& config) {
  config.validate();
  return config;
}

void init_normal(const Tensor& weight, double std, const ParamInit& init) {
  NoGradGuard no_grad;
  Tensor w = weight;
  w.copy_(randn(weight.shape(), weight.dtype(), weight.device(), init.gen, 0.0, std));
}

}  // namespace

DecoderModel::DecoderModel(const CausalLMConfig& c, const ParamInit& init) {
  embed_tokens = register_module("embed_tokens", std::make_shared<Embedding>(c.vocab_size, c.dim, init));
  layers = register_module("layers", std::make_shared<ModuleList<TransformerBlock>>());
  const BlockConfig block{.dim = c.dim,
                          .n_heads = c.n_heads,
                          .n_kv_heads = c.n_kv_heads,
                          .ffn_hidden = c.ffn_hidden,
                          .ffn = FeedForwardKind::swiglu,
                          .norm = NormKind::rms,
                          .norm_eps = c.norm_eps};
  for (int64_t l = 0; l < c.n_layers; ++l) layers->push_back(std::make_shared<TransformerBlock>(block, init));
  norm = register_module("norm", std::make_shared<RMSNorm>(c.dim, c.norm_eps, init));
}

CausalLM::CausalLM(const CausalLMConfig& config, const ParamInit& init)
    : config_(validated(config)), rope_(config.head_dim(), config.max_seq_len, config.rope_theta) {
  model = register_module("model", std::make_shared<DecoderModel>(config_, init));
  if (!config_.tie_embeddings)
    lm_head = register_module("lm_head", std::make_shared<Linear>(config_.dim, config_.vocab_size, false, init));
  // Every matrix (and the embedding table) starts N(0, init_std^2), as in LLaMA and GPT-2;
  // the norms' weights start at one.
  for (const auto& [name, p] : named_parameters())
    if (p.dim() == 2) init_normal(p, config_.init_std, init);
}

Tensor CausalLM::embed(const Tensor& tokens) {
  SUBTB_CHECK(tokens.dim() == 2 && tokens.dtype() == DType::i64, "CausalLM: tokens ", describe(tokens),
              " are not i64 [B, T]");
  return model->embed_tokens->forward(tokens);
}

Tensor CausalLM::hidden_states(const Tensor& embeds, KVCache* cache, const Tensor& valid) {
  SUBTB_CHECK(embeds.dim() == 3 && embeds.shape()[2] == config_.dim, "CausalLM: embeddings ", describe(embeds),
              " are not [B, T, ", config_.dim, "]");
  const int64_t B = embeds.shape()[0], T = embeds.shape()[1];
  SUBTB_CHECK(T > 0, "CausalLM: an empty sequence ", describe(embeds));
  AttentionContext context;
  context.causal = true;
  context.rope = &rope_;
  context.cache = cache;
  if (cache != nullptr) {
    SUBTB_CHECK(cache->batch() == B && cache->n_layers() == config_.n_layers, "CausalLM: a cache of ", cache->batch(),
                " rows and ", cache->n_layers(), " layers for a batch of ", B, " and ", config_.n_layers, " layers");
    context.positions = cache->positions_for(valid, T);
    context.key_mask = cache->extend_mask(valid, T);
  } else {
    SUBTB_CHECK(T <= config_.max_seq_len, "CausalLM: ", T, " tokens exceed max_seq_len ", config_.max_seq_len);
    context.positions = token_positions(valid, B, T).to(embeds.device());
    context.key_mask = valid;
  }
  Tensor h = embeds;
  for (int64_t l = 0; l < config_.n_layers; ++l) {
    context.layer = l;
    h = (*model->layers)[static_cast<size_t>(l)].forward(h, context);
  }
  if (cache != nullptr) cache->advance(T);
  return model->norm->forward(h);
}

Tensor CausalLM::logits(const Tensor& hidden) {
  if (lm_head) return lm_head->forward(hidden);
  const Tensor& table = model->embed_tokens->weight;  // [V, dim]
  SUBTB_CHECK(hidden.dim() >= 1 && hidden.shape().back() == config_.dim, "CausalLM: hidden states ", describe(hidden),
              " do not end in dim ", config_.dim);
  Shape out_shape = hidden.shape();
  out_shape[out_shape.size() - 1] = config_.vocab_size;
  return matmul(hidden.reshape(Shape{-1, config_.dim}), table.t()).reshape(out_shape);
}

Tensor CausalLM::forward(const Tensor& tokens, KVCache* cache, const Tensor& valid) {
  return logits(hidden_states(embed(tokens), cache, valid));
}

Tensor CausalLM::forward_embeddings(const Tensor& embeds, KVCache* cache, const Tensor& valid) {
  return logits(hidden_states(embeds, cache, valid));
}

KVCache CausalLM::make_cache(int64_t batch, int64_t max_len) const {
  const Tensor& w = model->embed_tokens->weight;
  return KVCache(config_.n_layers, batch, config_.kv_heads(), max_len > 0 ? max_len : config_.max_seq_len,
                 config_.head_dim(), w.dtype(), w.device());
}

}  // namespace subtb::nn

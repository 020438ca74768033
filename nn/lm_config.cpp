#include "nn/lm_config.h"

#include <nlohmann/json.hpp>

#include "tensor/error.h"

namespace subtb::nn {

void CausalLMConfig::validate() const {
  SUBTB_CHECK(vocab_size > 0, "CausalLMConfig: vocab_size must be positive, got ", vocab_size);
  SUBTB_CHECK(dim > 0 && n_layers > 0 && n_heads > 0 && ffn_hidden > 0 && max_seq_len > 0,
              "CausalLMConfig: dim, n_layers, n_heads, ffn_hidden and max_seq_len must be positive, got ", dim, ", ",
              n_layers, ", ", n_heads, ", ", ffn_hidden, " and ", max_seq_len);
  SUBTB_CHECK(dim % n_heads == 0 && head_dim() % 2 == 0, "CausalLMConfig: dim ", dim, " / n_heads ", n_heads,
              " must be an even integer (the RoPE head dim)");
  SUBTB_CHECK(n_kv_heads >= 0 && n_heads % kv_heads() == 0, "CausalLMConfig: n_heads ", n_heads,
              " must be a multiple of n_kv_heads ", n_kv_heads);
  SUBTB_CHECK(rope_theta > 1.0 && norm_eps > 0.0 && init_std > 0.0,
              "CausalLMConfig: rope_theta must exceed 1 and norm_eps, init_std be positive, got ", rope_theta, ", ",
              norm_eps, ", ", init_std);
}

CausalLMConfig lm_preset(std::string_view name) {
  CausalLMConfig c;
  if (name == "tiny") {
    c.dim = 128, c.n_layers = 4, c.n_heads = 4, c.n_kv_heads = 2, c.ffn_hidden = 352, c.max_seq_len = 128;
  } else if (name == "small") {
    c.dim = 256, c.n_layers = 6, c.n_heads = 8, c.n_kv_heads = 4, c.ffn_hidden = 704, c.max_seq_len = 256;
  } else if (name == "base") {
    c.dim = 512, c.n_layers = 8, c.n_heads = 8, c.n_kv_heads = 8, c.ffn_hidden = 1376, c.max_seq_len = 512;
  } else {
    SUBTB_THROW("lm_preset: unknown config '", name, "' (choose tiny, small or base)");
  }
  return c;
}

std::string to_json(const CausalLMConfig& c) {
  const nlohmann::json j = {{"vocab_size", c.vocab_size},   {"dim", c.dim},
                            {"n_layers", c.n_layers},       {"n_heads", c.n_heads},
                            {"n_kv_heads", c.n_kv_heads},   {"ffn_hidden", c.ffn_hidden},
                            {"max_seq_len", c.max_seq_len}, {"rope_theta", c.rope_theta},
                            {"norm_eps", c.norm_eps},       {"tie_embeddings", c.tie_embeddings},
                            {"init_std", c.init_std}};
  return j.dump();
}

CausalLMConfig lm_config_from_json(const std::string& text) {
  CausalLMConfig c;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    j.at("vocab_size").get_to(c.vocab_size);
    j.at("dim").get_to(c.dim);
    j.at("n_layers").get_to(c.n_layers);
    j.at("n_heads").get_to(c.n_heads);
    j.at("n_kv_heads").get_to(c.n_kv_heads);
    j.at("ffn_hidden").get_to(c.ffn_hidden);
    j.at("max_seq_len").get_to(c.max_seq_len);
    j.at("rope_theta").get_to(c.rope_theta);
    j.at("norm_eps").get_to(c.norm_eps);
    j.at("tie_embeddings").get_to(c.tie_embeddings);
    j.at("init_std").get_to(c.init_std);
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("lm_config_from_json: ", e.what());
  }
  return c;
}

}  // namespace subtb::nn

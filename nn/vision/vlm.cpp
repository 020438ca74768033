#include "nn/vision/vlm.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "nn/eval_mode.h"
#include "nn/log_probs.h"
#include "tensor/ops.h"

namespace subtb::nn {

void VLMConfig::validate() const {
  vision.validate();
  language.validate();
  SUBTB_CHECK(image_token_id >= 0 && image_token_id < language.vocab_size, "VLMConfig: image_token_id ", image_token_id,
              " is outside the vocabulary [0, ", language.vocab_size, ")");
  SUBTB_CHECK(image_tokens() < language.max_seq_len, "VLMConfig: ", image_tokens(),
              " image tokens leave no room in the LM's max_seq_len ", language.max_seq_len);
  for (int c = 0; c < 3; ++c) {
    SUBTB_CHECK(image_std[c] > 0, "VLMConfig: image_std[", c, "] must be positive, got ", image_std[c]);
  }
}

VLMConfig vlm_preset(std::string_view name) {
  VLMConfig c;
  if (name == "tiny") {
    c.vision = vit_preset("tiny");
    c.language = lm_preset("tiny");
    // The image tokens plus an environment's prompt and answer: a household prompt takes up
    // to ~600 tokens (envs/vlm/README.md). RoPE has no table of weights, so the limit costs
    // nothing where the sequences are shorter.
    c.language.max_seq_len = 1024;
  } else if (name == "small" || name == "base") {
    c.vision = vit_preset(name);
    c.language = lm_preset(name);
    c.language.max_seq_len = 1024;
  } else {
    SUBTB_THROW("vlm_preset: unknown config '", name, "' (choose tiny, small or base)");
  }
  return c;
}

std::string to_json(const VLMConfig& c) {
  const ViTConfig& v = c.vision;
  const nlohmann::json vision = {{"image_size", v.image_size}, {"patch_size", v.patch_size},
                                 {"channels", v.channels},     {"dim", v.dim},
                                 {"n_layers", v.n_layers},     {"n_heads", v.n_heads},
                                 {"ffn_hidden", v.ffn_hidden}, {"norm_eps", v.norm_eps}};
  const nlohmann::json j = {{"vision", vision},
                            {"language", nlohmann::json::parse(to_json(c.language))},
                            {"image_token_id", c.image_token_id},
                            {"image_mean", c.image_mean},
                            {"image_std", c.image_std}};
  return j.dump();
}

VLMConfig vlm_config_from_json(const std::string& text) {
  VLMConfig c;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    const nlohmann::json& v = j.at("vision");
    v.at("image_size").get_to(c.vision.image_size);
    v.at("patch_size").get_to(c.vision.patch_size);
    v.at("channels").get_to(c.vision.channels);
    v.at("dim").get_to(c.vision.dim);
    v.at("n_layers").get_to(c.vision.n_layers);
    v.at("n_heads").get_to(c.vision.n_heads);
    v.at("ffn_hidden").get_to(c.vision.ffn_hidden);
    v.at("norm_eps").get_to(c.vision.norm_eps);
    c.language = lm_config_from_json(j.at("language").dump());
    j.at("image_token_id").get_to(c.image_token_id);
    j.at("image_mean").get_to(c.image_mean);
    j.at("image_std").get_to(c.image_std);
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("vlm_config_from_json: ", e.what());
  }
  return c;
}

VisionLanguageModel::VisionLanguageModel(const VLMConfig& config, const ParamInit& init) : config_(config) {
  config.validate();
  vision_tower = register_module("vision_tower", std::make_shared<VisionTransformer>(config.vision, init));
  // LLaVA-1.5's two-layer GELU projector.
  const MLPOptions projector{.sizes = {config.vision.dim, config.language.dim, config.language.dim},
                             .activation = Activation::gelu};
  multi_modal_projector = register_module("multi_modal_projector", std::make_shared<MLP>(projector, init));
  language_model = register_module("language_model", std::make_shared<CausalLM>(config.language, init));
}

Tensor VisionLanguageModel::preprocess(std::span<const RgbImage> images) const {
  const Tensor& like = vision_tower->position_embedding;
  return images_to_tensor(images, config_.image_transform()).to(like.dtype()).to(like.device());
}

Tensor VisionLanguageModel::encode_images(const Tensor& images) {
  return multi_modal_projector->forward(vision_tower->forward(images));
}

Tensor VisionLanguageModel::embed(const Tensor& tokens, const Tensor& image_tokens) {
  const int64_t p = config_.image_tokens(), dim = config_.language.dim;
  SUBTB_CHECK(tokens.dim() == 2 && tokens.dtype() == DType::i64,
              "VisionLanguageModel: expected tokens [B, T] i64, got ", describe(tokens));
  const int64_t b = tokens.shape()[0], t = tokens.shape()[1];
  SUBTB_CHECK(image_tokens.shape() == (Shape{b, p, dim}), "VisionLanguageModel: expected image tokens [", b, ", ", p,
              ", ", dim, "] for tokens ", describe(tokens), ", got ", describe(image_tokens));
  // One gather builds the inputs: from the rows [B * T + B * P, dim] of the token
  // embeddings followed by the image tokens, position i of row b takes its own token
  // embedding (i) or, at the k-th placeholder, image row B * T + b * P + k (computed on
  // the host, where the count is also checked). The backward scatters once into both.
  const std::vector<int64_t> ids = tokens.to_vector<int64_t>();
  std::vector<int64_t> source(ids.size());
  for (int64_t row = 0; row < b; ++row) {
    int64_t k = 0;
    for (int64_t i = row * t; i < (row + 1) * t; ++i) {
      const bool image = ids[static_cast<size_t>(i)] == config_.image_token_id;
      source[static_cast<size_t>(i)] = image ? b * t + row * p + k++ : i;
    }
    SUBTB_CHECK(k == p, "VisionLanguageModel: row ", row, " of tokens ", describe(tokens), " holds ", k,
                " image placeholders (id ", config_.image_token_id, "), expected ", p,
                " (expand the prompt's marker with expand_image_tokens)");
  }
  const Tensor rows = cat({language_model->embed(tokens).reshape({b * t, dim}), image_tokens.reshape({b * p, dim})}, 0);
  return index_select(rows, 0, from_vector(source, tokens.device())).reshape({b, t, dim});
}

Tensor VisionLanguageModel::forward(const Tensor& tokens, const Tensor& images, const Tensor& valid) {
  return language_model->forward_embeddings(embed(tokens, encode_images(images)), nullptr, valid);
}

Tensor VisionLanguageModel::hidden_states(const Tensor& tokens, const Tensor& images, const Tensor& valid) {
  return language_model->hidden_states(embed(tokens, encode_images(images)), nullptr, valid);
}

Tensor VisionLanguageModel::continuation_log_probs(const Tensor& tokens, const Tensor& images, const Tensor& mask,
                                                   const Tensor& valid) {
  // Through the head only at the answer rows: at the compact widths, the head and its
  // log-softmax over all T positions cost about as much as a decoder layer.
  return nn::continuation_log_probs(
      hidden_states(tokens, images, valid), [this](const Tensor& h) { return language_model->logits(h); }, tokens,
      mask);
}

std::vector<GeneratedRow> VisionLanguageModel::generate(const std::vector<std::vector<int64_t>>& prompts,
                                                        const Tensor& images, const GenerationConfig& config) {
  const int64_t b = static_cast<int64_t>(prompts.size());
  SUBTB_CHECK(images.dim() == 4 && images.shape()[0] == b, "VisionLanguageModel::generate: ", b,
              " prompts need images [", b, ", 3, S, S], got ", describe(images));
  if (b == 0) return {};
  size_t t = 0;
  for (const auto& prompt : prompts) t = std::max(t, prompt.size());
  // Left padding, as the KV-cache generation expects.
  std::vector<int64_t> tokens(static_cast<size_t>(b) * t, config.pad_token_id);
  std::vector<uint8_t> valid(tokens.size(), 0);
  for (size_t row = 0; row < prompts.size(); ++row) {
    const size_t start = row * t + t - prompts[row].size();
    std::copy(prompts[row].begin(), prompts[row].end(), tokens.begin() + static_cast<std::ptrdiff_t>(start));
    std::fill(valid.begin() + static_cast<std::ptrdiff_t>(start),
              valid.begin() + static_cast<std::ptrdiff_t>(row * t + t), 1);
  }
  const Device device = images.device();
  const Shape shape{b, static_cast<int64_t>(t)};
  Tensor embeds;
  {
    EvalModeGuard eval_mode(*this);
    NoGradGuard no_grad;
    embeds = embed(from_vector(tokens, shape, device), encode_images(images));
  }
  return generate_from_embeddings(*language_model, embeds, from_buffer(valid.data(), shape, DType::b8, device), config);
}

std::vector<int64_t> VisionLanguageModel::expand_image_tokens(std::span<const int64_t> tokens) const {
  std::vector<int64_t> out;
  out.reserve(tokens.size() + static_cast<size_t>(config_.image_tokens()));
  for (int64_t id : tokens) {
    if (id == config_.image_token_id) {
      out.insert(out.end(), static_cast<size_t>(config_.image_tokens()), id);
    } else {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace subtb::nn

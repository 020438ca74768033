#pragma once
// A compact vision-language model in LLaVA's shape (Liu et al. 2023):
//
//   RGB image --preprocess (nn/vision/image.h)--> [3, S, S]
//     --vision_tower (ViT)--> [P, vision.dim] --multi_modal_projector (MLP)--> [P, dim]
//   prompt tokens with P image placeholders --embed--> [T, dim], the placeholders'
//     rows replaced by the P image tokens in order
//   --language_model (causal LM over input embeddings)--> logits [T, V]
//
// A prompt marks its image with one `image_token_id` (the tokenizer's "<image>");
// expand_image_tokens() turns that marker into P copies, so that a batch of prompts pads
// like any token batch and image tokens take ordinary positions.
//
// Parameter names: vision_tower.* (nn/vision/vit.h), multi_modal_projector.{trunk.0,
// head}.{weight, bias}, language_model.* (nn/causal_lm.h).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nn/causal_lm.h"
#include "nn/generation.h"
#include "nn/lm_config.h"
#include "nn/mlp.h"
#include "nn/module.h"
#include "nn/vision/image.h"
#include "nn/vision/vit.h"

namespace subtb::nn {

struct VLMConfig {
  ViTConfig vision;
  CausalLMConfig language;     // vocab_size is the tokenizer's
  int64_t image_token_id = 0;  // the placeholder token (the tokenizer's "<image>")
  // Per-channel normalisation of the preprocessing; the size is vision.image_size.
  std::array<float, 3> image_mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> image_std{0.5f, 0.5f, 0.5f};

  int64_t image_tokens() const { return vision.num_patches(); }
  ImageTransform image_transform() const { return {vision.image_size, image_mean, image_std}; }
  // Throws naming the first inconsistent field.
  void validate() const;
};

// "tiny" (ViT tiny + LM tiny, 64 image tokens: trains on two CPU cores in minutes),
// "small" and "base" (ViT-S/16 and ViT-B/16 with the small and base LMs, 196 image
// tokens: for a GPU). language.vocab_size and image_token_id are left 0 for the tokenizer
// to fill in.
VLMConfig vlm_preset(std::string_view name);

std::string to_json(const VLMConfig& config);
// Throws naming a missing or mistyped key.
VLMConfig vlm_config_from_json(const std::string& json);

class VisionLanguageModel : public Module {
 public:
  explicit VisionLanguageModel(const VLMConfig& config, const ParamInit& init = {});

  // RGB images -> [B, 3, S, S] in the model's dtype and on its device.
  Tensor preprocess(std::span<const RgbImage> images) const;

  // Preprocessed images [B, 3, S, S] -> image tokens [B, P, dim] in the LM's width.
  Tensor encode_images(const Tensor& images);

  // tokens: [B, T] i64 with exactly P placeholders per row; image_tokens: [B, P, dim]
  // -> input embeddings [B, T, dim]: token embeddings, with row b's placeholders holding
  // image_tokens[b, 0..P) in order. Differentiable in both.
  Tensor embed(const Tensor& tokens, const Tensor& image_tokens);

  // tokens [B, T], images [B, 3, S, S] (preprocessed), valid [B, T] bool or undefined
  // (as CausalLM::forward) -> logits [B, T, V].
  Tensor forward(const Tensor& tokens, const Tensor& images, const Tensor& valid = Tensor());

  // The LM's final-norm hidden states [B, T, dim] of the same inputs, for heads of one's
  // own (a value head, say); language_model->logits(hidden) gives forward's logits.
  Tensor hidden_states(const Tensor& tokens, const Tensor& images, const Tensor& valid = Tensor());

  // Per-token log-probabilities of tokens[b, t] given the tokens (and image) before it,
  // where mask [B, T] bool is true (typically the answer), 0 elsewhere -> [B, T].
  // Summing over dim 1 gives log p(answer | image, prompt).
  Tensor continuation_log_probs(const Tensor& tokens, const Tensor& images, const Tensor& mask,
                                const Tensor& valid = Tensor());

  // Greedy or sampled continuations of prompts (token ids, each holding P placeholders)
  // given their images [B, 3, S, S] (preprocessed), through the LM's KV-cache generation.
  std::vector<GeneratedRow> generate(const std::vector<std::vector<int64_t>>& prompts, const Tensor& images,
                                     const GenerationConfig& config);

  // Replaces each image_token_id of `tokens` by P of them (the prompt's image marker ->
  // the placeholders of its image tokens).
  std::vector<int64_t> expand_image_tokens(std::span<const int64_t> tokens) const;

  const VLMConfig& config() const { return config_; }

  std::shared_ptr<VisionTransformer> vision_tower;
  std::shared_ptr<MLP> multi_modal_projector;
  std::shared_ptr<CausalLM> language_model;

 private:
  VLMConfig config_;
};

}  // namespace subtb::nn

#pragma once
// A Vision Transformer image encoder (ViT, Dosovitskiy et al. 2021) without a class token,
// as LLaVA-style models use it (every patch feature goes to the language model):
//
//   images [B, C, S, S]
//     -> patch_embed: conv2d with kernel = stride = patch   [B, dim, S/p, S/p]
//     -> flatten to tokens, + position_embedding            [B, P, dim], P = (S/p)^2
//     -> layers: pre-norm encoder blocks (LayerNorm, non-causal attention with biases,
//        GELU MLP of 4 * dim)
//     -> norm: a final LayerNorm                            [B, P, dim]
//
// Parameter names: patch_embed.{weight [dim, C, p, p], bias [dim]}, position_embedding
// [P, dim], layers.N.* (nn/transformer_block.h), norm.{weight, bias}.
#include <memory>
#include <string_view>

#include "nn/init.h"
#include "nn/module.h"
#include "nn/module_list.h"
#include "nn/norm.h"
#include "nn/transformer_block.h"

namespace subtb::nn {

struct ViTConfig {
  int64_t image_size = 0;  // S: the input is S x S
  int64_t patch_size = 0;  // p, dividing S
  int64_t channels = 3;
  int64_t dim = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t ffn_hidden = 0;  // 0 means 4 * dim
  double norm_eps = 1e-6;

  int64_t grid() const { return patch_size > 0 ? image_size / patch_size : 0; }
  int64_t num_patches() const { return grid() * grid(); }
  int64_t mlp_hidden() const { return ffn_hidden > 0 ? ffn_hidden : 4 * dim; }
  // Throws naming the first inconsistent field.
  void validate() const;
};

// "tiny" (64 x 64 images, 8 x 8 patches, dim 64, 2 layers: trains on two CPU cores),
// "small" (ViT-S/16: 224, dim 384, 12 layers, 6 heads) and "base" (ViT-B/16: 224, dim 768,
// 12 layers, 12 heads). Anything else throws listing the names.
ViTConfig vit_preset(std::string_view name);

// Non-overlapping patches to vectors: conv2d with kernel = stride = patch_size.
// images [B, C, S, S] -> [B, P, dim], patches in row-major order of the grid.
class PatchEmbedding : public Layer {
 public:
  PatchEmbedding(int64_t channels, int64_t dim, int64_t patch_size, const ParamInit& init = {});
  Tensor forward(const Tensor& images) override;

  Tensor weight;  // [dim, C, p, p]
  Tensor bias;    // [dim]
};

class VisionTransformer : public Module {
 public:
  explicit VisionTransformer(const ViTConfig& config, const ParamInit& init = {});

  // images: [B, C, S, S] in the model's dtype and device -> features [B, P, dim].
  Tensor forward(const Tensor& images);

  const ViTConfig& config() const { return config_; }

  std::shared_ptr<PatchEmbedding> patch_embed;
  Tensor position_embedding;  // [P, dim]
  std::shared_ptr<ModuleList<TransformerBlock>> layers;
  std::shared_ptr<LayerNorm> norm;

 private:
  ViTConfig config_;
};

}  // namespace subtb::nn

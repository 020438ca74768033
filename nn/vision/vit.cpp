#include "nn/vision/vit.h"

#include <cmath>

#include "tensor/ops.h"

namespace subtb::nn {

void ViTConfig::validate() const {
  SUBTB_CHECK(image_size > 0 && patch_size > 0 && image_size % patch_size == 0, "ViTConfig: patch_size ", patch_size,
              " must be positive and divide image_size ", image_size);
  SUBTB_CHECK(channels > 0, "ViTConfig: channels must be positive, got ", channels);
  SUBTB_CHECK(dim > 0 && n_heads > 0 && dim % n_heads == 0, "ViTConfig: n_heads ", n_heads,
              " must be positive and divide dim ", dim);
  SUBTB_CHECK(n_layers >= 0 && ffn_hidden >= 0, "ViTConfig: negative n_layers ", n_layers, " or ffn_hidden ",
              ffn_hidden);
}

ViTConfig vit_preset(std::string_view name) {
  ViTConfig c;
  if (name == "tiny") {
    c.image_size = 64, c.patch_size = 8, c.dim = 64, c.n_layers = 2, c.n_heads = 4;
  } else if (name == "small") {
    c.image_size = 224, c.patch_size = 16, c.dim = 384, c.n_layers = 12, c.n_heads = 6;
  } else if (name == "base") {
    c.image_size = 224, c.patch_size = 16, c.dim = 768, c.n_layers = 12, c.n_heads = 12;
  } else {
    SUBTB_THROW("vit_preset: unknown config '", name, "' (choose tiny, small or base)");
  }
  return c;
}

PatchEmbedding::PatchEmbedding(int64_t channels, int64_t dim, int64_t patch_size, const ParamInit& init) {
  // PyTorch's Conv2d initialisation (that of a Linear over the flattened patch).
  const int64_t fan_in = channels * patch_size * patch_size;
  weight = register_parameter("weight",
                              kaiming_uniform({dim, channels, patch_size, patch_size}, fan_in, std::sqrt(5.0), init));
  bias = register_parameter("bias", fan_in_uniform({dim}, fan_in, init));
}

Tensor PatchEmbedding::forward(const Tensor& images) {
  const int64_t p = weight.shape()[2];
  const Tensor grid = conv2d(images, weight, bias, {{p, p}});  // [B, dim, S/p, S/p]
  return grid.flatten(2).transpose(1, 2);                      // [B, P, dim]
}

VisionTransformer::VisionTransformer(const ViTConfig& config, const ParamInit& init) : config_(config) {
  config.validate();
  patch_embed = register_module("patch_embed",
                                std::make_shared<PatchEmbedding>(config.channels, config.dim, config.patch_size, init));
  position_embedding = register_parameter(
      "position_embedding", randn({config.num_patches(), config.dim}, init.dtype, init.device, init.gen, 0.0, 0.02));
  layers = register_module("layers", std::make_shared<ModuleList<TransformerBlock>>());
  const BlockConfig block{.dim = config.dim,
                          .n_heads = config.n_heads,
                          .ffn_hidden = config.mlp_hidden(),
                          .ffn = FeedForwardKind::gelu,
                          .norm = NormKind::layer,
                          .norm_eps = config.norm_eps,
                          .bias = true};
  for (int64_t i = 0; i < config.n_layers; ++i) layers->push_back(std::make_shared<TransformerBlock>(block, init));
  norm = register_module("norm", std::make_shared<LayerNorm>(config.dim, config.norm_eps, true, init));
}

Tensor VisionTransformer::forward(const Tensor& images) {
  const ViTConfig& c = config_;
  SUBTB_CHECK(images.dim() == 4 && images.shape()[1] == c.channels && images.shape()[2] == c.image_size &&
                  images.shape()[3] == c.image_size,
              "VisionTransformer: expected images [B, ", c.channels, ", ", c.image_size, ", ", c.image_size, "], got ",
              describe(images));
  Tensor x = add(patch_embed->forward(images), position_embedding);
  for (const auto& block : *layers) x = block->forward(x);
  return norm->forward(x);
}

}  // namespace subtb::nn

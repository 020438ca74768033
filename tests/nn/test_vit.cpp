// The ViT image encoder: the patch embedding is a Linear over each flattened patch, the
// encoder's output shape and names, non-causal attention (a late patch reaches the first
// token), images of a batch kept apart, gradients reaching every parameter, and errors.
#include "autograd/engine.h"
#include "nn/vision/vit.h"
#include "tests/support/test_util.h"

namespace subtb::nn {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::random_input;
using testing::values;

ViTConfig micro_vit() {
  ViTConfig c;
  c.image_size = 12, c.patch_size = 4, c.dim = 8, c.n_layers = 2, c.n_heads = 2;
  return c;
}

TEST(ViT, PatchEmbeddingIsALinearMapOfEachPatch) {
  Generator gen(1);
  PatchEmbedding embed(2, 5, 3, {DType::f64, kCPU, &gen});
  const Tensor images = random_input({2, 2, 6, 9}, {kCPU, DType::f64}, 2);
  const Tensor out = embed.forward(images);  // 2 x 3 patches
  ASSERT_EQ(out.shape(), (Shape{2, 6, 5}));
  // Patch (gy, gx) flattened channel-major, times weight [5, 2*3*3], plus bias.
  const std::vector<double> x = values(images), w = values(embed.weight), b = values(embed.bias);
  std::vector<double> expected;
  for (int n = 0; n < 2; ++n) {
    for (int gy = 0; gy < 2; ++gy) {
      for (int gx = 0; gx < 3; ++gx) {
        for (int o = 0; o < 5; ++o) {
          double acc = b[static_cast<size_t>(o)];
          for (int c = 0; c < 2; ++c) {
            for (int i = 0; i < 3; ++i) {
              for (int j = 0; j < 3; ++j) {
                acc += w[static_cast<size_t>(((o * 2 + c) * 3 + i) * 3 + j)] *
                       x[static_cast<size_t>(((n * 2 + c) * 6 + gy * 3 + i) * 9 + gx * 3 + j)];
              }
            }
          }
          expected.push_back(acc);
        }
      }
    }
  }
  EXPECT_TRUE(all_close(out, expected, 1e-12));
}

TEST(ViT, EncodesImagesToNormalisedPatchFeatures) {
  Generator gen(3);
  VisionTransformer vit(micro_vit(), {DType::f32, kCPU, &gen});
  const Tensor images = random_input({3, 3, 12, 12}, {kCPU, DType::f32}, 4, 1.0);
  const Tensor features = vit.forward(images);
  EXPECT_EQ(features.shape(), (Shape{3, 9, 8}));
  // The final LayerNorm (weight 1, bias 0 at initialisation): each feature has mean 0.
  EXPECT_TRUE(all_close(mean(features, {-1}), std::vector<double>(27, 0.0), 1e-5));
  std::vector<std::string> names;
  for (const auto& [name, t] : vit.named_parameters()) names.push_back(name);
  for (const char* expected : {"patch_embed.weight", "patch_embed.bias", "position_embedding",
                               "layers.0.self_attn.q_proj.bias", "layers.1.mlp.down_proj.weight", "norm.weight"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

// Attention is bidirectional: a change in the last patch reaches the first token; the
// other image of the batch is untouched.
TEST(ViT, AttentionIsNonCausalAndImagesStayApart) {
  Generator gen(5);
  VisionTransformer vit(micro_vit(), {DType::f32, kCPU, &gen});
  const Tensor images = random_input({2, 3, 12, 12}, {kCPU, DType::f32}, 6, 1.0);
  Tensor changed = images.clone();
  changed.select(0, 0).narrow(1, 8, 4).narrow(2, 8, 4).fill_(3.0);  // image 0's last patch
  const Tensor a = vit.forward(images), b = vit.forward(changed);
  const std::vector<double> first_a = values(a.select(0, 0).select(0, 0)),
                            first_b = values(b.select(0, 0).select(0, 0));
  EXPECT_NE(first_a, first_b);
  EXPECT_EQ(values(a.select(0, 1)), values(b.select(0, 1)));
}

TEST(ViT, GradientsReachEveryParameter) {
  Generator gen(7);
  VisionTransformer vit(micro_vit(), {DType::f32, kCPU, &gen});
  const Tensor images = random_input({2, 3, 12, 12}, {kCPU, DType::f32}, 8, 1.0);
  const Tensor weights = random_input({2, 9, 8}, {kCPU, DType::f32}, 9, 1.0);
  sum(mul(vit.forward(images), weights)).backward();
  for (const auto& [name, p] : vit.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_GT(sum(abs(p.grad())).item(), 0.0) << name;
  }
}

TEST(ViT, ErrorsNameTheProblem) {
  ViTConfig bad = micro_vit();
  bad.patch_size = 5;
  EXPECT_THROW_MSG(VisionTransformer{bad}, "ViTConfig", "patch_size 5", "image_size 12");
  bad = micro_vit();
  bad.n_heads = 3;
  EXPECT_THROW_MSG(VisionTransformer{bad}, "ViTConfig", "n_heads 3", "dim 8");
  EXPECT_THROW_MSG(vit_preset("huge"), "vit_preset", "huge", "tiny, small or base");
  VisionTransformer vit(micro_vit());
  EXPECT_THROW_MSG(vit.forward(zeros({1, 3, 16, 16})), "VisionTransformer", "[B, 3, 12, 12]", "[1, 3, 16, 16]");
  EXPECT_EQ(vit_preset("base").num_patches(), 196);
}

}  // namespace
}  // namespace subtb::nn

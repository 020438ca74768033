// The VLM's input embeddings send their gradient to the right places: each image token's
// to its placeholder's position (gradcheck in f64), each text position's to its token's
// row of the embedding table, and nothing to the placeholder id's own row.
#include "nn/vision/vlm.h"
#include "tests/support/test_util.h"

namespace subtb::nn {
namespace {

using testing::values;

constexpr int64_t kImage = 3, kBos = 1;

// 16 x 16 images in 8 x 8 patches (P = 4) and a 1-layer LM over 24 token ids, in f64.
VLMConfig micro_vlm() {
  VLMConfig c;
  c.vision.image_size = 16, c.vision.patch_size = 8, c.vision.dim = 8, c.vision.n_layers = 1, c.vision.n_heads = 2;
  c.language.vocab_size = 24, c.language.dim = 8, c.language.n_layers = 1, c.language.n_heads = 2;
  c.language.ffn_hidden = 16, c.language.max_seq_len = 16;
  c.image_token_id = kImage;
  return c;
}

// Placeholders at different positions in the two rows; token 9 twice in row 0.
const std::vector<int64_t> kIds{kBos, kImage, kImage, kImage, kImage, 9,      9,
                                kBos, 13,     14,     kImage, kImage, kImage, kImage};

TEST(VLMEmbedGrad, GradcheckInTheImageTokens) {
  Generator gen(3);
  VisionLanguageModel vlm(micro_vlm(), {DType::f64, kCPU, &gen});
  const Tensor tokens = from_vector(kIds, {2, 7});
  const Tensor features = testing::random_input({2, 4, 8}, {kCPU, DType::f64}, 4).requires_grad_();
  EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return vlm.embed(tokens, x[0]); }, {features}));
}

TEST(VLMEmbedGrad, TextPositionsReachTheirTableRowsAndPlaceholdersNone) {
  Generator gen(3);
  VisionLanguageModel vlm(micro_vlm(), {DType::f64, kCPU, &gen});
  const Tensor tokens = from_vector(kIds, {2, 7});
  const Tensor features = testing::random_input({2, 4, 8}, {kCPU, DType::f64}, 4).requires_grad_();
  // Weight position i by i + 1, so that each position's share is visible.
  std::vector<double> w(2 * 7 * 8);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<double>(i / 8 + 1);
  sum(vlm.embed(tokens, features) * from_vector(w, Shape{2, 7, 8})).backward();

  const Tensor table = vlm.language_model->model->embed_tokens->weight.grad();  // [24, 8]
  const auto row = [&](int64_t id) { return values(table.select(0, id)); };
  EXPECT_EQ(row(kImage), std::vector<double>(8, 0.0));
  EXPECT_EQ(row(9), std::vector<double>(8, 6.0 + 7.0));       // positions 5 and 6 of row 0
  EXPECT_EQ(row(kBos), std::vector<double>(8, 1.0 + 8.0));    // position 0 of both rows
  EXPECT_EQ(row(14), std::vector<double>(8, 10.0));           // position 2 of row 1
  const std::vector<double> image = values(features.grad());  // [2, 4, 8]
  for (int64_t k = 0; k < 4; ++k) {
    EXPECT_EQ(image[static_cast<size_t>(k * 8)], static_cast<double>(2 + k));         // row 0 from position 1
    EXPECT_EQ(image[static_cast<size_t>((4 + k) * 8)], static_cast<double>(11 + k));  // row 1 from position 3
  }
}

}  // namespace
}  // namespace subtb::nn

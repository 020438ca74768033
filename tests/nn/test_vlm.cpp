// The compact VLM: image tokens land exactly on the prompt's placeholders and reach the
// decoder (a different image changes the logits from the image on, never before it),
// save -> load is bit-identical, the config round-trips through JSON, errors name the
// problem, and a small model learns to answer from the image alone.
#include <cmath>

#include "autograd/engine.h"
#include "nn/checkpoint.h"
#include "nn/optim_adam.h"
#include "nn/vision/vlm.h"
#include "tests/nn/temp_dir.h"
#include "tests/support/test_util.h"

namespace subtb::nn {
namespace {

using testing::values;

constexpr int64_t kImage = 3, kBos = 1, kEos = 2;

// 16 x 16 images in 8 x 8 patches (P = 4) and a 1-layer LM over 24 token ids.
VLMConfig micro_vlm() {
  VLMConfig c;
  c.vision.image_size = 16, c.vision.patch_size = 8, c.vision.dim = 16, c.vision.n_layers = 1, c.vision.n_heads = 2;
  c.language.vocab_size = 24, c.language.dim = 32, c.language.n_layers = 1, c.language.n_heads = 2;
  c.language.ffn_hidden = 64, c.language.max_seq_len = 32, c.language.init_std = 0.2;
  c.image_token_id = kImage;
  return c;
}

ParamInit seeded(Generator& gen) { return {DType::f32, kCPU, &gen}; }

// A solid-colour image.
std::vector<std::uint8_t> solid(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  std::vector<std::uint8_t> px;
  for (int i = 0; i < w * h; ++i) px.insert(px.end(), {r, g, b});
  return px;
}

TEST(VLM, ImageTokensLandOnThePlaceholders) {
  Generator gen(1);
  VisionLanguageModel vlm(micro_vlm(), seeded(gen));
  // Placeholders at different positions in the two rows.
  const std::vector<int64_t> ids{kBos, kImage, kImage, kImage, kImage, 9,      10,
                                 kBos, 13,     14,     kImage, kImage, kImage, kImage};
  const Tensor tokens = from_vector(ids, {2, 7});
  const Tensor features = testing::random_input({2, 4, 32}, {kCPU, DType::f32}, 2);
  const Tensor embeds = vlm.embed(tokens, features);
  const Tensor text = vlm.language_model->embed(tokens);
  ASSERT_EQ(embeds.shape(), (Shape{2, 7, 32}));
  for (int64_t k = 0; k < 4; ++k) {
    EXPECT_EQ(values(embeds.select(0, 0).select(0, 1 + k)), values(features.select(0, 0).select(0, k)));
    EXPECT_EQ(values(embeds.select(0, 1).select(0, 3 + k)), values(features.select(0, 1).select(0, k)));
  }
  for (int64_t t : {0, 5, 6})
    EXPECT_EQ(values(embeds.select(0, 0).select(0, t)), values(text.select(0, 0).select(0, t)));
  for (int64_t t : {0, 1, 2})
    EXPECT_EQ(values(embeds.select(0, 1).select(0, t)), values(text.select(0, 1).select(0, t)));
}

TEST(VLM, TheImageReachesTheDecoderFromItsPositionOn) {
  Generator gen(3);
  VisionLanguageModel vlm(micro_vlm(), seeded(gen));
  const std::vector<int64_t> prompt = vlm.expand_image_tokens(std::vector<int64_t>{kBos, 7, kImage, 8, 9});
  ASSERT_EQ(prompt.size(), 8u);
  const Tensor tokens = from_vector(prompt, {1, 8});
  const std::vector<std::uint8_t> red = solid(20, 12, 220, 20, 20), blue = solid(20, 12, 20, 20, 220);
  const Tensor a = vlm.forward(tokens, vlm.preprocess(std::vector<RgbImage>{{20, 12, red}}));
  const Tensor b = vlm.forward(tokens, vlm.preprocess(std::vector<RgbImage>{{20, 12, blue}}));
  ASSERT_EQ(a.shape(), (Shape{1, 8, 24}));
  const Tensor hidden = vlm.hidden_states(tokens, vlm.preprocess(std::vector<RgbImage>{{20, 12, red}}));
  EXPECT_EQ(hidden.shape(), (Shape{1, 8, 32}));
  EXPECT_EQ(values(vlm.language_model->logits(hidden)), values(a));
  // Causal: the two positions before the image see the same inputs, bit for bit.
  EXPECT_EQ(values(a.narrow(1, 0, 2)), values(b.narrow(1, 0, 2)));
  // The text after the image reads it.
  const double diff = amax(abs(sub(a.narrow(1, 6, 2), b.narrow(1, 6, 2)))).item();
  EXPECT_GT(diff, 1e-3);
}

class VLMFiles : public testing::TempDirTest {};

TEST_F(VLMFiles, SaveThenLoadIsBitIdentical) {
  Generator g1(5), g2(6);
  VisionLanguageModel trained(micro_vlm(), seeded(g1)), fresh(micro_vlm(), seeded(g2));
  const std::vector<std::uint8_t> px = solid(16, 16, 10, 200, 90);
  const Tensor images = trained.preprocess(std::vector<RgbImage>{{16, 16, px}});
  const Tensor tokens = from_vector(trained.expand_image_tokens(std::vector<int64_t>{kBos, kImage, 5, 6}), {1, 7});
  const std::vector<double> before = values(trained.forward(tokens, images));
  save_checkpoint(path("vlm.safetensors"), {trained}, 0, to_json(trained.config()));
  EXPECT_NE(values(fresh.forward(tokens, images)), before);
  const CheckpointInfo info = load_checkpoint(path("vlm.safetensors"), {fresh});
  EXPECT_EQ(values(fresh.forward(tokens, images)), before);
  EXPECT_EQ(to_json(vlm_config_from_json(info.config)), to_json(trained.config()));
}

TEST(VLM, ConfigPresetsAndErrors) {
  VLMConfig tiny = vlm_preset("tiny");
  EXPECT_EQ(tiny.image_tokens(), 64);
  tiny.language.vocab_size = 300;
  tiny.image_token_id = 259;
  const VLMConfig back = vlm_config_from_json(to_json(tiny));
  EXPECT_EQ(to_json(back), to_json(tiny));
  EXPECT_EQ(back.vision.dim, tiny.vision.dim);
  EXPECT_THROW_MSG(vlm_preset("giant"), "vlm_preset", "giant");
  EXPECT_THROW_MSG(vlm_config_from_json("{\"vision\": {}}"), "vlm_config_from_json");
  VLMConfig bad = micro_vlm();
  bad.image_token_id = 24;
  EXPECT_THROW_MSG(VisionLanguageModel{bad}, "image_token_id 24", "[0, 24)");

  VisionLanguageModel vlm(micro_vlm());
  const Tensor features = zeros({1, 4, 32});
  EXPECT_THROW_MSG(vlm.embed(from_vector(std::vector<int64_t>{kBos, kImage, 5}, {1, 3}), features),
                   "VisionLanguageModel", "row 0", "holds 1 image placeholders", "expected 4");
  EXPECT_THROW_MSG(
      vlm.embed(from_vector(std::vector<int64_t>{kImage, kImage, kImage, kImage}, {1, 4}), zeros({1, 4, 8})),
      "VisionLanguageModel", "[1, 4, 32]");
}

// Four colours, one answer token each: the prompt is the same for all, so only the image
// can tell the model what to say.
TEST(VLM, LearnsToAnswerFromTheImage) {
  Generator gen(11);
  VisionLanguageModel vlm(micro_vlm(), seeded(gen));
  const std::vector<std::vector<std::uint8_t>> pixels{solid(16, 16, 230, 30, 30), solid(16, 16, 30, 230, 30),
                                                      solid(16, 16, 30, 30, 230), solid(16, 16, 230, 230, 30)};
  std::vector<RgbImage> views;
  for (const auto& px : pixels) views.push_back({16, 16, px});
  const Tensor images = vlm.preprocess(views);
  const std::vector<int64_t> prompt = vlm.expand_image_tokens(std::vector<int64_t>{kBos, kImage, 7});
  std::vector<int64_t> ids;
  std::vector<double> answer_mask;
  for (int64_t colour = 0; colour < 4; ++colour) {
    ids.insert(ids.end(), prompt.begin(), prompt.end());
    ids.insert(ids.end(), {12 + colour, kEos});
    answer_mask.insert(answer_mask.end(), prompt.size(), 0.0);
    answer_mask.insert(answer_mask.end(), {1.0, 1.0});
  }
  const int64_t t = static_cast<int64_t>(prompt.size()) + 2;
  const Tensor tokens = from_vector(ids, {4, t});
  const Tensor mask = gt(from_vector(answer_mask, {4, t}), 0.0);

  AdamW opt(vlm.parameters(), {.lr = 1e-2});
  double loss_value = 0.0;
  for (int step = 0; step < 60; ++step) {
    opt.zero_grad();
    const Tensor loss = neg(sum(vlm.continuation_log_probs(tokens, images, mask))) / 8.0;
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  EXPECT_LT(loss_value, 0.05);
  // The answer loss trains the image encoder too, through the placed image tokens.
  const Tensor patch_grad = vlm.vision_tower->patch_embed->weight.grad();
  ASSERT_TRUE(patch_grad.defined());
  EXPECT_GT(sum(abs(patch_grad)).item(), 0.0);

  GenerationConfig greedy;
  greedy.greedy = true;
  greedy.max_new_tokens = 3;
  greedy.stop_token_ids = {kEos};
  const std::vector<GeneratedRow> out = vlm.generate(std::vector<std::vector<int64_t>>(4, prompt), images, greedy);
  ASSERT_EQ(out.size(), 4u);
  for (int64_t colour = 0; colour < 4; ++colour) {
    EXPECT_EQ(out[static_cast<size_t>(colour)].tokens, (std::vector<int64_t>{12 + colour, kEos}))
        << "colour " << colour;
  }
}

}  // namespace
}  // namespace subtb::nn

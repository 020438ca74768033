// VLM supervised fine-tuning on a folder written by the environments' SFT writer: the
// folder reads back as (image, prompt, answer) examples, the sequences follow the
// documented template, training lowers the answer loss, and a run resumed from a
// checkpoint continues bit for bit.
#include "envs/vlm/registry.h"
#include "envs/vlm/sft_dataset.h"
#include "nn/tokenizer/special_tokens.h"
#include "nn/vision/vlm_sft.h"
#include "tests/nn/temp_dir.h"
#include "tests/support/test_util.h"

namespace subtb::nn {
namespace {

class VlmSft : public testing::TempDirTest {
 protected:
  // Two NumberLine expert episodes; the first four examples.
  std::vector<SftExample> examples() {
    vlm::SftOptions options;
    options.episodes = 2;
    vlm::write_sft_dataset(vlm::make_task("numberline"), options, path("sft"));
    std::vector<SftExample> all = read_sft_examples(path("sft"));
    all.resize(std::min<size_t>(all.size(), 4));
    return all;
  }
  static Tokenizer tokenizer(const std::vector<SftExample>& examples) {
    std::vector<std::string> texts;
    for (const SftExample& e : examples) texts.insert(texts.end(), {e.prompt, e.answer});
    return Tokenizer::train(texts, {.vocab_size = 600});
  }
  static VLMConfig config(const Tokenizer& tok) {
    VLMConfig c;
    c.vision.image_size = 16, c.vision.patch_size = 8, c.vision.dim = 16, c.vision.n_layers = 1;
    c.vision.n_heads = 2;
    c.language.vocab_size = tok.vocab_size(), c.language.dim = 32, c.language.n_layers = 1;
    c.language.n_heads = 2, c.language.ffn_hidden = 64, c.language.max_seq_len = 512;
    c.image_token_id = kImageToken;
    return c;
  }
};

TEST_F(VlmSft, ReadsTheFolderAndBuildsTheTemplate) {
  const std::vector<SftExample> ex = examples();
  ASSERT_EQ(ex.size(), 4u);
  EXPECT_TRUE(std::filesystem::exists(ex[0].image));
  EXPECT_NE(ex[0].answer.find("\"action\""), std::string::npos);
  const Tokenizer tok = tokenizer(ex);
  VisionLanguageModel vlm(config(tok));
  const std::vector<int64_t> prompt = vlm_prompt_tokens(tok, vlm, ex[0].prompt);
  ASSERT_GT(prompt.size(), 6u);
  EXPECT_EQ(prompt[0], kBosToken);
  EXPECT_EQ(std::count(prompt.begin(), prompt.end(), int64_t{kImageToken}), 4);
  EXPECT_EQ(prompt[5], tok.encode("\n")[0]);
  const std::vector<int64_t> answer = vlm_answer_tokens(tok, ex[0].answer);
  EXPECT_EQ(answer.back(), kEosToken);
  EXPECT_EQ(tok.decode(std::vector<int32_t>(answer.begin(), answer.end() - 1)), ex[0].answer);
  EXPECT_THROW_MSG(read_sft_examples(path("nowhere")), "read_sft_examples", "dataset.json");
}

TEST_F(VlmSft, TrainingLowersTheLossAndResumesBitForBit) {
  const std::vector<SftExample> ex = examples();
  const Tokenizer tok = tokenizer(ex);
  const VlmSftConfig cfg{.batch = 2, .steps = 12, .warmup = 1, .lr = 1e-2, .seed = 3};
  Generator g1(1), g2(2);
  VisionLanguageModel a(config(tok), {DType::f32, kCPU, &g1}), b(config(tok), {DType::f32, kCPU, &g2});
  VlmSftTrainer ta(a, tok, ex, cfg), tb(b, tok, ex, cfg);
  const double before = ta.evaluate();
  std::vector<double> losses;
  for (int i = 0; i < 8; ++i) {
    if (i == 6) ta.save_checkpoint(path("step6.safetensors"), "{}");
    losses.push_back(ta.step());
  }
  EXPECT_LT(ta.evaluate(), 0.8 * before);
  tb.load_checkpoint(path("step6.safetensors"));
  EXPECT_EQ(tb.steps_done(), 6);
  EXPECT_EQ(tb.step(), losses[6]);
  EXPECT_EQ(tb.step(), losses[7]);
}

}  // namespace
}  // namespace subtb::nn

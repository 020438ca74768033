// Generation: the KV-cached loop against full recomputation, stop conditions, and the
// sampling filters (temperature, top-k, top-p) with a seeded generator.
#include <algorithm>
#include <cmath>
#include <map>

#include "autograd/grad_mode.h"
#include "nn/generation.h"
#include "tests/nn/tiny_lm.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::tiny_lm_config;

// Greedy decoding of one unpadded prompt, recomputing the whole sequence at every step.
std::vector<int64_t> greedy_by_recomputation(nn::CausalLM& lm, std::vector<int64_t> seq, int64_t n) {
  NoGradGuard no_grad;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t T = static_cast<int64_t>(seq.size());
    const Tensor logits = lm.forward(from_vector(seq, Shape{1, T})).select(1, T - 1);
    out.push_back(argmax(logits, 1).to_vector<int64_t>()[0]);
    seq.push_back(out.back());
  }
  return out;
}

TEST(Generation, GreedyWithCacheAndPaddingEqualsRecomputation) {
  Generator gen(1);
  nn::CausalLM lm(tiny_lm_config(), {DType::f64, kCPU, &gen});
  const std::vector<std::vector<int64_t>> prompts = {{3, 1, 4, 1, 5}, {9}, {2, 6, 5}};
  nn::GenerationConfig config;
  config.greedy = true;
  config.max_new_tokens = 10;
  config.pad_token_id = 16;
  const std::vector<nn::GeneratedRow> rows = nn::generate(lm, prompts, config);
  ASSERT_EQ(rows.size(), 3u);
  for (size_t b = 0; b < prompts.size(); ++b) {
    EXPECT_EQ(rows[b].tokens, greedy_by_recomputation(lm, prompts[b], 10)) << "row " << b;
    EXPECT_EQ(rows[b].finish, nn::FinishReason::length);
  }
  EXPECT_TRUE(lm.is_training());  // the mode is restored
}

TEST(Generation, StopsAtStopTokensAndStopStrings) {
  Generator gen(2);
  nn::CausalLM lm(tiny_lm_config(), {DType::f64, kCPU, &gen});
  const std::vector<int64_t> prompt = {1, 2, 3};
  const std::vector<int64_t> free_run = greedy_by_recomputation(lm, prompt, 6);

  nn::GenerationConfig config;
  config.greedy = true;
  config.max_new_tokens = 6;
  config.stop_token_ids = {free_run[2]};
  const size_t first_stop = std::find(free_run.begin(), free_run.end(), free_run[2]) - free_run.begin();
  nn::GeneratedRow row = nn::generate(lm, {prompt, prompt}, config)[1];
  EXPECT_EQ(row.finish, nn::FinishReason::stop_token);
  EXPECT_EQ(row.tokens, std::vector<int64_t>(free_run.begin(), free_run.begin() + first_stop + 1));

  // Tokens decode to letters; stopping at the text of tokens 2 and 3 ends after token 3.
  config.stop_token_ids.clear();
  config.decode = [](const std::vector<int64_t>& ids) {
    std::string s;
    for (int64_t id : ids) s += static_cast<char>('a' + id);
    return s;
  };
  config.stop_strings = {std::string{static_cast<char>('a' + free_run[1]), static_cast<char>('a' + free_run[2])}};
  row = nn::generate(lm, {prompt}, config)[0];
  EXPECT_EQ(row.finish, nn::FinishReason::stop_string);
  EXPECT_LE(row.tokens.size(), 3u);
  EXPECT_EQ(row.tokens, std::vector<int64_t>(free_run.begin(), free_run.begin() + row.tokens.size()));

  config.decode = nullptr;
  EXPECT_THROW_MSG(nn::generate(lm, {prompt}, config), "stop_strings need a decode");
  config.stop_strings.clear();
  config.max_new_tokens = 40;
  EXPECT_THROW_MSG(nn::generate(lm, {prompt}, config), "exceed max_seq_len 32");
  EXPECT_THROW_MSG(nn::generate(lm, {{}}, config), "prompt 0 is empty");
}

TEST(Generation, SeededSamplingIsReproducible) {
  Generator init(3);
  nn::CausalLM lm(tiny_lm_config(), {DType::f32, kCPU, &init});
  nn::GenerationConfig config;
  config.max_new_tokens = 12;
  config.temperature = 1.5;
  config.top_p = 0.9;
  Generator a(7), b(7), c(8);
  config.gen = &a;
  const auto first = nn::generate(lm, {{1, 2}, {3}}, config);
  config.gen = &b;
  const auto again = nn::generate(lm, {{1, 2}, {3}}, config);
  config.gen = &c;
  const auto other = nn::generate(lm, {{1, 2}, {3}}, config);
  EXPECT_EQ(first[0].tokens, again[0].tokens);
  EXPECT_EQ(first[1].tokens, again[1].tokens);
  EXPECT_TRUE(first[0].tokens != other[0].tokens || first[1].tokens != other[1].tokens);
}

// Frequencies of the tokens drawn for `rows` identical rows of logits.
std::map<int64_t, int> draw(const std::vector<double>& row, int rows, const nn::GenerationConfig& config) {
  std::vector<double> all;
  for (int r = 0; r < rows; ++r) all.insert(all.end(), row.begin(), row.end());
  std::map<int64_t, int> counts;
  const Tensor logits = from_vector(all, Shape{rows, static_cast<int64_t>(row.size())});
  for (int64_t t : nn::choose_tokens(logits, config)) ++counts[t];
  return counts;
}

TEST(Generation, TopKAndTopPKeepTheRightTokens) {
  // Probabilities 0.5, 0.3, 0.15, 0.05.
  const std::vector<double> row = {std::log(0.5), std::log(0.3), std::log(0.15), std::log(0.05)};
  Generator gen(9);
  nn::GenerationConfig config;
  config.gen = &gen;

  config.top_k = 2;
  std::map<int64_t, int> counts = draw(row, 2000, config);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_NEAR(counts[0] / 2000.0, 0.5 / 0.8, 0.04);

  config.top_k = 0;
  config.top_p = 0.85;  // 0.5 + 0.3 < 0.85 <= 0.95: three tokens
  counts = draw(row, 2000, config);
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts.count(3), 0u);

  config.top_p = 0.4;  // the first token alone reaches it
  EXPECT_EQ(draw(row, 50, config), (std::map<int64_t, int>{{0, 50}}));

  config.top_p = 1.0;
  config.temperature = 1e-3;  // nearly greedy
  EXPECT_EQ(draw(row, 50, config), (std::map<int64_t, int>{{0, 50}}));

  config.greedy = true;
  EXPECT_EQ(nn::choose_tokens(from_vector<float>({1, 3, 3, 0}, Shape{1, 4}), config), (std::vector<int64_t>{1}));
}

TEST(Generation, FromEmbeddingsEqualsFromTokens) {
  Generator gen(10);
  nn::CausalLM lm(tiny_lm_config(), {DType::f64, kCPU, &gen});
  nn::GenerationConfig config;
  config.greedy = true;
  config.max_new_tokens = 5;
  const auto from_tokens = nn::generate(lm, {{4, 5, 6}, {7}}, config);
  const Tensor tokens = from_vector<int64_t>({4, 5, 6, 0, 0, 7}, Shape{2, 3});
  const Tensor valid = from_vector<bool>({true, true, true, false, false, true}, Shape{2, 3});
  Tensor embeds;
  {
    NoGradGuard no_grad;
    embeds = lm.embed(tokens);
  }
  const auto from_embeds = nn::generate_from_embeddings(lm, embeds, valid, config);
  EXPECT_EQ(from_embeds[0].tokens, from_tokens[0].tokens);
  EXPECT_EQ(from_embeds[1].tokens, from_tokens[1].tokens);
}

}  // namespace
}  // namespace subtb

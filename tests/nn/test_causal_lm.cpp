// The causal LM: Hugging Face parameter names, the KV cache against full recomputation
// with left padding, overfitting a small batch, save -> load, and token log-probabilities.
#include <cmath>

#include "nn/causal_lm.h"
#include "nn/log_probs.h"
#include "nn/optim_adam.h"
#include "nn/safetensors.h"
#include "tests/nn/temp_dir.h"
#include "tests/nn/tiny_lm.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::tiny_lm_config;
using testing::values;

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& [name, p] : m.named_parameters()) names.push_back(name);
  return names;
}

TEST(CausalLM, ParameterNamesFollowHuggingFaceLlama) {
  nn::CausalLM lm(tiny_lm_config());
  const std::vector<std::string> names = names_of(lm);
  ASSERT_EQ(names.size(), 1 + 2 * 9 + 1 + 1u);
  EXPECT_EQ(names.front(), "model.embed_tokens.weight");
  EXPECT_EQ(names[1], "model.layers.0.input_layernorm.weight");
  EXPECT_EQ(names[5], "model.layers.0.self_attn.o_proj.weight");
  EXPECT_EQ(names[9], "model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(names[18], "model.layers.1.mlp.down_proj.weight");
  EXPECT_EQ(names[19], "model.norm.weight");
  EXPECT_EQ(names.back(), "lm_head.weight");
  EXPECT_EQ(lm.model->layers->size(), 2u);
  EXPECT_EQ(lm.state_dict().at("model.layers.1.self_attn.k_proj.weight").shape(), (Shape{8, 16}));

  nn::CausalLMConfig tied = tiny_lm_config();
  tied.tie_embeddings = true;
  nn::CausalLM tied_lm(tied);
  EXPECT_EQ(names_of(tied_lm).back(), "model.norm.weight");
  // The head is the embedding table: logits are hidden states times its transpose.
  const Tensor tokens = from_vector<int64_t>({1, 2, 3}, Shape{1, 3});
  const Tensor hidden = tied_lm.hidden_states(tied_lm.embed(tokens));
  EXPECT_TRUE(
      all_close(tied_lm.forward(tokens), values(matmul(hidden, tied_lm.model->embed_tokens->weight.t())), 1e-6));
}

TEST(CausalLM, RejectsInconsistentConfigs) {
  nn::CausalLMConfig c = tiny_lm_config();
  c.n_kv_heads = 3;
  EXPECT_THROW_MSG(nn::CausalLM{c}, "n_kv_heads 3");
  c = tiny_lm_config();
  c.vocab_size = 0;
  EXPECT_THROW_MSG(nn::CausalLM{c}, "vocab_size");
  EXPECT_THROW_MSG(nn::lm_preset("huge"), "huge", "tiny");
  nn::CausalLM lm(tiny_lm_config());
  EXPECT_THROW_MSG(lm.forward(zeros(Shape{1, 33}, DType::i64)), "33 tokens exceed max_seq_len 32");
}

TEST(CausalLM, ConfigRoundTripsThroughJson) {
  nn::CausalLMConfig c = nn::lm_preset("small");
  c.vocab_size = 300;
  c.tie_embeddings = true;
  const nn::CausalLMConfig back = nn::lm_config_from_json(nn::to_json(c));
  EXPECT_EQ(nn::to_json(back), nn::to_json(c));
  EXPECT_THROW_MSG(nn::lm_config_from_json("{\"dim\": 3}"), "lm_config_from_json", "vocab_size");
}

// Row 0 holds 8 real tokens; row 1 is left-padded by 2. The first 5 columns are the
// prompt, the last 3 are fed one at a time through the cache.
TEST(CausalLM, CachedDecodingMatchesFullForwardWithLeftPadding) {
  Generator gen(1);
  nn::CausalLM lm(tiny_lm_config(), {DType::f64, kCPU, &gen});
  const int64_t T = 8, prompt = 5;
  const Tensor tokens = from_vector<int64_t>({3, 1, 4, 1, 5, 9, 2, 6, 0, 0, 7, 1, 8, 2, 8, 1}, Shape{2, T});
  const Tensor valid = from_vector<bool>({true, true, true, true, true, true, true, true,  //
                                          false, false, true, true, true, true, true, true},
                                         Shape{2, T});
  const Tensor full = lm.forward(tokens, nullptr, valid);  // [2, 8, V]

  nn::KVCache cache = lm.make_cache(2, T);
  const Tensor first = lm.forward(tokens.narrow(1, 0, prompt), &cache, valid.narrow(1, 0, prompt).contiguous());
  EXPECT_EQ(cache.length(), prompt);
  EXPECT_TRUE(all_close(first, values(full.narrow(1, 0, prompt)), 1e-12));
  for (int64_t t = prompt; t < T; ++t) {
    const Tensor step = lm.forward(tokens.narrow(1, t, 1).contiguous(), &cache, valid.narrow(1, t, 1).contiguous());
    EXPECT_TRUE(all_close(step, values(full.narrow(1, t, 1)), 1e-12)) << "column " << t;
  }
  EXPECT_EQ(cache.length(), T);
  EXPECT_THROW_MSG(lm.forward(tokens.narrow(1, 0, 1).contiguous(), &cache), "do not fit");

  // The padded row computes what it would alone.
  const Tensor alone = lm.forward(tokens.narrow(0, 1, 1).narrow(1, 2, T - 2).contiguous());
  EXPECT_TRUE(all_close(full.narrow(0, 1, 1).narrow(1, 2, T - 2), values(alone), 1e-12));
}

TEST(CausalLM, OverfitsASmallBatch) {
  Generator gen(2);
  nn::CausalLMConfig c = tiny_lm_config();
  c.init_std = 0.02;
  nn::CausalLM lm(c, {DType::f32, kCPU, &gen});
  const int64_t B = 4, T = 12;
  const Tensor batch = randint(0, c.vocab_size, Shape{B, T + 1}, DType::i64, kCPU, &gen);
  const Tensor inputs = batch.narrow(1, 0, T).contiguous(), targets = batch.narrow(1, 1, T).reshape(Shape{B * T});
  nn::AdamW opt(lm.parameters(), {.lr = 1e-2, .weight_decay = 0.0});
  double first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    opt.zero_grad();
    const Tensor loss = cross_entropy(lm.forward(inputs).reshape(Shape{B * T, c.vocab_size}), targets);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_GT(first, 2.5);  // ~log(17) at the start
  EXPECT_LT(last, 0.05);
}

class CausalLMFiles : public testing::TempDirTest {};

TEST_F(CausalLMFiles, SaveLoadGivesBitIdenticalLogits) {
  Generator gen(3), other(4);
  nn::CausalLM lm(tiny_lm_config(), {DType::f32, kCPU, &gen});
  nn::CausalLM copy(tiny_lm_config(), {DType::f32, kCPU, &other});
  const Tensor tokens = from_vector<int64_t>({5, 3, 16, 0, 2, 2}, Shape{2, 3});
  const std::vector<float> before = lm.forward(tokens).to_vector<float>();
  EXPECT_NE(copy.forward(tokens).to_vector<float>(), before);
  nn::save_safetensors(path("lm.safetensors"), lm.state_dict());
  copy.load_state_dict(nn::load_safetensors(path("lm.safetensors")).tensors);
  EXPECT_EQ(copy.forward(tokens).to_vector<float>(), before);
}

TEST(LogProbs, MaskedContinuationEqualsHandComputedSum) {
  Generator gen(5);
  nn::CausalLM lm(tiny_lm_config(), {DType::f64, kCPU, &gen});
  const int64_t B = 2, T = 5, V = 17;
  const Tensor tokens = from_vector<int64_t>({1, 2, 3, 4, 5, 16, 0, 8, 8, 3}, Shape{B, T});
  const std::vector<bool> m = {false, false, true, true, true, false, true, false, false, true};
  const Tensor mask = from_vector(m, Shape{B, T});
  const Tensor logits = lm.forward(tokens);
  const Tensor lp = nn::continuation_log_probs(logits, tokens, mask);
  ASSERT_EQ(lp.shape(), (Shape{B, T}));

  const std::vector<double> l = values(logits);
  const std::vector<int64_t> tok = tokens.to_vector<int64_t>();
  std::vector<double> expected(B * T, 0.0), sums(B, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 1; t < T; ++t) {
      if (!m[b * T + t]) continue;
      const double* row = l.data() + (b * T + t - 1) * V;
      double max = row[0], total = 0;
      for (int64_t v = 0; v < V; ++v) max = std::max(max, row[v]);
      for (int64_t v = 0; v < V; ++v) total += std::exp(row[v] - max);
      expected[b * T + t] = row[tok[b * T + t]] - max - std::log(total);
      sums[b] += expected[b * T + t];
    }
  }
  EXPECT_TRUE(all_close(lp, expected, 1e-12));
  EXPECT_TRUE(all_close(sum(lp, {1}), sums, 1e-12));

  // A target of probability 0 has log-probability exactly -inf; a position outside the
  // mask gives 0 even when its logits are all -inf (no NaN leaks through).
  const double inf = INFINITY;
  const Tensor edge_logits = from_vector<double>({0, -inf, 0, -inf, -inf, -inf}, Shape{1, 2, 3});
  const Tensor edge = nn::token_log_probs(edge_logits, from_vector<int64_t>({1, 0}, Shape{1, 2}),
                                          from_vector<bool>({true, false}, Shape{1, 2}));
  EXPECT_EQ(values(edge), (std::vector<double>{-inf, 0.0}));
}

}  // namespace
}  // namespace subtb

// RoPE, multi-head attention, the feed-forward networks and the transformer block:
// forward against f64 references, and finite-difference gradient checks in f64.
#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/attention.h"
#include "nn/feed_forward.h"
#include "nn/rope.h"
#include "nn/transformer_block.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::gradcheck_ok;
using testing::values;

const nn::ParamInit kF64{DType::f64, kCPU, nullptr};

Tensor random64(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator gen(seed);
  return randn(shape, DType::f64, kCPU, &gen, 0.0, scale);
}

TEST(RotaryEmbedding, RotatesHalvesByPositionTimesFrequency) {
  const int64_t D = 4;
  const double theta = 100.0;
  nn::RotaryEmbedding rope(D, 8, theta);
  const Tensor x = random64(Shape{1, 2, 1, D}, 1);
  const Tensor positions = from_vector<int64_t>({3, 6}, Shape{1, 2});
  const std::vector<double> in = values(x);
  std::vector<double> expected(in.size());
  for (int t = 0; t < 2; ++t) {
    const double pos = t == 0 ? 3 : 6;
    for (int i = 0; i < D / 2; ++i) {
      const double angle = pos * std::pow(theta, -2.0 * i / D);
      const double x1 = in[t * D + i], x2 = in[t * D + i + D / 2];
      expected[t * D + i] = x1 * std::cos(angle) - x2 * std::sin(angle);
      expected[t * D + i + D / 2] = x2 * std::cos(angle) + x1 * std::sin(angle);
    }
  }
  EXPECT_TRUE(all_close(rope.apply(x, positions), expected, 1e-14));
}

TEST(RotaryEmbedding, ScoresDependOnlyOnRelativePosition) {
  nn::RotaryEmbedding rope(8, 64);
  const Tensor q = random64(Shape{1, 1, 1, 8}, 2), k = random64(Shape{1, 1, 1, 8}, 3);
  auto score = [&](int64_t pq, int64_t pk) {
    const Tensor rq = rope.apply(q, from_vector<int64_t>({pq}, Shape{1, 1}));
    const Tensor rk = rope.apply(k, from_vector<int64_t>({pk}, Shape{1, 1}));
    return sum(rq * rk).item();
  };
  EXPECT_NEAR(score(7, 2), score(40, 35), 1e-12);
  EXPECT_GT(std::abs(score(7, 2) - score(7, 5)), 1e-3);  // and they do depend on it
}

TEST(RotaryEmbedding, RejectsOddHeadDimAndOutOfRangePositions) {
  EXPECT_THROW_MSG(nn::RotaryEmbedding(5, 8), "head_dim", "even");
  nn::RotaryEmbedding rope(4, 8);
  EXPECT_THROW(rope.apply(random64(Shape{1, 1, 1, 4}, 1), from_vector<int64_t>({8}, Shape{1, 1})), Error);
}

TEST(RotaryEmbedding, Gradcheck) {
  nn::RotaryEmbedding rope(4, 16);
  const Tensor positions = from_vector<int64_t>({0, 5, 9, 2, 2, 15}, Shape{2, 3});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& in) { return rope.apply(in[0], positions); },
                           {random64(Shape{2, 3, 2, 4}, 4)}));
}

// softmax(q k^T * scale) v per head, in f64 from values, with a causal mask.
std::vector<double> causal_attention_ref(const std::vector<double>& q, const std::vector<double>& k,
                                         const std::vector<double>& v, int64_t T, int64_t D) {
  std::vector<double> out(T * D, 0.0);
  for (int64_t i = 0; i < T; ++i) {
    std::vector<double> w(i + 1);
    double max = -INFINITY, total = 0;
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += q[i * D + d] * k[j * D + d];
      w[j] = s / std::sqrt(static_cast<double>(D));
      max = std::max(max, w[j]);
    }
    for (int64_t j = 0; j <= i; ++j) total += (w[j] = std::exp(w[j] - max));
    for (int64_t j = 0; j <= i; ++j)
      for (int64_t d = 0; d < D; ++d) out[i * D + d] += w[j] / total * v[j * D + d];
  }
  return out;
}

TEST(MultiHeadAttention, OneHeadMatchesReference) {
  Generator gen(5);
  nn::MultiHeadAttention attn({6, 1, 0, false}, {DType::f64, kCPU, &gen});
  const Tensor x = random64(Shape{1, 4, 6}, 6);
  nn::AttentionContext context;
  context.causal = true;
  const Tensor y = attn.forward(x, context);
  NoGradGuard no_grad;
  const std::vector<double> heads = causal_attention_ref(
      values(attn.q_proj->forward(x)), values(attn.k_proj->forward(x)), values(attn.v_proj->forward(x)), 4, 6);
  EXPECT_TRUE(all_close(y, values(attn.o_proj->forward(from_vector(heads, Shape{1, 4, 6}))), 1e-12));
}

TEST(MultiHeadAttention, GroupedQueryHeadsShareKeysAndValues) {
  // With 4 query heads over 2 key/value heads, duplicating each kv head's projection into
  // a 4-kv-head model must give the same output.
  Generator gen(7);
  nn::MultiHeadAttention gqa({8, 4, 2, false}, {DType::f64, kCPU, &gen});
  nn::MultiHeadAttention mha({8, 4, 4, false}, {DType::f64, kCPU, &gen});
  {
    NoGradGuard no_grad;
    mha.q_proj->weight.copy_(gqa.q_proj->weight);
    mha.o_proj->weight.copy_(gqa.o_proj->weight);
    // kv head h of the full model is kv head h / 2 of the grouped one (head_dim 2).
    const Tensor k = gqa.k_proj->weight.reshape(Shape{2, 1, 2, 8}).expand(Shape{2, 2, 2, 8}).reshape(Shape{8, 8});
    const Tensor v = gqa.v_proj->weight.reshape(Shape{2, 1, 2, 8}).expand(Shape{2, 2, 2, 8}).reshape(Shape{8, 8});
    mha.k_proj->weight.copy_(k);
    mha.v_proj->weight.copy_(v);
  }
  nn::RotaryEmbedding rope(2, 16);
  nn::AttentionContext context;
  context.causal = true;
  context.rope = &rope;
  context.positions = from_vector<int64_t>({0, 1, 2, 3, 4, 0, 1, 2, 3, 4}, Shape{2, 5});
  const Tensor x = random64(Shape{2, 5, 8}, 8);
  EXPECT_TRUE(all_close(gqa.forward(x, context), values(mha.forward(x, context)), 1e-12));
}

TEST(MultiHeadAttention, GradcheckInputAndProjections) {
  Generator gen(9);
  nn::MultiHeadAttention attn({8, 4, 2, true}, {DType::f64, kCPU, &gen});
  nn::RotaryEmbedding rope(2, 16);
  nn::AttentionContext context;
  context.causal = true;
  context.rope = &rope;
  context.positions = from_vector<int64_t>({0, 0, 1, 2, 0, 1, 2, 3}, Shape{2, 4});
  context.key_mask = from_vector<bool>({false, true, true, true, true, true, true, true}, Shape{2, 4});
  // The projections' weights are swapped for gradcheck's leaves, so their gradients are
  // checked too.
  const auto f = [&](const std::vector<Tensor>& in) {
    attn.q_proj->weight = in[1];
    attn.k_proj->weight = in[2];
    attn.v_proj->weight = in[3];
    return attn.forward(in[0], context);
  };
  EXPECT_TRUE(gradcheck_ok(f, {random64(Shape{2, 4, 8}, 10), attn.q_proj->weight.detach(), attn.k_proj->weight.detach(),
                               attn.v_proj->weight.detach()}));
}

TEST(FeedForward, SwiGLUMatchesFormulaAndNamesItsProjections) {
  Generator gen(11);
  nn::FeedForward ff({4, 6, nn::FeedForwardKind::swiglu, false}, {DType::f64, kCPU, &gen});
  std::vector<std::string> names;
  for (const auto& [name, p] : ff.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"gate_proj.weight", "up_proj.weight", "down_proj.weight"}));
  const Tensor x = random64(Shape{3, 4}, 12);
  const std::vector<double> g = values(matmul(x, ff.gate_proj->weight.t()));
  const std::vector<double> u = values(matmul(x, ff.up_proj->weight.t()));
  std::vector<double> h(g.size());
  for (size_t i = 0; i < g.size(); ++i) h[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
  const Tensor expected = matmul(from_vector(h, Shape{3, 6}), ff.down_proj->weight.t());
  EXPECT_TRUE(all_close(ff.forward(x), values(expected), 1e-12));
}

TEST(FeedForward, GradcheckEveryKind) {
  for (const auto kind : {nn::FeedForwardKind::swiglu, nn::FeedForwardKind::gelu, nn::FeedForwardKind::silu}) {
    Generator gen(13);
    nn::FeedForward ff({4, 5, kind, true}, {DType::f64, kCPU, &gen});
    EXPECT_TRUE(
        gradcheck_ok([&](const std::vector<Tensor>& in) { return ff.forward(in[0]); }, {random64(Shape{2, 3, 4}, 14)}))
        << nn::feed_forward_kind_name(kind);
  }
  EXPECT_THROW_MSG(nn::parse_feed_forward_kind("relu"), "relu", "swiglu");
}

TEST(TransformerBlock, HuggingFaceNames) {
  nn::TransformerBlock block({8, 2, 1, 12});
  std::vector<std::string> names;
  for (const auto& [name, p] : block.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"input_layernorm.weight", "self_attn.q_proj.weight",
                                             "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                                             "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                                             "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}));
}

TEST(TransformerBlock, GradcheckCausalWithRopeAndMask) {
  Generator gen(15);
  nn::TransformerBlock block({8, 4, 2, 12}, {DType::f64, kCPU, &gen});
  nn::RotaryEmbedding rope(2, 16);
  nn::AttentionContext context;
  context.causal = true;
  context.rope = &rope;
  context.positions = from_vector<int64_t>({0, 1, 2, 0, 0, 1}, Shape{2, 3});
  context.key_mask = from_vector<bool>({true, true, true, false, true, true}, Shape{2, 3});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& in) { return block.forward(in[0], context); },
                           {random64(Shape{2, 3, 8}, 16)}));
}

TEST(TransformerBlock, GradcheckEncoderLayer) {
  // The ViT shape: LayerNorm, biases, GELU, no causal mask, no RoPE.
  Generator gen(17);
  const nn::BlockConfig config{8, 2, 0, 16, nn::FeedForwardKind::gelu, nn::NormKind::layer, 1e-6, true};
  nn::TransformerBlock block(config, {DType::f64, kCPU, &gen});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& in) { return block.forward(in[0]); },
                           {random64(Shape{1, 4, 8}, 18)}));
  // Non-causal: the first token's output depends on the last token.
  const Tensor x = random64(Shape{1, 4, 8}, 19);
  Tensor x2 = x.clone();
  x2.narrow(1, 3, 1).fill_(0.5);
  EXPECT_GT(amax(abs(block.forward(x) - block.forward(x2)).select(1, 0)).item(), 1e-6);
}

}  // namespace
}  // namespace subtb

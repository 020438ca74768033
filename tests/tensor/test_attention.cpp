// scaled_dot_product_attention (the fused op) against the composite of simple ops, on
// every device and float dtype: the output and the gradients of q, k and v must meet
// FlashAttention's rule, |fused - ref64| <= 2 |composite - ref64| + eps, where ref64 is
// the composite in f64 on the CPU and `composite` the composite in the fused op's own
// dtype and device. Shapes cover tile edges, T = 1, bottom-right causal with Tq != Tk,
// key lengths and masks that leave queries with no key at all (and Tk = 0), D in
// {32, 64, 96, 128}, grouped-query heads and [B, T, H, D] views. Then the saved lse,
// determinism (also across thread counts on the CPU), the gradient of one input at a
// time, finite-difference gradients in f64, and the argument errors.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/engine.h"
#include "kernels/backend.h"
#include "tests/support/test_util.h"
#include "tests/tensor/attention_test_util.h"

namespace subtb {
namespace {

using attention_testing::Case;
using attention_testing::case_inputs;
using attention_testing::expect_meets_flash_rule;
using attention_testing::max_abs;
using attention_testing::options_on;
using attention_testing::Result;
using attention_testing::run;
using attention_testing::to_f64;
using testing::DeviceDType;
using testing::gradcheck_ok;
using testing::random_input;
using testing::tolerance;
using testing::values;

class Attention : public ::testing::TestWithParam<DeviceDType> {};

void expect_fused_matches_composite(const Case& c, DeviceDType p) {
  SCOPED_TRACE(c.name);
  const auto [q, k, v, g] = case_inputs(c, p);
  const AttentionOptions o = options_on(c, p.device), o_ref = options_on(c, kCPU);

  const Result fused = run(scaled_dot_product_attention, q, k, v, g, o);
  const Result composite = run(scaled_dot_product_attention_composite, q, k, v, g, o);
  const Result ref = run(scaled_dot_product_attention_composite, to_f64(q), to_f64(k), to_f64(v), to_f64(g), o_ref);

  expect_meets_flash_rule(fused, composite, ref, p.dtype, p.device);
}

TEST_P(Attention, FusedMatchesCompositeWithinTwiceItsError) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  // Key mask of the masked cases: batch 0 hides every third key, batch 1 hides them all.
  std::vector<int> mask(2 * 20, 0);
  for (int j = 0; j < 20; ++j) mask[j] = j % 3 != 1;
  const Case cases[] = {
      {"T not a tile multiple", 2, 2, 2, 37, 37, 32},
      {"several tiles, causal", 1, 2, 2, 150, 150, 32, true},
      {"several key tiles, causal, Tq < Tk", 1, 2, 1, 70, 300, 32, true},
      {"several key tiles, key_lengths", 2, 2, 1, 9, 280, 32, false, {280, 150}},
      {"T = 1", 2, 2, 2, 1, 1, 64},
      {"causal, Tq < Tk (bottom-right)", 1, 2, 2, 5, 23, 32, true},
      {"causal, Tq > Tk (leading queries see nothing)", 1, 2, 2, 23, 5, 32, true},
      {"key_lengths with an empty batch entry", 2, 2, 2, 9, 20, 32, false, {0, 13}},
      {"key_mask with a fully masked batch entry", 2, 2, 2, 9, 20, 32, false, {}, mask},
      {"causal + key_lengths + key_mask", 2, 2, 2, 20, 20, 32, true, {17, 6}, mask},
      {"D = 64", 1, 2, 2, 19, 19, 64},
      {"D = 96", 1, 2, 2, 19, 19, 96},
      {"D = 128", 1, 2, 2, 19, 19, 128},
      {"GQA Hq = 4, Hkv = 2", 1, 4, 2, 11, 13, 32, true},
      {"GQA Hq = 4, Hkv = 1 (multi-query)", 2, 4, 1, 11, 13, 32, false, {13, 4}},
      {"[B, T, H, D] views", 2, 4, 2, 11, 13, 64, true, {}, {}, true},
  };
  for (const Case& c : cases) expect_fused_matches_composite(c, p);
}

TEST_P(Attention, QueriesWithoutKeysGiveZeroOutputAndGradients) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  // Batch 1 has no keys; in batch 0 the causal mask (Tq > Tk) hides every key from the
  // first Tq - Tk queries.
  const Case c{"", 2, 2, 1, 6, 4, 32, true, {4, 0}};
  const auto [q, k, v, g] = case_inputs(c, p);
  const Result r = run(scaled_dot_product_attention, q, k, v, g, options_on(c, p.device));
  for (const Tensor& t : {r.out, r.grad_q, r.grad_k, r.grad_v}) {
    for (double x : values(t)) ASSERT_TRUE(std::isfinite(x));
  }
  const auto zero = [](const Tensor& t) { return max_abs(t) == 0.0; };
  EXPECT_TRUE(zero(r.out.select(0, 1)));
  EXPECT_TRUE(zero(r.out.select(0, 0).narrow(1, 0, 2)));
  EXPECT_FALSE(zero(r.out.select(0, 0).narrow(1, 2, 4)));
  EXPECT_TRUE(zero(r.grad_q.select(0, 1)));
  EXPECT_TRUE(zero(r.grad_q.select(0, 0).narrow(1, 0, 2)));
  EXPECT_TRUE(zero(r.grad_k.select(0, 1)));
  EXPECT_TRUE(zero(r.grad_v.select(0, 1)));
  EXPECT_FALSE(zero(r.grad_v.select(0, 0)));
}

// No keys at all (Tk = 0): every query gets 0 and the gradient of q is 0.
TEST_P(Attention, NoKeysAtAll) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor q = random_input({2, 2, 3, 32}, p, 1, 1.0), k = random_input({2, 1, 0, 32}, p, 2, 1.0);
  const Tensor v = random_input({2, 1, 0, 32}, p, 3, 1.0), g = random_input({2, 2, 3, 32}, p, 4, 1.0);
  const Result r = run(scaled_dot_product_attention, q, k, v, g, {});
  EXPECT_EQ(max_abs(r.out), 0.0);
  EXPECT_EQ(max_abs(r.grad_q), 0.0);
  EXPECT_EQ(r.grad_k.shape(), k.shape());
}

// The backend's saved lse is the log-sum-exp of the scaled, masked scores, -inf for a
// query with no key.
TEST_P(Attention, KernelSavesTheRowLogSumExp) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const int64_t tq = 7, tk = 5, d = 32;
  const Tensor q = random_input({1, 2, tq, d}, p, 1, 1.0), k = random_input({1, 1, tk, d}, p, 2, 1.0);
  const Tensor v = random_input({1, 1, tk, d}, p, 3, 1.0);
  const double scale = 0.3;
  Tensor out = empty({1, 2, tq, d}, p.dtype, p.device);
  Tensor lse = empty({1, 2, tq}, p.dtype == DType::f64 ? DType::f64 : DType::f32, p.device);
  backend(p.device).attention(q, k, v, Tensor(), Tensor(), AttentionParams{.scale = scale, .causal = true}, out, lse);

  const std::vector<double> qv = values(q), kv = values(k), lv = values(lse);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < tq; ++i) {
      double expected = -INFINITY, m = -INFINITY;
      std::vector<double> s;
      for (int64_t j = 0; j <= i + (tk - tq) && j < tk; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += qv[(h * tq + i) * d + c] * kv[j * d + c];
        s.push_back(scale * dot);
        m = std::max(m, s.back());
      }
      if (!s.empty()) {
        double sum = 0;
        for (double x : s) sum += std::exp(x - m);
        expected = m + std::log(sum);
      }
      const double actual = lv[h * tq + i];
      if (std::isinf(expected)) {
        EXPECT_EQ(actual, expected) << "h " << h << " i " << i;
      } else {
        EXPECT_NEAR(actual, expected, 1e-5 * std::max(1.0, std::abs(expected))) << "h " << h << " i " << i;
      }
    }
}

TEST_P(Attention, BackwardIsDeterministic) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Case c{"", 2, 4, 2, 45, 70, 32, true};
  const auto [q, k, v, g] = case_inputs(c, p);
  AttentionOptions o = options_on(c, p.device);
  o.deterministic = true;
  const Result a = run(scaled_dot_product_attention, q, k, v, g, o);
  const Result b = run(scaled_dot_product_attention, q, k, v, g, o);
  EXPECT_EQ(values(a.grad_q), values(b.grad_q));
  EXPECT_EQ(values(a.grad_k), values(b.grad_k));
  EXPECT_EQ(values(a.grad_v), values(b.grad_v));
}

// Backward computes only the gradients that are wanted; each one alone matches the
// gradient computed with all three.
TEST_P(Attention, GradientOfEachInputAlone) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Case c{"", 1, 4, 2, 70, 70, 32, true};
  const auto [q, k, v, g] = case_inputs(c, p);
  const AttentionOptions o = options_on(c, p.device);
  const Result all = run(scaled_dot_product_attention, q, k, v, g, o);
  for (int wanted = 0; wanted < 3; ++wanted) {
    Tensor in[3] = {q.detach(), k.detach(), v.detach()};
    in[wanted].requires_grad_();
    scaled_dot_product_attention(in[0], in[1], in[2], o).backward(g);
    const Tensor expected = wanted == 0 ? all.grad_q : wanted == 1 ? all.grad_k : all.grad_v;
    // Equal to rounding: a device may accumulate in a different order (atomics).
    EXPECT_TRUE(testing::all_close(in[wanted].grad(), expected, tolerance(p.dtype) * std::max(1.0, max_abs(expected))))
        << "input " << wanted;
  }
}

INSTANTIATE_TEST_SUITE_P(All, Attention, ::testing::ValuesIn(testing::all_float_params()), testing::param_name);

// The CPU kernels' sums run in an order fixed by the shapes alone: one thread and many
// give the same bits, forward and backward (backward splitting the key tiles of its one
// (batch, head) pair into several dQ buffers here).
TEST(AttentionCpu, SameBitsOnAnyThreadCount) {
  const DeviceDType p{kCPU, DType::f32};
  const Case c{"", 1, 2, 1, 150, 200, 32, true, {170}};
  const auto [q, k, v, g] = case_inputs(c, p);
  const AttentionOptions o = options_on(c, kCPU);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const Result one = run(scaled_dot_product_attention, q, k, v, g, o);
  omp_set_num_threads(std::max(threads, 2));
  const Result many = run(scaled_dot_product_attention, q, k, v, g, o);
  omp_set_num_threads(threads);
  EXPECT_EQ(values(one.out), values(many.out));
  EXPECT_EQ(values(one.grad_q), values(many.grad_q));
  EXPECT_EQ(values(one.grad_k), values(many.grad_k));
  EXPECT_EQ(values(one.grad_v), values(many.grad_v));
}

TEST(AttentionGradcheck, FusedMatchesFiniteDifferencesInF64) {
  // Causal with Tq < Tk, a key mask that hides one key of batch 0 and all of batch 1,
  // grouped-query heads and an explicit scale.
  AttentionOptions o;
  o.causal = true;
  o.scale = 0.7;
  o.key_mask = from_vector<double>({1, 0, 1, 1, 0, 0, 0, 0}, {2, 4}).to(DType::b8);
  const DeviceDType p{kCPU, DType::f64};
  const std::vector<Tensor> inputs{random_input({2, 2, 3, 5}, p, 1, 1.0), random_input({2, 1, 4, 5}, p, 2, 1.0),
                                   random_input({2, 1, 4, 5}, p, 3, 1.0)};
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], o); }, inputs));
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& x) { return scaled_dot_product_attention_composite(x[0], x[1], x[2], o); },
      inputs));
}

TEST(AttentionErrors, NameTheOffendingArguments) {
  const Tensor q = zeros({2, 4, 3, 8}), k = zeros({2, 2, 5, 8}), v = zeros({2, 2, 5, 8});
  const auto sdpa = [](const Tensor& a, const Tensor& b, const Tensor& c, const AttentionOptions& o = {}) {
    return scaled_dot_product_attention(a, b, c, o);
  };
  EXPECT_THROW_MSG(sdpa(zeros({4, 3, 8}), k, v), "scaled_dot_product_attention", "[B, Hq, Tq, D]", "f32[4, 3, 8]");
  EXPECT_THROW_MSG(sdpa(q, zeros({2, 2, 5, 4}), zeros({2, 2, 5, 4})), "head dims differ", "f32[2, 4, 3, 8]",
                   "f32[2, 2, 5, 4]");
  EXPECT_THROW_MSG(sdpa(q, k, zeros({2, 2, 6, 8})), "same shape", "f32[2, 2, 6, 8]");
  EXPECT_THROW_MSG(sdpa(zeros({2, 4, 3, 0}), zeros({2, 2, 5, 0}), zeros({2, 2, 5, 0})), "head dim D",
                   "must be positive");
  EXPECT_THROW_MSG(sdpa(q, zeros({2, 3, 5, 8}), zeros({2, 3, 5, 8})), "multiple", "4 % 3");
  EXPECT_THROW_MSG(sdpa(q, zeros({1, 2, 5, 8}), zeros({1, 2, 5, 8})), "batch sizes differ");
  EXPECT_THROW_MSG(sdpa(q, k.to(DType::f64), v), "dtypes differ", "f64[2, 2, 5, 8]");
  EXPECT_THROW_MSG(sdpa(q.to(DType::i64), k.to(DType::i64), v.to(DType::i64)), "floating", "i64[2, 4, 3, 8]");

  AttentionOptions o;
  o.key_lengths = from_vector<int32_t>({1, 2});
  EXPECT_THROW_MSG(sdpa(q, k, v, o), "key_lengths must be i64", "i32[2]");
  o.key_lengths = from_vector<int64_t>({1, 2, 3});
  EXPECT_THROW_MSG(sdpa(q, k, v, o), "key_lengths", "i64[3]", "must be [2]");
  o.key_lengths = from_vector<int64_t>({1, 6});
  EXPECT_THROW_MSG(sdpa(q, k, v, o), "key_lengths holds 6", "[0, 5]");
  o.key_lengths = from_vector<int64_t>({-1, 2});
  EXPECT_THROW_MSG(scaled_dot_product_attention_composite(q, k, v, o), "scaled_dot_product_attention_composite",
                   "key_lengths holds -1");

  AttentionOptions m;
  m.key_mask = zeros({2, 5});
  EXPECT_THROW_MSG(sdpa(q, k, v, m), "key_mask must be bool", "f32[2, 5]");
  m.key_mask = zeros({2, 4}, DType::b8);
  EXPECT_THROW_MSG(sdpa(q, k, v, m), "key_mask", "bool[2, 4]", "must be [2, 5]");

  AttentionOptions s;
  s.scale = std::numeric_limits<double>::infinity();
  EXPECT_THROW_MSG(sdpa(q, k, v, s), "scale must be finite");
}

}  // namespace
}  // namespace subtb

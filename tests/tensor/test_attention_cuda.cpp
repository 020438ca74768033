// The CUDA attention kernels on shapes that exercise their tiles: 64-row query and key
// tiles of the tensor-core kernels (bf16, f16) with T off the tile size, one query, a
// bottom-right causal diagonal crossing tiles with Tq != Tk, key lengths and masks
// that empty whole tiles and whole rows, every supported head dim, grouped-query heads
// and strided [B, T, H, D] views; the CUDA-core fallback for other head dims and
// unaligned rows; and bit-identical gradients in deterministic mode.
//
// The rule is FlashAttention's: |fused - ref64| <= 2 |composite - ref64| + eps, ref64
// being the composite of simple ops in f64 and `composite` the same composite in the
// fused op's dtype. Both run on the CPU, so these tests need nothing of the GPU but the
// fused kernels. Every test skips without a GPU.
#include <algorithm>
#include <vector>

#include "tests/support/test_util.h"
#include "tests/tensor/attention_test_util.h"

namespace subtb {
namespace {

using attention_testing::Case;
using attention_testing::case_inputs;
using attention_testing::expect_meets_flash_rule;
using attention_testing::heads_input;
using attention_testing::max_abs;
using attention_testing::max_abs_diff;
using attention_testing::options_on;
using attention_testing::Result;
using attention_testing::run;
using attention_testing::to_f64;
using testing::DeviceDType;
using testing::random_input;
using testing::values;

// Moves a tensor to the GPU keeping a [B, T, H, D] layout viewed as [B, H, T, D].
Tensor to_cuda(const Tensor& t, bool transposed) {
  if (!transposed) return t.to(cuda_device(0));
  return t.transpose(1, 2).contiguous().to(cuda_device(0)).transpose(1, 2);
}

// The fused op on the GPU against the composite on the CPU, output and gradients.
void expect_flash_rule(const Case& c, DType dtype, bool deterministic) {
  SCOPED_TRACE(::testing::Message() << c.name << (deterministic ? " (deterministic)" : " (atomic dQ)"));
  const DeviceDType cpu{kCPU, dtype};
  const auto [q, k, v, g] = case_inputs(c, cpu);
  const AttentionOptions o_gpu = options_on(c, cuda_device(0), deterministic);
  const AttentionOptions o_cpu = options_on(c, kCPU, deterministic);

  const Result fused = run(scaled_dot_product_attention, to_cuda(q, c.transposed), to_cuda(k, c.transposed),
                           to_cuda(v, c.transposed), g.to(cuda_device(0)), o_gpu);
  const Result composite = run(scaled_dot_product_attention_composite, q, k, v, g, o_cpu);
  const Result ref = run(scaled_dot_product_attention_composite, to_f64(q), to_f64(k), to_f64(v), to_f64(g), o_cpu);

  expect_meets_flash_rule(fused, composite, ref, dtype, cuda_device(0));
}

class AttentionCuda : public ::testing::TestWithParam<DType> {};

TEST_P(AttentionCuda, TensorCoreKernelsMeetTheFlashAttentionRule) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  // Batch 0 hides every third key, batch 1 every key.
  std::vector<int> mask(2 * 130, 0);
  for (int j = 0; j < 130; ++j) mask[j] = j % 3 != 1;
  const Case cases[] = {
      {"T = 200: three full tiles and a partial one", 2, 2, 2, 200, 200, 64},
      {"T = 1", 1, 2, 2, 1, 1, 128},
      {"causal, Tq = 70 < Tk = 200", 1, 2, 2, 70, 200, 64, true},
      {"causal, Tq = 200 > Tk = 70 (leading queries see nothing)", 1, 2, 2, 200, 70, 32, true},
      {"key_lengths ending mid-tile, one empty", 2, 2, 2, 100, 150, 64, false, {0, 97}},
      {"causal + key_mask, a fully masked batch entry", 2, 2, 2, 130, 130, 32, true, {}, mask},
      {"D = 32", 1, 2, 2, 129, 129, 32},
      {"D = 64", 1, 2, 2, 129, 129, 64},
      {"D = 96", 1, 2, 2, 129, 129, 96},
      {"D = 128", 1, 2, 2, 129, 129, 128},
      {"GQA Hq = 8, Hkv = 2, causal", 1, 8, 2, 100, 100, 64, true},
      {"multi-query Hq = 4, Hkv = 1, key_lengths", 2, 4, 1, 80, 140, 32, false, {140, 65}},
      {"[B, T, H, D] views, causal", 2, 4, 2, 90, 90, 64, true, {}, {}, true},
  };
  for (const Case& c : cases) {
    expect_flash_rule(c, GetParam(), /*deterministic=*/false);
    expect_flash_rule(c, GetParam(), /*deterministic=*/true);
  }
}

// Head dims without a tensor-core kernel, and rows that are not 16-byte aligned, take
// the CUDA-core kernels.
TEST_P(AttentionCuda, FallbackKernelsMeetTheFlashAttentionRule) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  expect_flash_rule({"D = 80", 2, 4, 2, 70, 90, 80, true, {90, 31}}, GetParam(), false);
  expect_flash_rule({"D = 8", 1, 2, 2, 33, 33, 8}, GetParam(), true);

  // A narrow of the head dim starting 4 elements in: 8-byte aligned rows.
  const DType dtype = GetParam();
  const DeviceDType cpu{kCPU, dtype};
  const Tensor q = random_input({1, 2, 40, 72}, cpu, 1, 1.0), k = random_input({1, 2, 50, 72}, cpu, 2, 1.0);
  const Tensor v = random_input({1, 2, 50, 72}, cpu, 3, 1.0), g = random_input({1, 2, 40, 64}, cpu, 4, 1.0);
  const auto narrow = [](const Tensor& t) { return t.narrow(3, 4, 64); };
  const auto on_gpu = [&](const Tensor& t) { return narrow(t.to(cuda_device(0))); };
  AttentionOptions o;
  o.causal = true;
  const Result fused = run(scaled_dot_product_attention, on_gpu(q), on_gpu(k), on_gpu(v), g.to(cuda_device(0)), o);
  const Result composite = run(scaled_dot_product_attention_composite, narrow(q), narrow(k), narrow(v), g, o);
  const Result ref = run(scaled_dot_product_attention_composite, to_f64(narrow(q)), to_f64(narrow(k)),
                         to_f64(narrow(v)), to_f64(g), o);
  expect_meets_flash_rule(fused, composite, ref, dtype, cuda_device(0));
}

TEST_P(AttentionCuda, DeterministicGradientsAreBitIdentical) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  // Several key tiles add into each dQ row and four query heads into each dK, dV row.
  const Case c{"", 2, 8, 2, 200, 260, 64, true, {260, 190}};
  const DType dtype = GetParam();
  const Tensor q = to_cuda(heads_input(c, c.hq, c.tq, {kCPU, dtype}, 1), false);
  const Tensor k = to_cuda(heads_input(c, c.hkv, c.tk, {kCPU, dtype}, 2), false);
  const Tensor v = to_cuda(heads_input(c, c.hkv, c.tk, {kCPU, dtype}, 3), false);
  const Tensor g = random_input({c.batch, c.hq, c.tq, c.d}, {cuda_device(0), dtype}, 4, 1.0);
  const AttentionOptions o = options_on(c, cuda_device(0), /*deterministic=*/true);
  const Result a = run(scaled_dot_product_attention, q, k, v, g, o);
  const Result b = run(scaled_dot_product_attention, q, k, v, g, o);
  EXPECT_GT(max_abs(a.grad_q), 0.0);
  EXPECT_EQ(values(a.out), values(b.out));
  EXPECT_EQ(values(a.grad_q), values(b.grad_q));
  EXPECT_EQ(values(a.grad_k), values(b.grad_k));
  EXPECT_EQ(values(a.grad_v), values(b.grad_v));
}

INSTANTIATE_TEST_SUITE_P(Cuda, AttentionCuda, ::testing::Values(DType::bf16, DType::f16),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(dtype_name(info.param));
                         });

// f32 and f64 run on the CUDA-core kernels; f64 matches the f64 composite to rounding.
TEST(AttentionCudaF64, MatchesTheCompositeToRounding) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  std::vector<int> mask(2 * 45, 1);
  for (int j = 0; j < 45; j += 4) mask[j] = 0;
  for (int j = 45; j < 90; ++j) mask[j] = 0;
  const Case c{"", 2, 4, 2, 37, 45, 24, true, {40, 45}, mask};
  const auto [q, k, v, g] = case_inputs(c, {kCPU, DType::f64});
  const Result fused = run(scaled_dot_product_attention, to_cuda(q, false), to_cuda(k, false), to_cuda(v, false),
                           g.to(cuda_device(0)), options_on(c, cuda_device(0), false));
  const Result ref = run(scaled_dot_product_attention_composite, q, k, v, g, options_on(c, kCPU, false));
  for (Tensor Result::*field : {&Result::out, &Result::grad_q, &Result::grad_k, &Result::grad_v})
    EXPECT_LE(max_abs_diff(fused.*field, ref.*field), 1e-12 * std::max(1.0, max_abs(ref.*field)));
}

}  // namespace
}  // namespace subtb

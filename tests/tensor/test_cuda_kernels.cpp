// The CUDA kernels' own paths, compared with the CPU on the same inputs: the vectorised and
// strided elementwise paths, broadcasting, every dtype conversion, reductions split over
// many blocks, both reduction layouts, long scans (a block per line), deterministic
// scatter_add (bit-identical to the CPU), and the errors the CPU raises. The parameterised
// op tests run on CUDA too; these cover shapes large or odd enough to reach the paths
// those small cases do not. Skips without a GPU.
#include <cmath>

#include "tensor/settings.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::values;

const Device kGpu = cuda_device(0);

Tensor cpu_input(const Shape& shape, uint64_t seed, DType dtype = DType::f32) {
  return testing::random_input(shape, {kCPU, dtype}, seed);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> va = values(a), vb = values(b);
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

TEST(CudaKernels, ElementwiseContiguousStridedAndBroadcast) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const Tensor a = cpu_input({301, 517}, 1), b = cpu_input({517}, 2);
  const Tensor ga = a.to(kGpu), gb = b.to(kGpu);
  EXPECT_TRUE(all_close(exp(ga).to(kCPU), exp(a), 1e-6, 1e-6));       // 16-byte path and tail
  EXPECT_TRUE(all_close((ga + gb).to(kCPU), a + b, 0.0));             // broadcast (stride 0)
  EXPECT_TRUE(all_close((ga.t() * 2.0).to(kCPU), a.t() * 2.0, 0.0));  // transposed input
  EXPECT_TRUE(all_close(ga.narrow(1, 1, 300).contiguous().to(kCPU), a.narrow(1, 1, 300), 0.0));  // unaligned
  EXPECT_TRUE(all_close(where(ga > zeros_like(ga), ga, gb).to(kCPU), where(a > zeros_like(a), a, b), 0.0));
}

TEST(CudaKernels, ConversionsBetweenEveryPairOfDtypes) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const std::vector<DType> dtypes{DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::b8};
  const Tensor base = testing::make({-3.0, -1.5, 0.0, 0.5, 2.0, 7.0, 100.0, -0.0}, Shape{8}, {kCPU, DType::f64});
  for (DType from : dtypes) {
    const Tensor src = base.to(from);
    for (DType to : dtypes) {
      EXPECT_EQ(values(src.to(kGpu).to(to).to(kCPU)), values(src.to(to))) << from << " -> " << to;
    }
  }
}

TEST(CudaKernels, ReductionsSplitOverBlocksAndBothLayouts) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const Tensor x = cpu_input({1 << 20}, 3, DType::f64), g = x.to(kGpu);
  EXPECT_TRUE(all_close(sum(g).to(kCPU), sum(x), 1e-8));  // few outputs: partial blocks, then a merge
  EXPECT_TRUE(all_close(logsumexp(g).to(kCPU), logsumexp(x), 1e-12));
  const Tensor m = cpu_input({513, 700}, 4, DType::f64), gm = m.to(kGpu);
  EXPECT_TRUE(all_close(sum(gm, {0}).to(kCPU), sum(m, {0}), 1e-10));  // outputs along the inner dim
  EXPECT_TRUE(all_close(sum(gm, {1}).to(kCPU), sum(m, {1}), 1e-10));  // reduced along the inner dim
  EXPECT_TRUE(all_close(var(gm, {0}).to(kCPU), var(m, {0}), 1e-10));
  EXPECT_TRUE(all_close(amax(gm.t(), {1}).to(kCPU), amax(m.t(), {1}), 0.0));
  EXPECT_EQ(values(argmax(gm, 0).to(kCPU)), values(argmax(m, 0)));
  const Tensor ints = randint(-100, 100, Shape{1000, 37}, DType::i32);
  EXPECT_EQ(values(sum(ints.to(kGpu), {0}).to(kCPU)), values(sum(ints, {0})));
}

TEST(CudaKernels, LongScansMatchTheCpu) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  Tensor x = cpu_input({3, 5000}, 5, DType::f64);
  x = masked_fill(x, x < full_like(x, -2.0), -INFINITY);  // -inf entries, and an all -inf prefix below
  x.narrow(1, 0, 10).fill_(-INFINITY);
  const Tensor g = x.to(kGpu);
  EXPECT_TRUE(all_close(cumsum(g, 1).to(kCPU), cumsum(x, 1), 1e-9));
  EXPECT_TRUE(all_close(logcumsumexp(g, 1).to(kCPU), logcumsumexp(x, 1), 1e-12));
  EXPECT_TRUE(all_close(logcumsumexp(g, 0).to(kCPU), logcumsumexp(x, 0), 1e-12));
}

TEST(CudaKernels, DeterministicScatterAddIsBitIdenticalToTheCpu) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const Tensor src = cpu_input({4000, 16}, 6);
  const Tensor index = randint(0, 7, Shape{4000, 16}, DType::i64);
  const Tensor out = zeros(Shape{7, 16});
  set_deterministic(true);
  const Tensor gpu = scatter_add(out.to(kGpu), 0, index.to(kGpu), src.to(kGpu)).to(kCPU);
  set_deterministic(false);
  EXPECT_EQ(values(gpu), values(scatter_add(out, 0, index, src)));
  const Tensor atomic = scatter_add(out.to(kGpu), 0, index.to(kGpu), src.to(kGpu)).to(kCPU);
  // Atomics add in arrival order: f32 rounding of ~600-term sums of magnitude ~50.
  EXPECT_TRUE(all_close(atomic, scatter_add(out, 0, index, src), 5e-3));
}

TEST(CudaKernels, Tf32IsOnlyUsedWhenAllowed) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const Tensor a = cpu_input({64, 256}, 7), b = cpu_input({256, 32}, 8);
  const Tensor ref = matmul(a.to(DType::f64), b.to(DType::f64));
  const double exact_error = max_abs_diff(matmul(a.to(kGpu), b.to(kGpu)).to(kCPU), ref);
  EXPECT_LT(exact_error, 1e-3);  // f32 products: ~1e-5 here; TF32's 10-bit mantissas: ~1e-2
  set_allow_tf32(true);
  const double tf32_error = max_abs_diff(matmul(a.to(kGpu), b.to(kGpu)).to(kCPU), ref);
  set_allow_tf32(false);
  EXPECT_LT(tf32_error, 0.5);
}

TEST(CudaKernels, IntegerDivisionByZeroThrowsLikeTheCpu) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const Tensor a = full(Shape{4}, 6.0, DType::i64, kGpu), b = zeros(Shape{4}, DType::i64, kGpu);
  EXPECT_THROW_MSG(div(a, b), "div: integer division by zero");
}

}  // namespace
}  // namespace subtb

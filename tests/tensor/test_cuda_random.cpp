// The CPU and CUDA generators draw the same numbers for the same seed and offset
// (tensor/philox.h). uniform, randint and bernoulli are bit-identical; normal and gumbel
// pass through each device's log, sin and cos, which agree to an ulp or two in f64, so
// their f32 draws (rounded from f64) are compared exactly and their f64 draws to a few
// ulps. Skips without a GPU.
#include <cmath>

#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::values;

const Device kGpu = cuda_device(0);

// Draws n numbers on the CPU and on the GPU from generators with the same seed and offset.
template <class Draw>
std::pair<std::vector<double>, std::vector<double>> draw_both(Draw draw) {
  Generator cpu_gen(1234), gpu_gen(1234);
  cpu_gen.advance(7);
  gpu_gen.advance(7);
  return {values(draw(kCPU, &cpu_gen)), values(draw(kGpu, &gpu_gen).to(kCPU))};
}

constexpr int64_t kN = 4099;  // not a multiple of a block's 4 numbers

TEST(CudaRandom, UniformMatchesTheCpuBitForBit) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    const auto [cpu, gpu] = draw_both([&](Device d, Generator* g) { return rand(Shape{kN}, dtype, d, g, -2.0, 3.0); });
    ASSERT_EQ(cpu.size(), gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) ASSERT_EQ(cpu[i], gpu[i]) << dtype << " element " << i;
  }
}

TEST(CudaRandom, NormalMatchesTheCpu) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  for (DType dtype : {DType::f32, DType::f64}) {
    const auto [cpu, gpu] = draw_both([&](Device d, Generator* g) { return randn(Shape{kN}, dtype, d, g, 1.0, 2.0); });
    ASSERT_EQ(cpu.size(), gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      if (dtype == DType::f32) {
        ASSERT_EQ(cpu[i], gpu[i]) << "f32 element " << i;
      } else {
        ASSERT_NEAR(cpu[i], gpu[i], 8 * std::numeric_limits<double>::epsilon() * (1 + std::abs(cpu[i])))
            << "f64 element " << i;
      }
    }
  }
}

TEST(CudaRandom, RandintAndBernoulliMatchTheCpuBitForBit) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const auto [cpu, gpu] =
      draw_both([](Device d, Generator* g) { return randint(-5, 1000003, Shape{kN}, DType::i64, d, g); });
  EXPECT_EQ(cpu, gpu);
  const Tensor p = rand(Shape{kN}, DType::f32, kCPU);
  const auto [cpu_b, gpu_b] = draw_both([&](Device d, Generator* g) { return bernoulli(p.to(d), g); });
  EXPECT_EQ(cpu_b, gpu_b);
}

}  // namespace
}  // namespace subtb

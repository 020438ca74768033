// f32 sums run in f32 vector chains per block with the blocks added in f64: the result
// must stay close to an f64 reference even for millions of terms of mixed sign.
#include <gtest/gtest.h>

#include <cmath>

#include "tensor/ops.h"

namespace subtb {
namespace {

TEST(SumPrecision, MillionsOfF32TermsStayCloseToF64) {
  Generator gen(7);
  const Tensor x = randn({3, 1 << 20}, DType::f32, kCPU, &gen, 1.0, 3.0);  // mean 1: a large total
  const std::vector<float> v = x.to_vector<float>();
  for (const Tensor& s : {sum(x), sum(sum(x, {1}))}) {  // full, and row sums then their total
    double ref = 0.0, magnitude = 0.0;
    for (float f : v) {
      ref += f;
      magnitude += std::abs(f);
    }
    // A naive sequential f32 sum of 3M such terms is off by about 3e-5 of the magnitude.
    EXPECT_LT(std::abs(s.item() - ref), 1e-6 * magnitude) << s.item() << " vs " << ref;
  }
}

}  // namespace
}  // namespace subtb

// The vectorised f32 exp behind exp(), softmax and cross-entropy: relative error within
// 3 ulp (the bound vec.h states) across the finite range, exact at 0, special values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tensor/ops.h"

namespace subtb {
namespace {

TEST(VectorExp, WithinThreeUlpAcrossTheRangeOnEveryPath) {
  // 200001 points from -87 to 88: long enough for the threaded path, with a ragged tail.
  const int64_t n = 200001;
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = -87.0f + 175.0f * static_cast<float>(i) / static_cast<float>(n - 1);
  const std::vector<float> y = exp(from_vector<float>(x)).to_vector<float>();
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double ref = std::exp(static_cast<double>(x[i]));
    worst = std::max(worst, std::abs(y[i] - ref) / ref);
  }
  EXPECT_LT(worst, 3.0 * std::numeric_limits<float>::epsilon()) << "worst relative error " << worst;
}

TEST(VectorExp, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> y =
      exp(from_vector<float>({0.0f, -inf, inf, std::nanf(""), 89.0f, -104.0f, 1.0f})).to_vector<float>();
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], inf);
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(y[4], inf);   // overflows f32
  EXPECT_EQ(y[5], 0.0f);  // underflows f32
  EXPECT_NEAR(y[6], 2.718281828f, 3e-7f);
}

}  // namespace
}  // namespace subtb

// Segmented scans over padded batches against f64 loops, with -inf prefixes and padding.
#include "gflownet/prefix_sums.h"

#include <cmath>
#include <random>

#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using testing::all_close;

struct Case {
  int64_t B, L;
  std::vector<double> x;
  std::vector<int64_t> lengths;
};

Case random_case(int64_t B, int64_t L, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 2);
  Case c{B, L, {}, {}};
  for (int64_t i = 0; i < B * L; ++i) c.x.push_back(normal(rng));
  for (int64_t b = 0; b < B; ++b) c.lengths.push_back(static_cast<int64_t>(rng() % (L + 1)));
  c.lengths[0] = L;
  if (B > 1) c.lengths[1] = 0;
  return c;
}

std::vector<double> reference(const Case& c, bool log) {
  std::vector<double> out(c.x.size());
  for (int64_t b = 0; b < c.B; ++b) {
    double acc = log ? -INFINITY : 0.0;
    for (int64_t t = 0; t < c.L; ++t) {
      const double v = c.x[b * c.L + t];
      if (t < c.lengths[b]) {
        if (!log) {
          acc += v;
        } else if (acc == -INFINITY && v == -INFINITY) {
          acc = -INFINITY;
        } else {
          const double m = std::max(acc, v);
          acc = m + std::log(std::exp(acc - m) + std::exp(v - m));
        }
        out[b * c.L + t] = acc;
      } else {
        out[b * c.L + t] = log ? -INFINITY : 0.0;
      }
    }
  }
  return out;
}

TEST(SegmentedScan, MatchesLoopsForManyLengths) {
  for (int64_t L : {1, 2, 7, 64, 200}) {
    const Case c = random_case(9, L, static_cast<uint64_t>(L));
    const Tensor x = from_vector<double>(c.x, Shape{c.B, c.L}), len = from_vector<int64_t>(c.lengths);
    EXPECT_TRUE(all_close(segmented_cumsum(x, len), reference(c, false), 1e-12, 1e-12)) << L;
    EXPECT_TRUE(all_close(segmented_logcumsumexp(x, len), reference(c, true), 1e-12, 1e-12)) << L;
    EXPECT_TRUE(all_close(segmented_logcumsumexp(x.to(DType::f32), len), reference(c, true), 1e-4, 1e-5)) << L;
  }
}

TEST(SegmentedScan, NegativeInfinityPrefixesStayExactWithoutNaN) {
  // Row 0: -inf, -inf, 0.5, -inf; row 1: all -inf; row 2: padding after one step.
  const double ni = -INFINITY;
  Tensor x = from_vector<double>({ni, ni, 0.5, ni, ni, ni, ni, ni, 1.0, ni, ni, ni}, Shape{3, 4}).requires_grad_();
  const Tensor len = from_vector<int64_t>({4, 4, 1});
  Tensor y = segmented_logcumsumexp(x, len);
  EXPECT_TRUE(all_close(y, {ni, ni, 0.5, 0.5, ni, ni, ni, ni, 1.0, ni, ni, ni}, 1e-15));
  sum(where(isfinite(y), y, 0.0)).backward();
  // d/dx of the finite outputs: x[0][2] feeds out[0][2] and out[0][3] (weight 1 each);
  // -inf inputs get exactly 0.
  EXPECT_TRUE(all_close(x.grad(), {0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 1e-15));
}

TEST(SegmentedScan, Gradcheck) {
  const Case c = random_case(4, 6, 5);
  const Tensor len = from_vector<int64_t>(c.lengths);
  const Tensor x = from_vector<double>(c.x, Shape{c.B, c.L});
  EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& v) { return segmented_cumsum(v[0], len); }, {x}));
  // Padding outputs are -inf (the identity), which finite differences cannot difference:
  // check the entries inside the rows.
  const Tensor inside = lt(arange(c.L).unsqueeze(0), len.unsqueeze(1));
  auto lcse = [&](const std::vector<Tensor>& v) { return where(inside, segmented_logcumsumexp(v[0], len), 0.0); };
  EXPECT_TRUE(testing::gradcheck_ok(lcse, {x}));
  // Non-contiguous input (a transposed view) goes through the same path.
  EXPECT_TRUE(testing::gradcheck_ok(lcse, {from_vector<double>(c.x, Shape{c.L, c.B}).t()}));
}

TEST(SegmentedScan, Errors) {
  const Tensor x = zeros({2, 3}, DType::f64);
  EXPECT_THROW_MSG(segmented_cumsum(x, from_vector<int64_t>({1, 4})), "segmented_cumsum", "4", "[0, 3]");
  EXPECT_THROW_MSG(segmented_cumsum(x, from_vector<int32_t>({1, 1})), "segmented_cumsum", "lengths", "i32");
  EXPECT_THROW_MSG(segmented_logcumsumexp(zeros({6}), from_vector<int64_t>({1})), "segmented_logcumsumexp", "[B, L]");
  EXPECT_THROW_MSG(segmented_cumsum(zeros({2, 3}, DType::i64), from_vector<int64_t>({1, 1})), "segmented_cumsum",
                   "floating");
}

}  // namespace
}  // namespace subtb::gflownet

// Random numbers: Philox 4x32-10 against the published known answers, the draw layout
// and generator offsets, reproducibility, and the moments of every distribution over a
// million draws. The seeds are fixed, so the statistical bounds (several standard
// errors wide) are deterministic rather than flaky.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/philox.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::values;

constexpr int64_t kDraws = 1 << 20;
constexpr double kSigmas = 5.0;  // how many standard errors a sample statistic may stray

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }
double var_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / (v.size() - 1);
}

// ----- the generator itself

TEST(Philox, PublishedKnownAnswers) {
  // Random123's kat_vectors for philox4x32 with 10 rounds: counter, key -> output.
  struct Kat {
    philox::Block counter;
    uint32_t key0, key1;
    philox::Block expected;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Kat& k : kats) {
    const philox::Block out = philox::philox4x32_10(k.counter, k.key0, k.key1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.x[i], k.expected.x[i]) << "word " << i;
  }
  // The draw form: counter (block, block >> 32, 0, 0), key (seed, seed >> 32).
  const philox::Block zero = philox::philox4x32_10(uint64_t{0}, uint64_t{0});
  EXPECT_EQ(zero.x[0], 0x6627e8d5u);
  EXPECT_EQ(zero.x[3], 0x9b00dbd8u);
  const uint64_t block = 0x0123456789abcdefull, seed = 0xfedcba9876543210ull;
  const philox::Block a = philox::philox4x32_10(block, seed);
  const philox::Block b =
      philox::philox4x32_10(philox::Block{{0x89abcdefu, 0x01234567u, 0, 0}}, 0x76543210u, 0xfedcba98u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.x[i], b.x[i]);
}

TEST(Philox, UniformConversionsStayInRange) {
  EXPECT_EQ(philox::uniform_f32(0), 0.0f);
  EXPECT_LT(philox::uniform_f32(0xffffffffu), 1.0f);
  EXPECT_EQ(philox::uniform_f64(0, 0), 0.0);
  EXPECT_LT(philox::uniform_f64(0xffffffffu, 0xffffffffu), 1.0);
  EXPECT_GT(philox::open_uniform(0), 0.0);
  EXPECT_LT(philox::open_uniform(0xffffffffu), 1.0);
}

TEST(RandomDraws, FollowTheDocumentedLayout) {
  // 32-bit draws: element i is word i % 4 of block offset + i / 4.
  Generator gen(42);
  gen.advance(3);
  const std::vector<float> u = rand(Shape{9}, DType::f32, kCPU, &gen).to_vector<float>();
  for (uint64_t i = 0; i < 9; ++i)
    EXPECT_EQ(u[i], philox::uniform_f32(philox::philox4x32_10(3 + i / 4, 42).x[i % 4])) << i;
  // f64 draws: two words a number, two numbers a block.
  Generator gen64(42);
  const std::vector<double> d = rand(Shape{3}, DType::f64, kCPU, &gen64).to_vector<double>();
  for (uint64_t i = 0; i < 3; ++i) {
    const philox::Block blk = philox::philox4x32_10(i / 2, 42);
    EXPECT_EQ(d[i], philox::uniform_f64(blk.x[2 * (i % 2)], blk.x[2 * (i % 2) + 1])) << i;
  }
}

TEST(RandomDraws, OffsetAdvancesByBlocksUsed) {
  Generator gen(1);
  rand(Shape{10}, DType::f32, kCPU, &gen);  // 4 numbers a block: ceil(10 / 4)
  EXPECT_EQ(gen.offset(), 3u);
  rand(Shape{5}, DType::f64, kCPU, &gen);  // 2 a block: ceil(5 / 2)
  EXPECT_EQ(gen.offset(), 6u);
  randn(Shape{2, 4}, DType::bf16, kCPU, &gen);
  EXPECT_EQ(gen.offset(), 8u);
  randint(0, 3, Shape{1}, DType::i32, kCPU, &gen);
  EXPECT_EQ(gen.offset(), 9u);
  bernoulli(full(Shape{6}, 0.5), &gen);
  EXPECT_EQ(gen.offset(), 11u);
  rand(Shape{0}, DType::f32, kCPU, &gen);
  EXPECT_EQ(gen.offset(), 11u);
  EXPECT_EQ(gen.seed(), 1u);
}

TEST(RandomDraws, SeedDeterminesTheStream) {
  Generator a(7), b(7), c(8);
  const std::vector<double> first = values(rand(Shape{64}, DType::f32, kCPU, &a));
  EXPECT_EQ(first, values(rand(Shape{64}, DType::f32, kCPU, &b)));
  EXPECT_NE(first, values(rand(Shape{64}, DType::f32, kCPU, &c)));
  // Consecutive draws continue the stream instead of repeating it.
  const std::vector<double> second = values(rand(Shape{64}, DType::f32, kCPU, &a));
  EXPECT_NE(first, second);
  // Saving and restoring (seed, offset) replays the same numbers.
  Generator replay(0);
  replay.set_state(7, 16);
  EXPECT_EQ(second, values(rand(Shape{64}, DType::f32, kCPU, &replay)));
  // manual_seed restarts the default generator.
  manual_seed(123);
  const std::vector<double> x = values(randn(Shape{8}));
  manual_seed(123);
  EXPECT_EQ(x, values(randn(Shape{8})));
  EXPECT_EQ(default_generator().offset(), 2u);
}

TEST(RandomDraws, UniformNeverReturnsItsUpperBound) {
  // 16-bit floats round the top of [0, 1) up to 1, and a narrow range rounds onto its
  // end in any dtype; those draws must stay below the bound.
  Generator gen(12);
  const struct {
    DType dtype;
    double low, high;
  } cases[] = {{DType::bf16, 0, 1},
               {DType::f16, 0, 1},
               {DType::bf16, -3, -2},
               {DType::f32, 1, 1 + 1e-7},
               {DType::f64, 1, 1 + 0x1.0p-51}};
  for (const auto& c : cases) {
    const std::vector<double> u = values(rand(Shape{kDraws}, c.dtype, kCPU, &gen, c.low, c.high));
    const auto [lo, hi] = std::minmax_element(u.begin(), u.end());
    EXPECT_GE(*lo, c.low) << c.dtype;
    EXPECT_LT(*hi, c.high) << c.dtype;
  }
}

// ----- moments

TEST(RandomMoments, Uniform) {
  Generator gen(1);
  for (DType dt : {DType::f32, DType::f64}) {
    const std::vector<double> u = values(rand(Shape{kDraws}, dt, kCPU, &gen, -2.0, 3.0));
    const auto [lo, hi] = std::minmax_element(u.begin(), u.end());
    EXPECT_GE(*lo, -2.0);
    EXPECT_LT(*hi, 3.0);
    // U(a, b): mean (a + b) / 2, variance (b - a)^2 / 12, fourth central moment (b - a)^4 / 80.
    const double var = 25.0 / 12, mu4 = 625.0 / 80;
    EXPECT_NEAR(mean_of(u), 0.5, kSigmas * std::sqrt(var / kDraws)) << dt;
    EXPECT_NEAR(var_of(u), var, kSigmas * std::sqrt((mu4 - var * var) / kDraws)) << dt;
  }
}

TEST(RandomMoments, Normal) {
  Generator gen(2);
  for (DType dt : {DType::f32, DType::f64}) {
    const std::vector<double> z = values(randn(Shape{kDraws}, dt, kCPU, &gen, 1.5, 2.0));
    EXPECT_NEAR(mean_of(z), 1.5, kSigmas * std::sqrt(4.0 / kDraws)) << dt;
    EXPECT_NEAR(var_of(z), 4.0, kSigmas * std::sqrt(2 * 16.0 / kDraws)) << dt;
    // The tails are there but not too heavy: P(|z - mean| > 3 sd) = 0.0027.
    int64_t far = 0;
    for (double v : z) far += std::abs(v - 1.5) > 6.0;
    const double p3 = 0.0026997960632601;
    EXPECT_NEAR(double(far) / kDraws, p3, kSigmas * std::sqrt(p3 * (1 - p3) / kDraws)) << dt;
  }
}

TEST(RandomMoments, RandintCoversTheRangeEvenly) {
  Generator gen(3);
  for (DType dt : {DType::i32, DType::i64}) {
    const Tensor r = randint(-3, 7, Shape{kDraws}, dt, kCPU, &gen);
    EXPECT_EQ(r.dtype(), dt);
    std::vector<int64_t> count(10, 0);
    for (double v : values(r)) {
      ASSERT_GE(v, -3);
      ASSERT_LT(v, 7);
      ++count[static_cast<size_t>(v + 3)];
    }
    for (int64_t c : count) EXPECT_NEAR(double(c) / kDraws, 0.1, kSigmas * std::sqrt(0.09 / kDraws)) << dt;
  }
  EXPECT_THROW_MSG(randint(3, 3, Shape{1}), "randint", "empty range", "[3, 3)");
  EXPECT_THROW_MSG(randint(0, 2, Shape{1}, DType::f32), "randint", "i32 or i64");
}

TEST(RandomMoments, Bernoulli) {
  Generator gen(4);
  for (DType dt : {DType::f32, DType::f64}) {
    const std::vector<double> b = values(bernoulli(full(Shape{kDraws}, 0.3, dt), &gen));
    for (double v : b) ASSERT_TRUE(v == 0 || v == 1);
    EXPECT_NEAR(mean_of(b), 0.3, kSigmas * std::sqrt(0.21 / kDraws)) << dt;
  }
  // Per-element probabilities, from a strided tensor: 0 and 1 are certain.
  const Tensor p = from_vector<float>({0, 1, 1, 0, 0, 1}, Shape{3, 2}).t();  // [[0, 1, 0], [1, 0, 1]]
  EXPECT_EQ(values(bernoulli(p, &gen)), (std::vector<double>{0, 1, 0, 1, 0, 1}));
}

// ----- categorical

TEST(RandomCategorical, FrequenciesMatchSoftmaxAndMaskedNeverDrawn) {
  const std::vector<double> logits = {0.5, -1.0, -INFINITY, 2.0, 0.0};
  double total = 0;
  std::vector<double> prob;
  for (double l : logits) total += std::exp(l);
  for (double l : logits) prob.push_back(std::exp(l) / total);
  Generator gen(5);
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    const int64_t n = kDraws / 4;
    const Tensor rows = expand(from_vector<double>(logits).to(dt), Shape{n, 5});
    const Tensor draws = categorical(rows, &gen);
    EXPECT_EQ(draws.dtype(), DType::i64);
    EXPECT_EQ(draws.shape(), (Shape{n}));
    std::vector<int64_t> count(5, 0);
    for (int64_t c : draws.to_vector<int64_t>()) ++count[static_cast<size_t>(c)];
    EXPECT_EQ(count[2], 0) << "a -inf category was drawn";
    // bf16 rounds the logits themselves; compare with the probabilities they encode.
    std::vector<double> p = prob;
    if (dt == DType::bf16) {
      const std::vector<double> rounded = values(from_vector<double>(logits).to(dt));
      double t = 0;
      for (double l : rounded) t += std::exp(l);
      for (size_t i = 0; i < 5; ++i) p[i] = std::exp(rounded[i]) / t;
    }
    for (size_t i = 0; i < 5; ++i)
      EXPECT_NEAR(double(count[i]) / n, p[i], kSigmas * std::sqrt(p[i] * (1 - p[i]) / n)) << dt << " category " << i;
  }
}

TEST(RandomCategorical, RowsAreIndependentDistributions) {
  // Row 0 allows only category 1; row 1 only category 0 or 2, equally.
  const Tensor logits = from_vector<float>({-INFINITY, 3, -INFINITY, 1, -INFINITY, 1}, Shape{2, 3});
  Generator gen(6);
  int64_t twos = 0;
  const int64_t trials = 4000;
  for (int64_t t = 0; t < trials; ++t) {
    const std::vector<int64_t> d = categorical(logits, &gen).to_vector<int64_t>();
    ASSERT_EQ(d[0], 1);
    ASSERT_TRUE(d[1] == 0 || d[1] == 2);
    twos += d[1] == 2;
  }
  EXPECT_NEAR(double(twos) / trials, 0.5, kSigmas * std::sqrt(0.25 / trials));
  // 1-d logits give a 0-d draw; the draw is reproducible from the seed.
  Generator a(9), b(9);
  const Tensor one = categorical(from_vector<float>({0, 0, 0, 0}), &a);
  EXPECT_EQ(one.dim(), 0);
  EXPECT_EQ(one.item(), categorical(from_vector<float>({0, 0, 0, 0}), &b).item());
}

TEST(RandomCategorical, BadLogitsThrow) {
  const Tensor masked = from_vector<float>({0, 1, -INFINITY, -INFINITY}, Shape{2, 2});
  EXPECT_THROW_MSG(categorical(masked), "categorical", "every category at -inf", "[2, 2]");
  EXPECT_THROW_MSG(categorical(from_vector<float>({0, NAN})), "categorical", "NaN");
  EXPECT_THROW_MSG(categorical(from_vector<float>({0, INFINITY})), "categorical", "+inf");
  EXPECT_THROW_MSG(categorical(zeros(Shape{3, 0})), "categorical", "C > 0");
  EXPECT_THROW_MSG(categorical(from_vector<int64_t>({0, 1})), "categorical", "floating");
}

}  // namespace
}  // namespace subtb

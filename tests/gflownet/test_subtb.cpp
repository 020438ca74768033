// The fused SubTB(lambda) loss against a brute-force O(L^3) reference in f64, over every
// length from 1 to 64 and a long one, every weighting, padding rows, length-1 rows,
// intermediate rewards and -inf log-probabilities; plus the objective's exact oracles.
#include "gflownet/subtb.h"

#include <cmath>
#include <random>

#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using testing::all_close;

struct Batch {
  int64_t B, L;
  std::vector<double> pf, pb, flow, reward;  // [B, L], [B, L], [B, L+1], [B, L+1]
  std::vector<int64_t> lengths;
  bool fl = false;

  Tensor t_pf(DType d = DType::f64) const { return from_vector<double>(pf, Shape{B, L}).to(d); }
  Tensor t_pb(DType d = DType::f64) const { return from_vector<double>(pb, Shape{B, L}).to(d); }
  Tensor t_flow(DType d = DType::f64) const { return from_vector<double>(flow, Shape{B, L + 1}).to(d); }
  Tensor t_reward(DType d = DType::f64) const {
    return fl ? from_vector<double>(reward, Shape{B, L + 1}).to(d) : Tensor();
  }
  Tensor t_lengths() const { return from_vector<int64_t>(lengths); }
};

// Random log-probabilities and flows; padding entries hold -inf or garbage, which the
// loss must never read.
Batch random_batch(int64_t B, int64_t L, std::vector<int64_t> lengths, uint64_t seed, bool fl = false) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Batch b{B, L, {}, {}, {}, {}, std::move(lengths), fl};
  b.pf.resize(B * L);
  b.pb.resize(B * L);
  b.flow.resize(B * (L + 1));
  b.reward.resize(B * (L + 1));
  for (int64_t r = 0; r < B; ++r) {
    const int64_t n = b.lengths[r];
    for (int64_t t = 0; t < L; ++t) {
      b.pf[r * L + t] = t < n ? -std::abs(normal(rng)) - 0.1 : -INFINITY;
      b.pb[r * L + t] = t < n ? -std::abs(normal(rng)) : 12345.0;
    }
    for (int64_t t = 0; t <= L; ++t) {
      b.flow[r * (L + 1) + t] = t <= n ? 3.0 * normal(rng) : NAN;
      b.reward[r * (L + 1) + t] = t < n ? normal(rng) : NAN;
    }
  }
  return b;
}

struct Reference {
  std::vector<double> rows, gpf, gpb, gflow;  // per-row losses and d(sum of rows)/d(inputs)
  double batch = 0;
};

// Every residual summed along its own segment, O(L^3); gradients by the chain rule on
// each residual separately.
Reference brute_force(const Batch& b, const SubTBOptions& o) {
  const int64_t B = b.B, L = b.L;
  Reference ref{std::vector<double>(B, 0.0), std::vector<double>(B * L, 0.0), std::vector<double>(B * L, 0.0),
                std::vector<double>(B * (L + 1), 0.0), 0.0};
  int64_t l_max = 0;
  for (int64_t n : b.lengths) l_max = std::max(l_max, n);
  auto count_of_length = [&](int64_t k) {
    int64_t c = 0;
    for (int64_t n : b.lengths) c += std::max<int64_t>(0, n - k + 1);
    return c;
  };
  for (int64_t r = 0; r < B; ++r) {
    const int64_t n = b.lengths[r];
    auto F = [&](int64_t t) {
      return b.flow[r * (L + 1) + t] + (b.fl && t < n ? b.reward[r * (L + 1) + t] : 0.0);
    };
    double total_w = 0;
    std::vector<std::array<double, 4>> terms;  // i, j, w, d
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = i + 1; j <= n; ++j) {
        const int64_t k = j - i;
        double w = 0;
        switch (o.weighting) {
          case SubTBWeighting::geometric_within: w = std::pow(o.lambda, double(k - 1)); break;
          case SubTBWeighting::equal_within: case SubTBWeighting::equal: w = 1; break;
          case SubTBWeighting::tb: w = (i == 0 && j == n) ? 1 : 0; break;
          case SubTBWeighting::db: w = k == 1 ? 1 : 0; break;
          case SubTBWeighting::geometric: {
            const double mix = o.lambda == 1.0 ? 1.0 / double(l_max)
                                               : (1 - o.lambda) * std::pow(o.lambda, double(k - 1)) /
                                                     (1 - std::pow(o.lambda, double(l_max)));
            w = mix / double(count_of_length(k));
            break;
          }
        }
        if (w == 0) continue;
        double d = F(i) - F(j);
        for (int64_t s = i; s < j; ++s) d += b.pf[r * L + s] - b.pb[r * L + s];
        terms.push_back({double(i), double(j), w, d});
        total_w += w;
      }
    }
    const bool within = o.weighting == SubTBWeighting::geometric_within ||
                        o.weighting == SubTBWeighting::equal_within;
    const double g = within && total_w > 0 ? 1.0 / total_w : 1.0;
    for (const auto& [fi, fj, w, d] : terms) {
      const int64_t i = int64_t(fi), j = int64_t(fj);
      ref.rows[r] += g * w * d * d;
      const double dd = 2 * g * w * d;
      ref.gflow[r * (L + 1) + i] += dd;
      ref.gflow[r * (L + 1) + j] -= dd;
      for (int64_t s = i; s < j; ++s) {
        ref.gpf[r * L + s] += dd;
        ref.gpb[r * L + s] -= dd;
      }
    }
  }
  double denom = 1;
  switch (o.weighting) {
    case SubTBWeighting::geometric_within: case SubTBWeighting::equal_within: case SubTBWeighting::tb:
      denom = 0;
      for (int64_t n : b.lengths) denom += n > 0;
      break;
    case SubTBWeighting::equal:
      denom = 0;
      for (int64_t n : b.lengths) denom += double(n * (n + 1) / 2);
      break;
    case SubTBWeighting::db:
      denom = 0;
      for (int64_t n : b.lengths) denom += double(n);
      break;
    case SubTBWeighting::geometric: break;
  }
  for (double v : ref.rows) ref.batch += v;
  ref.batch /= std::max(denom, 1.0);
  return ref;
}

const std::vector<SubTBWeighting> kAllWeightings = {
    SubTBWeighting::geometric_within, SubTBWeighting::equal_within, SubTBWeighting::equal,
    SubTBWeighting::geometric,        SubTBWeighting::tb,           SubTBWeighting::db};

// Checks losses and gradients of the fused op against the brute force.
void expect_matches(const Batch& b, const SubTBOptions& o, double tol) {
  SCOPED_TRACE(::testing::Message() << "weighting " << to_string(o.weighting) << " lambda " << o.lambda << " L "
                                    << b.L);
  const Reference ref = brute_force(b, o);
  Tensor pf = b.t_pf().requires_grad_(), pb = b.t_pb().requires_grad_(), fl = b.t_flow().requires_grad_();
  Tensor rows = subtb_trajectory_losses(pf, pb, fl, b.t_lengths(), o, b.t_reward());
  EXPECT_TRUE(all_close(rows, ref.rows, tol, tol));
  sum(rows).backward();
  // Padding entries get exactly zero gradient, so compare everywhere.
  EXPECT_TRUE(all_close(pf.grad(), ref.gpf, tol, tol));
  EXPECT_TRUE(all_close(pb.grad(), ref.gpb, tol, tol));
  EXPECT_TRUE(all_close(fl.grad(), ref.gflow, tol, tol));
  Tensor batch = subtb_loss(b.t_pf(), b.t_pb(), b.t_flow(), b.t_lengths(), o, b.t_reward());
  EXPECT_NEAR(batch.item(), ref.batch, tol * (1 + std::abs(ref.batch)));
}

TEST(SubTBFused, MatchesBruteForceForEveryLengthAndWeighting) {
  for (int64_t L = 1; L <= 64; ++L) {
    // Rows: full length, length 1, a padding row, and a random length.
    std::vector<int64_t> lengths = {L, 1, 0, 1 + (L * 7919) % L};
    const Batch b = random_batch(4, L, lengths, static_cast<uint64_t>(L));
    for (SubTBWeighting w : kAllWeightings) expect_matches(b, {0.9, w}, 1e-9);
  }
}

TEST(SubTBFused, LambdaExtremesAndLongTrajectories) {
  const Batch b = random_batch(3, 300, {300, 157, 2}, 7);
  for (double lambda : {0.0, 0.5, 0.99, 1.0, 1.5})
    for (SubTBWeighting w : {SubTBWeighting::geometric_within, SubTBWeighting::geometric})
      expect_matches(b, {lambda, w}, 1e-8);
}

TEST(SubTBFused, ForwardLookingRewards) {
  for (int64_t L : {1, 5, 33}) {
    Batch b = random_batch(3, L, {L, std::max<int64_t>(L / 2, 1), 0}, 100 + L, /*fl=*/true);
    for (SubTBWeighting w : kAllWeightings) expect_matches(b, {0.9, w}, 1e-9);
  }
}

TEST(SubTBFused, NegativeInfinityInsideATrajectoryMatchesTheBruteForce) {
  Batch b = random_batch(2, 6, {6, 6}, 3);
  b.pf[2] = -INFINITY;  // row 0, step 2: every residual crossing it is -inf, so the loss is +inf
  const Reference ref = brute_force(b, {0.9, SubTBWeighting::db});
  Tensor rows = subtb_trajectory_losses(b.t_pf(), b.t_pb(), b.t_flow(), b.t_lengths(), {0.9, SubTBWeighting::db});
  const std::vector<double> v = testing::values(rows);
  EXPECT_TRUE(std::isinf(ref.rows[0]) && std::isinf(v[0]));
  EXPECT_NEAR(v[1], ref.rows[1], 1e-9);  // the other row is untouched
  Tensor geo = subtb_trajectory_losses(b.t_pf(), b.t_pb(), b.t_flow(), b.t_lengths());
  EXPECT_TRUE(std::isinf(testing::values(geo)[0]));
}

TEST(SubTBFused, SinglePrecisionAgreesWithTheF64Reference) {
  const Batch b = random_batch(8, 64, {64, 60, 1, 0, 33, 64, 17, 2}, 11);
  const Reference ref = brute_force(b, {0.9, SubTBWeighting::geometric_within});
  Tensor rows = subtb_trajectory_losses(b.t_pf(DType::f32), b.t_pb(DType::f32), b.t_flow(DType::f32),
                                        b.t_lengths());
  EXPECT_EQ(rows.dtype(), DType::f32);
  EXPECT_TRUE(all_close(rows, ref.rows, 1e-4, 1e-5));
}

TEST(SubTBFused, Gradcheck) {
  const Batch b = random_batch(3, 5, {5, 2, 0}, 5, /*fl=*/true);
  for (SubTBWeighting w : kAllWeightings) {
    SCOPED_TRACE(std::string(to_string(w)));
    EXPECT_TRUE(testing::gradcheck_ok(
        [&](const std::vector<Tensor>& x) {
          return subtb_loss(x[0], x[1], x[2], b.t_lengths(), {0.8, w}, b.t_reward());
        },
        {b.t_pf(), b.t_pb(), b.t_flow()}));
  }
}

// A trajectory whose log-probabilities come from exact flows: log P_F(s'|s) =
// log F(s') + log P_B(s|s') - log F(s), with F(x) = R(x) at the end.
TEST(SubTBOracles, ExactFlowsGiveZeroLossAndGradientAndPerturbingMakesItPositive) {
  const Batch b = random_batch(3, 7, {7, 4, 1}, 21);
  Batch exact = b;
  for (int64_t r = 0; r < b.B; ++r) {
    for (int64_t t = 0; t < b.lengths[r]; ++t) {
      exact.pf[r * b.L + t] = b.flow[r * (b.L + 1) + t + 1] + b.pb[r * b.L + t] - b.flow[r * (b.L + 1) + t];
    }
  }
  for (SubTBWeighting w : kAllWeightings) {
    Tensor fl = exact.t_flow().requires_grad_();
    Tensor pf = exact.t_pf().requires_grad_();
    Tensor loss = subtb_loss(pf, exact.t_pb(), fl, exact.t_lengths(), {0.9, w});
    EXPECT_NEAR(loss.item(), 0.0, 1e-24) << to_string(w);
    loss.backward();
    EXPECT_TRUE(all_close(pf.grad(), std::vector<double>(exact.pf.size(), 0.0), 1e-12)) << to_string(w);
    EXPECT_TRUE(all_close(fl.grad(), std::vector<double>(exact.flow.size(), 0.0), 1e-12)) << to_string(w);
  }
  Batch perturbed = exact;
  perturbed.flow[2] += 0.1;  // row 0, state 2
  for (SubTBWeighting w : kAllWeightings) {
    const double loss = subtb_loss(perturbed.t_pf(), perturbed.t_pb(), perturbed.t_flow(), perturbed.t_lengths(),
                                   {0.9, w})
                            .item();
    if (w == SubTBWeighting::tb) {
      EXPECT_NEAR(loss, 0.0, 1e-24);  // TB never sees an interior flow
    } else {
      EXPECT_GT(loss, 1e-6) << to_string(w);
    }
  }
}

TEST(SubTBOracles, TBWeightingIsTrajectoryBalanceWithLogZAtTheInitialFlow) {
  const Batch b = random_batch(4, 9, {9, 3, 1, 6}, 33);
  double expected = 0;
  for (int64_t r = 0; r < b.B; ++r) {
    const int64_t n = b.lengths[r];
    double d = b.flow[r * (b.L + 1)] - b.flow[r * (b.L + 1) + n];  // log Z - log R
    for (int64_t t = 0; t < n; ++t) d += b.pf[r * b.L + t] - b.pb[r * b.L + t];
    expected += d * d / b.B;
  }
  EXPECT_NEAR(subtb_loss(b.t_pf(), b.t_pb(), b.t_flow(), b.t_lengths(), {0.9, SubTBWeighting::tb}).item(), expected,
              1e-10);
}

TEST(SubTBOracles, DBWeightingIsDetailedBalance) {
  const Batch b = random_batch(4, 9, {9, 3, 1, 6}, 34);
  double expected = 0, transitions = 0;
  for (int64_t r = 0; r < b.B; ++r) {
    for (int64_t t = 0; t < b.lengths[r]; ++t) {
      const double d = b.flow[r * (b.L + 1) + t] + b.pf[r * b.L + t] - b.flow[r * (b.L + 1) + t + 1] -
                       b.pb[r * b.L + t];
      expected += d * d;
      transitions += 1;
    }
  }
  EXPECT_NEAR(subtb_loss(b.t_pf(), b.t_pb(), b.t_flow(), b.t_lengths(), {0.9, SubTBWeighting::db}).item(),
              expected / transitions, 1e-10);
}

TEST(SubTBOracles, ForwardLookingResidualsEqualDBResidualsWhenFlowIsFTildeTimesR) {
  // FL with log F~ and intermediate log R equals plain SubTB on log F = log F~ + log R.
  Batch fl = random_batch(3, 8, {8, 5, 2}, 55, /*fl=*/true);
  Batch plain = fl;
  plain.fl = false;
  for (int64_t r = 0; r < fl.B; ++r)
    for (int64_t t = 0; t < fl.lengths[r]; ++t) plain.flow[r * (fl.L + 1) + t] += fl.reward[r * (fl.L + 1) + t];
  for (SubTBWeighting w : kAllWeightings) {
    const double a = subtb_loss(fl.t_pf(), fl.t_pb(), fl.t_flow(), fl.t_lengths(), {0.9, w}, fl.t_reward()).item();
    const double p = subtb_loss(plain.t_pf(), plain.t_pb(), plain.t_flow(), plain.t_lengths(), {0.9, w}).item();
    EXPECT_NEAR(a, p, 1e-10) << to_string(w);
  }
}

TEST(SubTBErrors, NameTheProblem) {
  const Batch b = random_batch(2, 3, {3, 1}, 1);
  EXPECT_THROW_MSG(subtb_loss(b.t_pf(), b.t_pb(), b.t_pf(), b.t_lengths()), "subtb_loss", "log_flow", "[2, 4]");
  EXPECT_THROW_MSG(subtb_loss(b.t_pf(), b.t_pb(), b.t_flow(), from_vector<int64_t>({3, 4})), "subtb_loss",
                   "lengths[1] = 4", "[0, 3]");
  EXPECT_THROW_MSG(subtb_loss(b.t_pf(), b.t_pb(), b.t_flow(), b.t_lengths(), {-0.5}), "lambda");
  EXPECT_THROW_MSG(subtb_loss(b.t_pf(), b.t_pb(DType::f32), b.t_flow(), b.t_lengths()), "subtb_loss", "f32", "f64");
  EXPECT_THROW_MSG(parse_subtb_weighting("quadratic"), "quadratic", "geometric_within");
}

}  // namespace
}  // namespace subtb::gflownet

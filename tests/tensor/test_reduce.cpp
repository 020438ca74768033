// Reductions and scans: forward values against f64 references over device x dtype
// (every kind of dims list, keepdim, non-contiguous, 0-d, empty, and inputs large enough
// to take every parallel path), gradients by finite differences, exact -inf handling,
// and the errors the front ends raise.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::gradcheck_ok;
using testing::tolerance;
using testing::values;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Tensor sample(const Shape& shape, const DeviceDType& p, uint64_t seed, double mean = 0.0, double stddev = 1.0) {
  Generator gen(seed);
  return randn(shape, DType::f64, kCPU, &gen, mean, stddev).to(p.dtype).to(p.device);
}

Tensor f64(const std::vector<double>& v, const Shape& shape) { return from_vector<double>(v, shape); }

// ----- f64 references

using Group = std::vector<double>;
using Ref = std::function<double(const Group&)>;

uint32_t mask_of(const Shape& s, const DimList& dims) {
  return dim_mask(std::span<const int64_t>(dims.begin(), dims.size()), s.size(), "reference");
}

Shape keep_shape(const Shape& s, uint32_t mask) {
  Shape k = s;
  for (int d = 0; d < s.size(); ++d)
    if ((mask >> d) & 1u) k[d] = 1;
  return k;
}

Shape result_shape(const Shape& s, const DimList& dims, bool keepdim) {
  const uint32_t mask = mask_of(s, dims);
  if (keepdim) return keep_shape(s, mask);
  Shape r;
  for (int d = 0; d < s.size(); ++d)
    if (!((mask >> d) & 1u)) r.push_back(s[d]);
  return r;
}

// f applied to the elements of each output position, in row-major order of the outputs.
std::vector<double> reference(const Tensor& x, const DimList& dims, const Ref& f) {
  const std::vector<double> v = values(x);
  const Shape& s = x.shape();
  const uint32_t mask = mask_of(s, dims);
  const Shape keep = keep_shape(s, mask);
  std::vector<Group> groups(static_cast<size_t>(keep.numel()));
  for (int64_t i = 0; i < s.numel(); ++i) {
    int64_t r = i, o = 0, stride = 1;
    for (int d = s.size() - 1; d >= 0; --d) {
      const int64_t k = r % s[d];
      r /= s[d];
      if (!((mask >> d) & 1u)) o += k * stride;
      stride *= keep[d];
    }
    groups[static_cast<size_t>(o)].push_back(v[static_cast<size_t>(i)]);
  }
  std::vector<double> out;
  for (const Group& g : groups) out.push_back(f(g));
  return out;
}

double ref_sum(const Group& g) {
  long double s = 0;
  for (double v : g) s += v;
  return static_cast<double>(s);
}
double ref_mean(const Group& g) { return ref_sum(g) / static_cast<double>(g.size()); }
Ref ref_var(int64_t correction, bool take_sqrt) {
  return [=](const Group& g) {
    const double m = ref_mean(g);
    long double m2 = 0;
    for (double v : g) m2 += static_cast<long double>(v - m) * (v - m);
    const double var = static_cast<double>(m2) / static_cast<double>(std::max<int64_t>(0, std::ssize(g) - correction));
    return take_sqrt ? std::sqrt(var) : var;
  };
}
double ref_prod(const Group& g) {
  long double p = 1;
  for (double v : g) p *= v;
  return static_cast<double>(p);
}
double ref_amax(const Group& g) {
  double m = -kInf;
  for (double v : g) {
    if (std::isnan(v)) return kNaN;
    m = std::max(m, v);
  }
  return m;
}
double ref_amin(const Group& g) {
  double m = kInf;
  for (double v : g) {
    if (std::isnan(v)) return kNaN;
    m = std::min(m, v);
  }
  return m;
}
double ref_logsumexp(const Group& g) {
  const double m = ref_amax(g);
  if (std::isnan(m) || std::isinf(m)) return m;
  long double s = 0;
  for (double v : g) s += std::exp(static_cast<long double>(v - m));
  return m + static_cast<double>(std::log(s));
}

struct ReduceCase {
  const char* name;
  std::function<Tensor(const Tensor&, const DimList&, bool)> op;
  Ref ref;
  double mean = 0.0, stddev = 1.0;  // of the sampled inputs (products want values near 1)
};

std::vector<ReduceCase> reduce_cases() {
  return {
      {"sum", [](const Tensor& x, const DimList& d, bool k) { return sum(x, d, k); }, ref_sum},
      {"mean", [](const Tensor& x, const DimList& d, bool k) { return mean(x, d, k); }, ref_mean},
      {"var", [](const Tensor& x, const DimList& d, bool k) { return var(x, d, 1, k); }, ref_var(1, false)},
      {"var_population", [](const Tensor& x, const DimList& d, bool k) { return var(x, d, 0, k); }, ref_var(0, false)},
      {"std", [](const Tensor& x, const DimList& d, bool k) { return subtb::std(x, d, 1, k); }, ref_var(1, true)},
      {"prod", [](const Tensor& x, const DimList& d, bool k) { return prod(x, d, k); }, ref_prod, 1.0, 0.2},
      {"amax", [](const Tensor& x, const DimList& d, bool k) { return amax(x, d, k); }, ref_amax},
      {"amin", [](const Tensor& x, const DimList& d, bool k) { return amin(x, d, k); }, ref_amin},
      {"logsumexp", [](const Tensor& x, const DimList& d, bool k) { return logsumexp(x, d, k); }, ref_logsumexp},
  };
}

const std::vector<DimList> kDimLists = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {2, 0}, {1, 2}, {-3, -2}, {0, 1, 2}};

// Checks op(x, dims, keepdim) for every dims list and both keepdims.
void expect_matches_reference(const ReduceCase& c, const Tensor& x, const std::vector<DimList>& dim_lists, double atol,
                              double rtol) {
  for (const DimList& dims : dim_lists) {
    const std::vector<double> expected = reference(x, dims, c.ref);
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE(::testing::Message() << c.name << " of " << describe(x) << " over " << dims
                                        << (keepdim ? " keepdim" : ""));
      const Tensor out = c.op(x, dims, keepdim);
      EXPECT_EQ(out.dtype(), x.dtype());
      EXPECT_EQ(out.shape(), result_shape(x.shape(), dims, keepdim));
      EXPECT_TRUE(all_close(out, expected, atol, rtol));
    }
  }
}

// ----- forward

class ReduceForward : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(ReduceForward, EveryDimsListWithAndWithoutKeepdim) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  for (const ReduceCase& c : reduce_cases())
    expect_matches_reference(c, sample({3, 4, 5}, p, 1, c.mean, c.stddev), kDimLists, tol, tol);
}

TEST_P(ReduceForward, NonContiguousInputs) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  for (const ReduceCase& c : reduce_cases()) {
    const Tensor x = sample({4, 6, 5}, p, 2, c.mean, c.stddev);
    expect_matches_reference(c, x.transpose(0, 2), kDimLists, tol, tol);
    expect_matches_reference(c, slice(x, 1, 1, 6, 2), kDimLists, tol, tol);
    expect_matches_reference(c, x.permute({1, 2, 0}).narrow(2, 1, 2), kDimLists, tol, tol);
    expect_matches_reference(c, sample({4, 1, 5}, p, 3, c.mean, c.stddev).expand({4, 3, 5}), kDimLists, tol, tol);
  }
}

TEST_P(ReduceForward, LargeInputsTakeEveryParallelPath) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  // Sums of n terms carry rounding of order n * eps relative to the sum of magnitudes.
  const double tol = std::max(tolerance(p.dtype), 1e-10);
  struct Case {
    Shape shape;
    std::vector<DimList> dims;
  };
  const std::vector<Case> cases = {
      {{1 << 17}, {{}}},               // one long row, split over threads
      {{2, 40001}, {{1}, {0}}},        // long rows; wide columns (many lane blocks)
      {{40001, 3}, {{0}, {1}}},        // few long columns, split over threads; many short rows
      {{16, 1001, 3}, {{0, 2}, {1}}},  // rows of a two-dim reduced space; columns per kept block
  };
  for (const ReduceCase& c : reduce_cases()) {
    if (std::string(c.name) == "prod") continue;  // long products under- or overflow
    uint64_t seed = 10;
    for (const Case& k : cases) expect_matches_reference(c, sample(k.shape, p, ++seed), k.dims, tol, tol);
  }
}

TEST_P(ReduceForward, ZeroDimInputsReduceToThemselves) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = full({}, 1.5, p.dtype, p.device);
  for (const DimList& dims : {DimList{}, DimList{0}, DimList{-1}}) {
    EXPECT_TRUE(all_close(sum(x, dims), {1.5}, 0));
    EXPECT_TRUE(all_close(mean(x, dims, true), {1.5}, 0));
    EXPECT_TRUE(all_close(prod(x, dims), {1.5}, 0));
    EXPECT_TRUE(all_close(amax(x, dims), {1.5}, 0));
    EXPECT_TRUE(all_close(amin(x, dims), {1.5}, 0));
    EXPECT_TRUE(all_close(logsumexp(x, dims), {1.5}, 0));
    EXPECT_TRUE(all_close(var(x, dims, 0), {0.0}, 0));
    EXPECT_TRUE(all_close(var(x, dims, 1), {kNaN}, 0));  // one element, Bessel: 0 / 0
    EXPECT_EQ(sum(x, dims).dim(), 0);
  }
  const ValuesIndices m = max(x, 0);
  EXPECT_TRUE(all_close(m.values, {1.5}, 0));
  EXPECT_TRUE(all_close(m.indices, {0.0}, 0));
  EXPECT_TRUE(all_close(argmin(x), {0.0}, 0));
  EXPECT_TRUE(all_close(cumsum(x, 0), {1.5}, 0));
  EXPECT_TRUE(all_close(logcumsumexp(x, -1), {1.5}, 0));
}

TEST_P(ReduceForward, EmptyReductionsGiveTheIdentity) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = empty({0, 3}, p.dtype, p.device);
  EXPECT_TRUE(all_close(sum(x, {0}), {0, 0, 0}, 0));
  EXPECT_TRUE(all_close(sum(x), {0.0}, 0));
  EXPECT_TRUE(all_close(prod(x, {0}), {1, 1, 1}, 0));
  EXPECT_TRUE(all_close(logsumexp(x, {0}), {-kInf, -kInf, -kInf}, 0));
  EXPECT_TRUE(all_close(mean(x), {kNaN}, 0));  // 0 / 0, as in NumPy
  EXPECT_TRUE(all_close(var(x, {0}, 0), {kNaN, kNaN, kNaN}, 0));
  EXPECT_TRUE(all_close(all(x, {0}), {1, 1, 1}, 0));
  EXPECT_TRUE(all_close(any(x), {0.0}, 0));
  // Reducing the non-empty dim leaves an empty result, which needs no identity.
  EXPECT_EQ(sum(x, {1}).shape(), Shape({0}));
  EXPECT_EQ(amax(x, {1}).shape(), Shape({0}));
  EXPECT_EQ(max(x, 1).indices.shape(), Shape({0}));
  EXPECT_EQ(argmin(x, 1, true).shape(), Shape({0, 1}));
  EXPECT_EQ(cumsum(x, 0).shape(), Shape({0, 3}));
  EXPECT_EQ(logcumsumexp(x, 1).shape(), Shape({0, 3}));
}

TEST_P(ReduceForward, SpecialValues) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = from_vector<double>({-kInf, -kInf, -kInf, 0.5, -kInf, 1.0, kInf, 2.0, 3.0, kNaN, 1.0, 2.0}, {4, 3})
                       .to(p.dtype)
                       .to(p.device);
  const double tol = tolerance(p.dtype);
  EXPECT_TRUE(all_close(logsumexp(x, {1}), {-kInf, std::log(std::exp(0.5) + std::exp(1.0)), kInf, kNaN}, tol, tol));
  EXPECT_TRUE(all_close(amax(x, {1}), {-kInf, 1.0, kInf, kNaN}, 0));
  EXPECT_TRUE(all_close(amin(x, {1}), {-kInf, -kInf, 2.0, kNaN}, 0));
  EXPECT_TRUE(all_close(sum(x, {1}), {-kInf, -kInf, kInf, kNaN}, 0));
  // NaN wins max and min, and its first position is the index.
  EXPECT_TRUE(all_close(max(x, 1).indices, {0, 2, 0, 0}, 0));
  EXPECT_TRUE(all_close(min(x, 1).indices, {0, 1, 1, 0}, 0));
  // NaN is truthy, as in PyTorch.
  EXPECT_TRUE(all_close(all(x, {1}), {1, 1, 1, 1}, 0));
}

TEST_P(ReduceForward, MaxMinAlongDimWithFirstIndexOnTies) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = from_vector<double>({1, 3, 3, 0, 2, 2, 0, 0}, {2, 4}).to(p.dtype).to(p.device);
  const ValuesIndices mx = max(x, 1);
  EXPECT_TRUE(all_close(mx.values, {3, 2}, 0));
  EXPECT_TRUE(all_close(mx.indices, {1, 0}, 0));
  EXPECT_EQ(mx.indices.dtype(), DType::i64);
  const ValuesIndices mn = min(x, -1, /*keepdim=*/true);
  EXPECT_EQ(mn.values.shape(), Shape({2, 1}));
  EXPECT_TRUE(all_close(mn.values, {0, 0}, 0));
  EXPECT_TRUE(all_close(mn.indices, {3, 2}, 0));
  EXPECT_TRUE(all_close(argmax(x, 0), {1, 0, 0, 0}, 0));
  EXPECT_TRUE(all_close(argmin(x, 0), {0, 1, 1, 0}, 0));
  EXPECT_TRUE(all_close(argmax(x), {1.0}, 0));
  EXPECT_TRUE(all_close(argmin(x), {3.0}, 0));
  EXPECT_EQ(argmax(x).dim(), 0);
}

TEST_P(ReduceForward, ArgReductionsMatchReferenceOnLargeAndStridedInputs) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  auto first_arg = [](bool is_max) {
    return [is_max](const Group& g) {
      size_t best = 0;
      for (size_t i = 1; i < g.size(); ++i)
        if (is_max ? g[i] > g[best] : g[i] < g[best]) best = i;
      return static_cast<double>(best);
    };
  };
  const std::vector<Tensor> inputs = {sample({5, 7, 3}, p, 20),   sample({5, 7, 3}, p, 21).transpose(0, 2),
                                      sample({3, 100000}, p, 22), sample({70000, 3}, p, 23),
                                      sample({1, 200000}, p, 24), slice(sample({6, 9}, p, 25), 1, 0, 9, 3)};
  for (const Tensor& x : inputs) {
    for (int64_t d = 0; d < x.dim(); ++d) {
      SCOPED_TRACE(::testing::Message() << describe(x) << " dim " << d);
      EXPECT_TRUE(all_close(argmax(x, d), reference(x, {d}, first_arg(true)), 0));
      EXPECT_TRUE(all_close(argmin(x, d), reference(x, {d}, first_arg(false)), 0));
      const ValuesIndices m = max(x, d);
      EXPECT_TRUE(all_close(m.values, reference(x, {d}, ref_amax), 0));
    }
    EXPECT_TRUE(all_close(argmax(x), reference(x.contiguous().flatten(), {0}, first_arg(true)), 0));
  }
}

INSTANTIATE_TEST_SUITE_P(DeviceDType, ReduceForward, ::testing::ValuesIn(testing::all_float_params()),
                         testing::param_name);

TEST(ReduceIntegers, SumsAndProductsWidenToI64AndExtremaKeepTheDtype) {
  const Tensor a = from_vector<int32_t>({1, -2, 3, 4, 5, -6}, {2, 3});
  const Tensor s = sum(a, {1});
  EXPECT_EQ(s.dtype(), DType::i64);
  EXPECT_TRUE(all_close(s, {2, 3}, 0));
  EXPECT_TRUE(all_close(prod(a, {0}), {4, -10, -18}, 0));
  EXPECT_EQ(amax(a).dtype(), DType::i32);
  EXPECT_TRUE(all_close(amax(a, {0}), {4, 5, 3}, 0));
  EXPECT_TRUE(all_close(amin(a), {-6.0}, 0));
  EXPECT_TRUE(all_close(argmax(a, 1), {2, 1}, 0));
  const Tensor c = cumsum(a, 1);
  EXPECT_EQ(c.dtype(), DType::i64);
  EXPECT_TRUE(all_close(c, {1, -1, 2, 4, 9, 3}, 0));
  const Tensor big = full({3}, 3e9, DType::i64);
  EXPECT_TRUE(all_close(sum(big), {9e9}, 0));  // no 32-bit overflow
}

TEST(ReduceBool, AllAnyAndCounting) {
  const Tensor b = from_vector<bool>({true, false, true, true, true, true}, {2, 3});
  EXPECT_TRUE(all_close(all(b, {1}), {0, 1}, 0));
  EXPECT_TRUE(all_close(any(b, {0}), {1, 1, 1}, 0));
  EXPECT_TRUE(all_close(all(b, {0}, true), {1, 0, 1}, 0));
  EXPECT_EQ(all(b).dtype(), DType::b8);
  EXPECT_TRUE(all_close(sum(b), {5.0}, 0));
  EXPECT_EQ(sum(b).dtype(), DType::i64);
  const Tensor f = from_vector<float>({0.f, 0.f, -0.5f, 0.f}, {2, 2});
  EXPECT_TRUE(all_close(any(f, {1}), {0, 1}, 0));
  EXPECT_TRUE(all_close(all(f.t(), {1}), {0, 0}, 0));
}

TEST(ReduceDeterminism, LargeFloatSumsAreRepeatableAndAccurate) {
  Generator gen(7);
  const Tensor x = randn({1 << 22}, DType::f32, kCPU, &gen, 0.5, 1.0);
  const float a = static_cast<float>(sum(x).item()), b = static_cast<float>(sum(x).item());
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  // Accumulated in f64, so only the final rounding to f32 remains.
  const double ref = ref_sum(values(x));
  EXPECT_NEAR(a, ref, std::abs(ref) * 1e-7);
  EXPECT_NEAR(mean(x).item(), ref / (1 << 22), std::abs(ref / (1 << 22)) * 1e-7);
}

// ----- scans

std::vector<double> reference_scan(const Tensor& x, int64_t dim, bool log_space) {
  const std::vector<double> v = values(x);
  const Shape& s = x.shape();
  std::vector<double> out(v.size());
  if (s.size() == 0) return v;
  const int d = dim < 0 ? static_cast<int>(dim + s.size()) : static_cast<int>(dim);
  int64_t inner = 1;
  for (int i = d + 1; i < s.size(); ++i) inner *= s[i];
  const int64_t n = s[d], outer = s.numel() / std::max<int64_t>(n * inner, 1);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      long double acc = 0;
      double m = -kInf;  // logcumsumexp: the running max, and acc the scaled sum
      for (int64_t k = 0; k < n; ++k) {
        const size_t i = static_cast<size_t>((o * n + k) * inner + j);
        if (!log_space) {
          acc += v[i];
          out[i] = static_cast<double>(acc);
          continue;
        }
        if (v[i] > m) {
          acc = acc * std::exp(static_cast<long double>(m - v[i])) + 1;
          m = v[i];
        } else {
          acc += m == -kInf ? 0 : std::exp(static_cast<long double>(v[i] - m));
        }
        out[i] = m == -kInf ? -kInf : m + static_cast<double>(std::log(acc));
      }
    }
  }
  return out;
}

class ScanForward : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(ScanForward, MatchesReferenceAlongEveryDim) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Tensor x = sample({3, 4, 5}, p, 30);
  const std::vector<Tensor> inputs = {x,
                                      x.transpose(0, 2),
                                      slice(x, 2, 0, 5, 2),
                                      sample({300, 200}, p, 31),
                                      sample({2, 40000}, p, 32),
                                      sample({1, 5}, p, 33).expand({4, 5})};
  for (const Tensor& in : inputs) {
    for (int64_t d = -in.dim(); d < in.dim(); ++d) {
      SCOPED_TRACE(::testing::Message() << describe(in) << " dim " << d);
      // Prefix sums of up to 40000 terms of size ~1 reach ~200 in magnitude.
      const double n = static_cast<double>(in.shape()[d < 0 ? d + in.dim() : d]);
      const Tensor c = cumsum(in, d);
      EXPECT_EQ(c.shape(), in.shape());
      EXPECT_TRUE(all_close(c, reference_scan(in, d, false), tol * std::sqrt(n), tol));
      EXPECT_TRUE(all_close(logcumsumexp(in, d), reference_scan(in, d, true), tol, tol));
    }
  }
}

TEST_P(ScanForward, LogcumsumexpIsExactAtInfinities) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const double l = std::log(std::exp(0.5) + std::exp(1.0));
  const Tensor x = from_vector<double>({-kInf, -kInf, 0.5, -kInf, 1.0,      //
                                        -kInf, -kInf, -kInf, -kInf, -kInf,  //
                                        1.0, kInf, 2.0, -kInf, kNaN},
                                       {3, 5})
                       .to(p.dtype)
                       .to(p.device);
  EXPECT_TRUE(all_close(logcumsumexp(x, 1),
                        {-kInf, -kInf, 0.5, 0.5, l, -kInf, -kInf, -kInf, -kInf, -kInf, 1.0, kInf, kInf, kInf, kNaN},
                        tol, tol));
  // The same down a column (the lanes path).
  EXPECT_TRUE(all_close(logcumsumexp(x.t().contiguous(), 0).t(), logcumsumexp(x, 1), 0));
}

INSTANTIATE_TEST_SUITE_P(DeviceDType, ScanForward, ::testing::ValuesIn(testing::all_float_params()),
                         testing::param_name);

// ----- gradients (gradcheck runs in f64 on the CPU)

TEST(ReduceGrad, EveryDifferentiableReduction) {
  for (const ReduceCase& c : reduce_cases()) {
    SCOPED_TRACE(c.name);
    const DeviceDType p{kCPU, DType::f64};
    const Tensor x = sample({3, 4}, p, 40, c.mean, c.stddev);
    for (const DimList& dims : {DimList{}, DimList{0}, DimList{1}, DimList{-1}, DimList{1, 0}}) {
      for (bool keepdim : {false, true}) {
        auto f = [&](const std::vector<Tensor>& v) { return c.op(v[0], dims, keepdim); };
        EXPECT_TRUE(gradcheck_ok(f, {x})) << "dims " << dims << " keepdim " << keepdim;
      }
    }
    // Non-contiguous: transposed, strided, and broadcast (the gradient sums back).
    auto op = c.op;
    EXPECT_TRUE(gradcheck_ok([op](const std::vector<Tensor>& v) { return op(v[0].t(), {1}, false); }, {x}));
    EXPECT_TRUE(
        gradcheck_ok([op](const std::vector<Tensor>& v) { return op(slice(v[0], 1, 0, 4, 2), {0}, true); }, {x}));
    const Tensor col = sample({3}, p, 41, c.mean, c.stddev);
    EXPECT_TRUE(gradcheck_ok(
        [op](const std::vector<Tensor>& v) {
          return op(v[0].unsqueeze(1).expand({3, 4}), {0}, false);
        },
        {col}));
    // Empty: the reduced dim has elements, the kept one has none.
    EXPECT_TRUE(
        gradcheck_ok([op](const std::vector<Tensor>& v) { return op(v[0], {1}, false); }, {zeros({0, 3}, DType::f64)}));
  }
}

TEST(ReduceGrad, ZeroDimAndEmptyReductions) {
  const Tensor s = scalar_tensor(0.7, DType::f64);
  for (const ReduceCase& c : reduce_cases()) {
    if (std::string(c.name) == "var" || std::string(c.name) == "std") continue;  // NaN with one element
    auto op = c.op;
    EXPECT_TRUE(gradcheck_ok([op](const std::vector<Tensor>& v) { return op(v[0], {}, false); }, {s})) << c.name;
  }
  // Sums and means over an empty dim: zero-element gradients of the right shape.
  Tensor e = zeros({0, 3}, DType::f64).requires_grad_();
  sum(e, {0}).backward(ones({3}, DType::f64));
  EXPECT_EQ(e.grad().shape(), Shape({0, 3}));
  Tensor e2 = zeros({0, 3}, DType::f64).requires_grad_();
  logsumexp(e2, {0}).backward(ones({3}, DType::f64));
  EXPECT_EQ(e2.grad().shape(), Shape({0, 3}));
}

TEST(ReduceGrad, ProdWithZeros) {
  // A row without zeros, with one zero, with two zeros.
  const Tensor x = f64({0.5, -1.5, 2.0, 4.0, 0.0, 3.0, 1.5, 0.7, -2.0, 0.0, 4.0, 0.0}, {3, 4});
  for (const DimList& dims : {DimList{1}, DimList{0}, DimList{}}) {
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return prod(v[0], dims); }, {x})) << dims;
  }
  Tensor leaf = x.clone().requires_grad_();
  prod(leaf, {1}).backward(ones({3}, DType::f64));
  EXPECT_TRUE(all_close(leaf.grad(), {-12.0, 4.0, -3.0, -1.5, 3.15, 0, 0, 0, 0, 0, 0, 0}, 1e-12));
}

TEST(ReduceGrad, AmaxAndAminSplitTiesEvenly) {
  Tensor x = f64({1, 3, 3, 2, 0, 5, 5, 5}, {2, 4}).requires_grad_();
  amax(x, {1}).backward(ones({2}, DType::f64));
  EXPECT_TRUE(all_close(x.grad(), {0, 0.5, 0.5, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-15));
  Tensor y = f64({2, 1, 1, 7}, {4}).requires_grad_();
  amin(y).backward();
  EXPECT_TRUE(all_close(y.grad(), {0, 0.5, 0.5, 0}, 0));
}

TEST(ReduceGrad, MaxMinAlongDimGoToTheSelectedIndex) {
  const Tensor x = sample({3, 4, 2}, {kCPU, DType::f64}, 42);
  for (int64_t d : {0, 1, -1}) {
    for (bool keepdim : {false, true}) {
      EXPECT_TRUE(gradcheck_ok([=](const std::vector<Tensor>& v) { return max(v[0], d, keepdim).values; }, {x}));
      EXPECT_TRUE(gradcheck_ok(
          [=](const std::vector<Tensor>& v) { return min(v[0].transpose(0, 2), d, keepdim).values; }, {x}));
    }
  }
  Tensor t = f64({3, 1, 3}, {3}).requires_grad_();
  max(t, 0).values.backward();
  EXPECT_TRUE(all_close(t.grad(), {1, 0, 0}, 0));
  Tensor s = scalar_tensor(2.0, DType::f64).requires_grad_();
  min(s, 0).values.backward();
  EXPECT_TRUE(all_close(s.grad(), {1.0}, 0));
}

TEST(ReduceGrad, LogsumexpAtMinusInfinity) {
  const Tensor x = f64({-kInf, 0.5, -kInf, 1.0, -kInf, -kInf, -kInf, -kInf}, {2, 4});
  // The first row has finite outputs: finite differences apply.
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return logsumexp(v[0], {1}); }, {x.narrow(0, 0, 1)}));
  Tensor leaf = x.clone().requires_grad_();
  const Tensor out = logsumexp(leaf, {1});
  EXPECT_TRUE(all_close(out, {std::log(std::exp(0.5) + std::exp(1.0)), -kInf}, 1e-15));
  out.backward(ones({2}, DType::f64));
  const double w = std::exp(0.5) / (std::exp(0.5) + std::exp(1.0));
  // Exactly 0 at -inf, and 0 (not NaN) for the all -inf row.
  EXPECT_TRUE(all_close(leaf.grad(), {0, w, 0, 1 - w, 0, 0, 0, 0}, 1e-15));
}

TEST(ScanGrad, CumsumAndLogcumsumexp) {
  const DeviceDType p{kCPU, DType::f64};
  const Tensor x = sample({3, 5}, p, 50);
  const Tensor big = sample({6, 7}, p, 51);                // > 32 outputs: random projections with both signs
  const Tensor w = f64({1.0, -2.0, 0.5, -0.3, 1.5}, {5});  // gradients of both signs
  for (int64_t d : {0, 1, -1}) {
    EXPECT_TRUE(gradcheck_ok([d](const std::vector<Tensor>& v) { return cumsum(v[0], d); }, {x}));
    EXPECT_TRUE(gradcheck_ok([d](const std::vector<Tensor>& v) { return cumsum(v[0].t(), d); }, {x}));
    EXPECT_TRUE(gradcheck_ok([d](const std::vector<Tensor>& v) { return logcumsumexp(v[0], d); }, {x}));
    EXPECT_TRUE(gradcheck_ok([d](const std::vector<Tensor>& v) { return logcumsumexp(v[0], d); }, {big}));
    EXPECT_TRUE(gradcheck_ok([d](const std::vector<Tensor>& v) { return logcumsumexp(v[0].t(), d); }, {x}));
    EXPECT_TRUE(gradcheck_ok([d, w](const std::vector<Tensor>& v) { return logcumsumexp(v[0], d) * w; }, {x}));
  }
  const Tensor s = scalar_tensor(0.3, DType::f64);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return cumsum(v[0], 0); }, {s}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return logcumsumexp(v[0], 0); }, {s}));
  EXPECT_FALSE(cumsum(from_vector<int32_t>({1, 2}), 0).requires_grad());
}

TEST(ScanGrad, LogcumsumexpWithMinusInfinityPrefixes) {
  const Tensor x = f64({-kInf, -kInf, 0.3, -kInf, 1.2, -0.4}, {6});
  const Tensor w = f64({0.7, -1.3, 2.0, -0.5}, {4});
  // Outputs past the -inf prefix are finite, so finite differences apply to them.
  EXPECT_TRUE(
      gradcheck_ok([w](const std::vector<Tensor>& v) { return logcumsumexp(v[0], 0).narrow(0, 2, 4) * w; }, {x}));
  // Including the -inf outputs: a finite gradient, exactly 0 at every -inf input.
  Tensor leaf = x.clone().requires_grad_();
  logcumsumexp(leaf, 0).backward(f64({1, 1, 0.7, -1.3, 2.0, -0.5}, {6}));
  const std::vector<double> g = values(leaf.grad());
  EXPECT_EQ(g[0], 0.0);
  EXPECT_EQ(g[1], 0.0);
  EXPECT_EQ(g[3], 0.0);
  for (double v : g) EXPECT_TRUE(std::isfinite(v));
  // An all -inf input: gradient 0, not NaN.
  Tensor all_inf = full({2, 3}, -kInf, DType::f64).requires_grad_();
  logcumsumexp(all_inf, 1).backward(ones({2, 3}, DType::f64));
  EXPECT_TRUE(all_close(all_inf.grad(), {0, 0, 0, 0, 0, 0}, 0));
}

// ----- errors

TEST(ReduceErrors, BadAndRepeatedDims) {
  const Tensor x = zeros({2, 3});
  EXPECT_THROW_MSG(sum(x, {2}), "sum", "dim 2", "[2, 3]");
  EXPECT_THROW_MSG(mean(x, {-3}), "mean", "[2, 3]");
  EXPECT_THROW_MSG(amax(x, {1, -1}), "amax", "more than once", "[2, 3]");
  EXPECT_THROW_MSG(var(x, {0, 0}), "var", "more than once", "[2, 3]");
  EXPECT_THROW_MSG(max(x, 2), "max", "[2, 3]");
  EXPECT_THROW_MSG(argmin(x, -3), "argmin", "[2, 3]");
  EXPECT_THROW_MSG(cumsum(x, 2), "cumsum", "[2, 3]");
  EXPECT_THROW_MSG(logcumsumexp(x, -5), "logcumsumexp", "[2, 3]");
  EXPECT_THROW_MSG(var(x, {}, -1), "var", "correction", "[2, 3]");
}

TEST(ReduceErrors, ReductionsWithoutIdentityRefuseEmptyDims) {
  const Tensor e = zeros({0, 3});
  EXPECT_THROW_MSG(amax(e), "amax", "empty", "[0, 3]");
  EXPECT_THROW_MSG(amin(e, {0}), "amin", "empty", "[0, 3]");
  EXPECT_THROW_MSG(max(e, 0), "max", "empty", "[0, 3]");
  EXPECT_THROW_MSG(min(e, -2, true), "min", "empty", "[0, 3]");
  EXPECT_THROW_MSG(argmax(e, 0), "argmax", "empty", "[0, 3]");
  EXPECT_THROW_MSG(argmax(e), "argmax", "empty", "[0, 3]");
  EXPECT_THROW_MSG(argmin(e), "argmin", "empty", "[0, 3]");
}

TEST(ReduceErrors, FloatingOnlyOps) {
  const Tensor i = from_vector<int64_t>({1, 2, 3});
  EXPECT_THROW_MSG(mean(i), "mean", "i64[3]");
  EXPECT_THROW_MSG(var(i), "var", "i64[3]");
  EXPECT_THROW_MSG(subtb::std(i), "std", "i64[3]");
  EXPECT_THROW_MSG(logsumexp(i), "logsumexp", "i64[3]");
  EXPECT_THROW_MSG(logcumsumexp(i, 0), "logcumsumexp", "i64[3]");
}

}  // namespace
}  // namespace subtb

// Elementwise ops: forward values against f64 references over device x dtype, gradients
// by finite differences (broadcast, non-contiguous, 0-d and empty inputs), special values,
// and the errors the front ends raise.
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include "autograd/grad_mode.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::gradcheck_ok;
using testing::tolerance;
using testing::make;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Values away from every kink (0, clamp bounds) by far more than gradcheck's step.
const std::vector<double> kAny = {-2.5, -1.0, -0.3, 0.2, 0.7, 1.5};
const std::vector<double> kPositive = {0.1, 0.5, 1.0, 2.0, 3.5, 4.5};

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  const std::vector<double>* inputs = &kAny;
  bool differentiable = true;
};

std::vector<UnaryCase> unary_cases() {
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, &kPositive},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, &kPositive},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](double x) { return std::expm1(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, &kPositive},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, &kPositive},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }},
      {"sign", [](const Tensor& x) { return sign(x); }, [](double x) { return double((x > 0) - (x < 0)); }, &kAny,
       false},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1 / x; }},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.1); }, [](double x) { return x > 0 ? x : 0.1 * x; }},
      {"gelu_erf", [](const Tensor& x) { return gelu(x); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApprox::tanh); },
       [k](double x) { return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x))); }},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }},
      {"softplus", [](const Tensor& x) { return softplus(x); }, [](double x) { return std::log1p(std::exp(x)); }},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 1.0); }, [](double x) { return std::clamp(x, -0.5, 1.0); }},
      {"clamp_lo_only", [](const Tensor& x) { return clamp(x, -0.5, kNaN); },
       [](double x) { return std::max(x, -0.5); }},
      {"clamp_hi_only", [](const Tensor& x) { return clamp(x, kNaN, 1.0); }, [](double x) { return std::min(x, 1.0); }},
      {"pow_3", [](const Tensor& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }},
      {"pow_2", [](const Tensor& x) { return pow(x, 2.0); }, [](double x) { return x * x; }},
      {"pow_half", [](const Tensor& x) { return pow(x, 0.5); }, [](double x) { return std::sqrt(x); }, &kPositive},
      {"pow_0", [](const Tensor& x) { return pow(x, 0.0); }, [](double) { return 1.0; }},
  };
}

class ElementwiseForward : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(ElementwiseForward, UnaryMatchesF64Reference) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  for (const UnaryCase& c : unary_cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = make(*c.inputs, Shape{2, 3}, p);
    const Tensor y = c.op(x);
    EXPECT_EQ(y.dtype(), p.dtype);
    EXPECT_EQ(y.device(), p.device);
    EXPECT_EQ(y.shape(), x.shape());
    // The reference sees the input as rounded to the dtype, so only the op's error counts.
    std::vector<double> expected;
    for (double v : testing::values(x)) expected.push_back(c.ref(v));
    EXPECT_TRUE(all_close(y, expected, tol, tol));
  }
}

TEST_P(ElementwiseForward, BinaryBroadcastsAndMatchesF64Reference) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Tensor a = make({0.5, 1.5, 2.0, 3.0, 0.25, 4.0}, Shape{2, 3}, p);
  const Tensor b = make({2.0, 1.5, -0.5}, Shape{3}, p);
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Tensor&)>>> ops = {
      {"add", [](const Tensor& u, const Tensor& v) { return add(u, v); }},
      {"sub", [](const Tensor& u, const Tensor& v) { return sub(u, v); }},
      {"mul", [](const Tensor& u, const Tensor& v) { return mul(u, v); }},
      {"div", [](const Tensor& u, const Tensor& v) { return div(u, v); }},
      {"pow", [](const Tensor& u, const Tensor& v) { return pow(u, v); }},
      {"maximum", [](const Tensor& u, const Tensor& v) { return maximum(u, v); }},
      {"minimum", [](const Tensor& u, const Tensor& v) { return minimum(u, v); }},
  };
  const std::vector<std::function<double(double, double)>> refs = {
      [](double u, double v) { return u + v; },          [](double u, double v) { return u - v; },
      [](double u, double v) { return u * v; },          [](double u, double v) { return u / v; },
      [](double u, double v) { return std::pow(u, v); }, [](double u, double v) { return std::max(u, v); },
      [](double u, double v) { return std::min(u, v); },
  };
  const std::vector<double> av = testing::values(a), bv = testing::values(b);
  for (size_t k = 0; k < ops.size(); ++k) {
    SCOPED_TRACE(ops[k].first);
    const Tensor y = ops[k].second(a, b);
    ASSERT_EQ(y.shape(), (Shape{2, 3}));
    std::vector<double> expected;
    for (size_t i = 0; i < av.size(); ++i) expected.push_back(refs[k](av[i], bv[i % 3]));
    EXPECT_TRUE(all_close(y, expected, tol, tol));
  }
}

TEST_P(ElementwiseForward, WhereSelectsWithBroadcasting) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor cond = from_vector<bool>({true, false, true}, Shape{3}).to(p.device);
  const Tensor a = make({1, 2, 3, 4, 5, 6}, Shape{2, 3}, p);
  const Tensor b = make({-1, -2}, Shape{2, 1}, p);
  EXPECT_TRUE(all_close(where(cond, a, b), {1, -1, 3, 4, -2, 6}, 0));
  EXPECT_TRUE(all_close(where(cond, a, 0.5), {1, 0.5, 3, 4, 0.5, 6}, 0));
  EXPECT_TRUE(all_close(where(cond, 0.5, b), {0.5, -1, 0.5, 0.5, -2, 0.5}, 0));
  EXPECT_EQ(where(cond, a, b).dtype(), p.dtype);
}

TEST_P(ElementwiseForward, NonContiguousAndLargeInputsMatchContiguous) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  // Large enough to take the threaded path of the loop engine, in both layouts.
  const int64_t n = 300, m = 257;
  const Tensor x = linspace(-4, 4, n * m, p.dtype, p.device).reshape({n, m});
  const Tensor xt = x.t();  // [m, n], strided
  ASSERT_FALSE(xt.is_contiguous());
  const Tensor y = silu(xt), y_ref = silu(xt.contiguous());
  EXPECT_TRUE(all_close(y, y_ref, 0));
  const Tensor z = add(xt, x.select(0, 0).unsqueeze(1));  // strided + broadcast
  std::vector<double> expected(static_cast<size_t>(n * m));
  const std::vector<double> xv = testing::values(x);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) expected[static_cast<size_t>(i * n + j)] = xv[j * m + i] + xv[i];
  EXPECT_TRUE(all_close(z, expected, tolerance(p.dtype), tolerance(p.dtype)));
}

TEST_P(ElementwiseForward, EmptyAndZeroDim) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor e = zeros(Shape{0, 3}, p.dtype, p.device);
  EXPECT_EQ(exp(e).shape(), (Shape{0, 3}));
  EXPECT_EQ(add(e, zeros(Shape{3}, p.dtype, p.device)).shape(), (Shape{0, 3}));
  EXPECT_EQ(where(isnan(e), e, 1.0).shape(), (Shape{0, 3}));
  const Tensor s = scalar_tensor(0.5, p.dtype, p.device);
  EXPECT_EQ(sigmoid(s).dim(), 0);
  EXPECT_NEAR(sigmoid(s).item(), sigmoid_ref(0.5), tolerance(p.dtype));
  EXPECT_TRUE(all_close(mul(s, make({2, 4}, Shape{2}, p)), {1, 2}, 0));
}

TEST_P(ElementwiseForward, SpecialValues) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = make({-kInf, kInf, kNaN, 0.0}, Shape{4}, p);
  EXPECT_TRUE(all_close(exp(x), {0, kInf, kNaN, 1}, 0));
  EXPECT_TRUE(all_close(log(x), {kNaN, kInf, kNaN, -kInf}, 0));  // log(0) = -inf exactly
  EXPECT_TRUE(all_close(log1p(make({-1.0}, Shape{1}, p)), {-kInf}, 0));
  EXPECT_TRUE(all_close(tanh(x), {-1, 1, kNaN, 0}, 0));
  EXPECT_TRUE(all_close(sigmoid(x), {0, 1, kNaN, 0.5}, 0));
  EXPECT_TRUE(all_close(softplus(x), {0, kInf, kNaN, std::log(2.0)}, tolerance(p.dtype)));
  EXPECT_TRUE(all_close(relu(x), {0, kInf, kNaN, 0}, 0));
  EXPECT_TRUE(all_close(leaky_relu(x, 0.25), {-kInf, kInf, kNaN, 0}, 0));
  EXPECT_TRUE(all_close(sqrt(make({-1.0, 0.0}, Shape{2}, p)), {kNaN, 0}, 0));
  EXPECT_TRUE(all_close(rsqrt(make({0.0}, Shape{1}, p)), {kInf}, 0));
  EXPECT_TRUE(all_close(reciprocal(make({0.0, -0.0}, Shape{2}, p)), {kInf, -kInf}, 0));
  EXPECT_TRUE(all_close(sign(x), {-1, 1, kNaN, 0}, 0));
  EXPECT_TRUE(all_close(abs(x), {kInf, kInf, kNaN, 0}, 0));
  // NaN bounds are no bounds; a NaN input stays NaN.
  EXPECT_TRUE(all_close(clamp(x, -1.0, kNaN), {-1, kInf, kNaN, 0}, 0));
  EXPECT_TRUE(all_close(clamp(x, kNaN, kNaN), {-kInf, kInf, kNaN, 0}, 0));
  // maximum / minimum propagate NaN from either side.
  const Tensor y = make({0.0, 0.0, 1.0, kNaN}, Shape{4}, p);
  EXPECT_TRUE(all_close(maximum(x, y), {0, kInf, kNaN, kNaN}, 0));
  EXPECT_TRUE(all_close(minimum(x, y), {-kInf, 0, kNaN, kNaN}, 0));
  EXPECT_EQ(isfinite(x).to_vector<bool>(), (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(isinf(x).to_vector<bool>(), (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(isnan(x).to_vector<bool>(), (std::vector<bool>{false, false, true, false}));
}

TEST_P(ElementwiseForward, SaturatingActivationsStayFinite) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = make({-100.0, 100.0}, Shape{2}, p);
  // softplus(100) = 100 (no overflow of exp(100)); softplus(-100) = e^-100, tiny but >= 0.
  const std::vector<double> sp = testing::values(softplus(x));
  EXPECT_GE(sp[0], 0.0);
  EXPECT_LE(sp[0], 1e-40);
  EXPECT_EQ(sp[1], 100.0);
  const std::vector<double> sg = testing::values(sigmoid(x));
  EXPECT_GE(sg[0], 0.0);
  EXPECT_LE(sg[0], 1e-40);
  EXPECT_EQ(sg[1], 1.0);
  EXPECT_TRUE(all_close(silu(x), {-100 * std::exp(-100.0), 100}, 1e-38));
  EXPECT_TRUE(all_close(gelu(x), {0, 100}, 0));
  EXPECT_TRUE(all_close(gelu(x, GeluApprox::tanh), {0, 100}, 0));
  // The gradients are finite too: ~0 and 1.
  if (p.dtype == DType::f64) {
    for (auto f : {softplus, sigmoid, silu}) {
      Tensor leaf = from_vector<double>({-100.0, 100.0}).requires_grad_();
      sum(f(leaf)).backward();
      const std::vector<double> g = testing::values(leaf.grad());
      EXPECT_TRUE(std::isfinite(g[0]) && std::isfinite(g[1]));
      EXPECT_NEAR(g[0], 0.0, 1e-40);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DeviceDType, ElementwiseForward, ::testing::ValuesIn(testing::all_float_params()),
                         testing::param_name);

// ----- integer and bool dtypes

TEST(ElementwiseIntegers, NumericOpsAndComparisons) {
  for (DType dt : {DType::i32, DType::i64}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor a = from_vector<int64_t>({-3, 0, 5, 7}).to(dt);
    const Tensor b = from_vector<int64_t>({2, 0, -5, 7}).to(dt);
    EXPECT_TRUE(all_close(neg(a), {3, 0, -5, -7}, 0));
    EXPECT_TRUE(all_close(abs(a), {3, 0, 5, 7}, 0));
    EXPECT_TRUE(all_close(sign(a), {-1, 0, 1, 1}, 0));
    EXPECT_TRUE(all_close(square(a), {9, 0, 25, 49}, 0));
    EXPECT_TRUE(all_close(maximum(a, b), {2, 0, 5, 7}, 0));
    EXPECT_TRUE(all_close(minimum(a, b), {-3, 0, -5, 7}, 0));
    EXPECT_TRUE(all_close(div(a, 2.0), {-1, 0, 2, 3}, 0));  // truncates like C++
    EXPECT_TRUE(all_close(where(gt(a, b), a, b), {2, 0, 5, 7}, 0));
    EXPECT_EQ(le(a, b).to_vector<bool>(), (std::vector<bool>{true, true, false, true}));
    EXPECT_EQ(isfinite(a).to_vector<bool>(), (std::vector<bool>(4, true)));
    EXPECT_EQ(isnan(a).to_vector<bool>(), (std::vector<bool>(4, false)));
    EXPECT_EQ(neg(a).dtype(), dt);
    EXPECT_THROW_MSG(div(a, b), "div", "division by zero");
  }
}

TEST(ElementwiseBool, LogicalOpsBroadcast) {
  const Tensor a = from_vector<bool>({true, true, false, false}, Shape{2, 2});
  const Tensor b = from_vector<bool>({true, false}, Shape{2});
  EXPECT_EQ(logical_and(a, b).to_vector<bool>(), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(logical_or(a, b).to_vector<bool>(), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(logical_xor(a, b).to_vector<bool>(), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(logical_not(a).to_vector<bool>(), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ((a && !b).to_vector<bool>(), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(where(b, a, logical_not(a)).to_vector<bool>(), (std::vector<bool>{true, false, false, true}));
}

// ----- gradients (f64 on the CPU, against central differences)

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

TEST(ElementwiseGrad, UnaryOpsOnContiguousNonContiguousZeroDimAndEmpty) {
  for (const UnaryCase& c : unary_cases()) {
    if (!c.differentiable) continue;
    SCOPED_TRACE(c.name);
    const auto op = c.op;
    const Tensor x = from_vector<double>(*c.inputs, Shape{3, 2});
    EXPECT_TRUE(gradcheck_ok([op](const std::vector<Tensor>& v) { return op(v[0]); }, {x}));
    // Transposed, sliced and expanded views feed the kernels strided and stride-0 inputs.
    EXPECT_TRUE(gradcheck_ok([op](const std::vector<Tensor>& v) { return op(v[0].t()); }, {x}));
    EXPECT_TRUE(gradcheck_ok([op](const std::vector<Tensor>& v) { return op(slice(v[0], 0, 0, 3, 2)); }, {x}));
    EXPECT_TRUE(
        gradcheck_ok([op](const std::vector<Tensor>& v) { return op(v[0].unsqueeze(0).expand({2, 3, 2})); }, {x}));
    EXPECT_TRUE(gradcheck_ok([op](const std::vector<Tensor>& v) { return op(v[0]); },
                             {scalar_tensor((*c.inputs)[4], DType::f64)}));
    // Empty: backward runs and returns an empty gradient.
    Tensor e = zeros(Shape{0, 2}, DType::f64).requires_grad_();
    sum(op(e)).backward();
    ASSERT_TRUE(e.grad().defined());
    EXPECT_EQ(e.grad().shape(), (Shape{0, 2}));
  }
}

TEST(ElementwiseGrad, BinaryOpsWithBroadcasting) {
  const std::vector<std::pair<const char*, Fn>> ops = {
      {"add", [](const std::vector<Tensor>& v) { return add(v[0], v[1]); }},
      {"sub", [](const std::vector<Tensor>& v) { return sub(v[0], v[1]); }},
      {"mul", [](const std::vector<Tensor>& v) { return mul(v[0], v[1]); }},
      {"div", [](const std::vector<Tensor>& v) { return div(v[0], v[1]); }},
      {"pow", [](const std::vector<Tensor>& v) { return pow(v[0], v[1]); }},
      {"maximum", [](const std::vector<Tensor>& v) { return maximum(v[0], v[1]); }},
      {"minimum", [](const std::vector<Tensor>& v) { return minimum(v[0], v[1]); }},
  };
  // Positive a (for pow); one equal pair (a = b = 1.5) checks the even split of max/min ties,
  // which is also what the central difference gives.
  const Tensor a = from_vector<double>({0.5, 1.5, 2.0, 3.0, 0.25, 4.0}, Shape{2, 3});
  const Tensor b = from_vector<double>({2.0, 1.5, 0.75}, Shape{3});
  const Tensor col = from_vector<double>({0.7, 1.3}, Shape{2, 1});
  const Tensor s = scalar_tensor(1.25, DType::f64);
  for (const auto& [name, f] : ops) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(gradcheck_ok(f, {a, b}));
    EXPECT_TRUE(gradcheck_ok(f, {b, a}));
    EXPECT_TRUE(gradcheck_ok(f, {col, b}));  // [2, 1] with [3]: both sides broadcast
    EXPECT_TRUE(gradcheck_ok(f, {a, s}));
    EXPECT_TRUE(gradcheck_ok(f, {s, s}));
    EXPECT_TRUE(gradcheck_ok([f](const std::vector<Tensor>& v) { return f({v[0].t(), v[1].t()}); },
                             {a.reshape({3, 2}), col.reshape({1, 2})}));
  }
}

TEST(ElementwiseGrad, MaximumTiesSplitEvenly) {
  Tensor a = from_vector<double>({1.0, 2.0, 3.0}).requires_grad_();
  Tensor b = from_vector<double>({1.0, 5.0, 0.0}).requires_grad_();
  sum(maximum(a, b)).backward();
  EXPECT_TRUE(all_close(a.grad(), {0.5, 0, 1}, 0));
  EXPECT_TRUE(all_close(b.grad(), {0.5, 1, 0}, 0));
}

TEST(ElementwiseGrad, PowAtZeroBase) {
  // d/da 0^2 = 0, d/db 0^b = 0 for b >= 0 (not 0 * log 0 = NaN), and x^0 has gradient 0.
  Tensor a = from_vector<double>({0.0, 0.0}).requires_grad_();
  Tensor b = from_vector<double>({2.0, 0.0}).requires_grad_();
  sum(pow(a, b)).backward();
  EXPECT_TRUE(all_close(a.grad(), {0, 0}, 0));
  EXPECT_TRUE(all_close(b.grad(), {0, 0}, 0));
  Tensor x = from_vector<double>({0.0}).requires_grad_();
  sum(pow(x, 0.0)).backward();
  EXPECT_TRUE(all_close(x.grad(), std::vector<double>{0.0}, 0));
}

TEST(ElementwiseGrad, SubgradientsAtKinks) {
  Tensor x = from_vector<double>({0.0, 0.0, 0.0}).requires_grad_();
  sum(relu(x) + abs(x) + leaky_relu(x, 0.1)).backward();
  EXPECT_TRUE(all_close(x.grad(), {0.1, 0.1, 0.1}, 1e-15));  // relu'(0) = abs'(0) = 0
  // clamp passes the gradient on its closed interval [lo, hi].
  Tensor y = from_vector<double>({-2.0, -1.0, 0.0, 1.0, 2.0}).requires_grad_();
  sum(clamp(y, -1.0, 1.0)).backward();
  EXPECT_TRUE(all_close(y.grad(), {0, 1, 1, 1, 0}, 0));
}

TEST(ElementwiseGrad, Where) {
  const Tensor cond = from_vector<bool>({true, false, true}, Shape{3});
  const Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const Tensor b = from_vector<double>({-1, -2}, Shape{2, 1});
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return where(v[0], v[1], v[2]); }, {cond, a, b}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return where(v[0], v[1], 0.5); }, {cond, a}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return where(v[0], 0.5, v[1]); }, {cond, b}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return where(v[0], v[1].t(), v[2]); },
                           {cond, a.reshape({3, 2}), b}));
}

TEST(ElementwiseGrad, ActivationsAcrossTheirRange) {
  // Far into the tails, where the fused gradient kernels must stay accurate.
  const Tensor x = from_vector<double>({-30.0, -8.0, -3.0, -1e-3, 1e-3, 3.0, 8.0, 30.0});
  for (auto f : {silu, sigmoid, tanh, softplus}) {
    EXPECT_TRUE(gradcheck_ok([f](const std::vector<Tensor>& v) { return f(v[0]); }, {x}));
  }
  for (GeluApprox approx : {GeluApprox::none, GeluApprox::tanh}) {
    EXPECT_TRUE(gradcheck_ok([approx](const std::vector<Tensor>& v) { return gelu(v[0], approx); }, {x}));
  }
}

TEST(ElementwiseGrad, InPlaceModificationOfSavedTensorsThrows) {
  // exp saves its output ...
  Tensor x = from_vector<double>({0.5, 1.0}).requires_grad_();
  Tensor y = exp(x);
  {
    NoGradGuard no_grad;
    y.fill_(0.0);
  }
  EXPECT_THROW_MSG(sum(y).backward(), "exp", "modified by an in-place operation");
  // ... log its input.
  Tensor u = from_vector<double>({0.5, 1.0}).requires_grad_();
  Tensor v = log(u);
  u.detach().fill_(2.0);
  EXPECT_THROW_MSG(sum(v).backward(), "log", "modified by an in-place operation");
}

TEST(ElementwiseGrad, PiecewiseConstantOpsRecordNothing) {
  Tensor x = from_vector<double>({-1.0, 2.0}).requires_grad_();
  EXPECT_FALSE(sign(x).requires_grad());
  EXPECT_FALSE(isfinite(x).requires_grad());
  EXPECT_FALSE(gt(x, 0.0).requires_grad());
  EXPECT_TRUE(where(gt(x, 0.0), x, 0.0).requires_grad());
}

// ----- errors

TEST(ElementwiseErrors, DtypeMismatchNamesBothDtypes) {
  const Tensor a = zeros(Shape{3}, DType::f32), b = zeros(Shape{3}, DType::f64);
  EXPECT_THROW_MSG(add(a, b), "add", "f32[3]", "f64[3]");
  EXPECT_THROW_MSG(maximum(a, b), "maximum", "f32[3]", "f64[3]");
  EXPECT_THROW_MSG(pow(a, b), "pow", "f32[3]", "f64[3]");
  EXPECT_THROW_MSG(where(gt(a, 0.0), a, b), "where", "f32[3]", "f64[3]");
}

TEST(ElementwiseErrors, BroadcastFailureNamesBothShapes) {
  const Tensor a = zeros(Shape{2, 3}), b = zeros(Shape{4});
  EXPECT_THROW_MSG(mul(a, b), "mul", "[2, 3]", "[4]");
  EXPECT_THROW_MSG(minimum(a, b), "minimum", "[2, 3]", "[4]");
  EXPECT_THROW_MSG(where(zeros(Shape{2, 3}, DType::b8), a, b), "where", "[2, 3]", "[4]");
}

TEST(ElementwiseErrors, DeviceMismatch) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  const Tensor a = zeros(Shape{3}), b = zeros(Shape{3}, DType::f32, cuda_device(0));
  EXPECT_THROW_MSG(add(a, b), "add", "cpu", "cuda");
  EXPECT_THROW_MSG(where(gt(a, 0.0), a, b), "where", "cpu", "cuda");
}

TEST(ElementwiseErrors, DomainsAreEnforced) {
  const Tensor flags = zeros(Shape{2}, DType::b8), ints = zeros(Shape{2}, DType::i32), f = zeros(Shape{2});
  // Math on bools, and floating math on integers.
  EXPECT_THROW_MSG(exp(flags), "exp", "bool");
  EXPECT_THROW_MSG(neg(flags), "neg", "bool");
  EXPECT_THROW_MSG(add(flags, flags), "add", "bool");
  EXPECT_THROW_MSG(sigmoid(ints), "sigmoid", "i32");
  EXPECT_THROW_MSG(pow(ints, 2.0), "pow", "i32");
  EXPECT_THROW_MSG(clamp(ints, 0.0, 1.0), "clamp", "i32");
  // Logic on anything but bools.
  EXPECT_THROW_MSG(logical_and(f, f), "logical_and", "f32");
  EXPECT_THROW_MSG(logical_not(ints), "logical_not", "i32");
  EXPECT_THROW_MSG(where(f, f, f), "where", "cond", "f32");
}

}  // namespace
}  // namespace subtb

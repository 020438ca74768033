// softmax / log_softmax: forward and backward against f64 references computed here with
// plain loops (over device x dtype, along every dim, rows longer than the kernel's
// chunk), finite-difference gradients, exact -inf handling and argument errors.
#include <cmath>
#include <limits>

#include "autograd/engine.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::gradcheck_ok;
using testing::tolerance;
using testing::values;
using testing::make;
using testing::random_input;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The rows along `dim` of a row-major `shape`: calls f(indices of the row's elements).
template <class F>
void for_each_row(const Shape& shape, int dim, F f) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  for (int d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t n = shape[dim];
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      std::vector<size_t> idx;
      for (int64_t j = 0; j < n; ++j) idx.push_back(static_cast<size_t>((o * n + j) * inner + i));
      f(idx);
    }
  }
}

// f64 (log-)softmax with the documented conventions: an all -inf row gives 0 / -inf.
std::vector<double> softmax_ref(const std::vector<double>& x, const Shape& shape, int dim, bool log) {
  std::vector<double> y(x.size());
  for_each_row(shape, dim, [&](const std::vector<size_t>& idx) {
    double m = -kInf;
    for (size_t i : idx) m = std::max(m, x[i]);
    if (m == -kInf) {
      for (size_t i : idx) y[i] = log ? -kInf : 0.0;
      return;
    }
    double s = 0;
    for (size_t i : idx) s += std::exp(x[i] - m);
    for (size_t i : idx) y[i] = log ? x[i] - m - std::log(s) : std::exp(x[i] - m) / s;
  });
  return y;
}

// f64 vjp from the forward output y and upstream gradient g.
std::vector<double> softmax_grad_ref(const std::vector<double>& y, const std::vector<double>& g, const Shape& shape,
                                     int dim, bool log) {
  std::vector<double> gx(y.size());
  for_each_row(shape, dim, [&](const std::vector<size_t>& idx) {
    double s = 0;
    for (size_t i : idx) s += log ? g[i] : g[i] * y[i];
    for (size_t i : idx) gx[i] = log ? g[i] - std::exp(y[i]) * s : y[i] * (g[i] - s);
  });
  return gx;
}

class Softmax : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(Softmax, ForwardAndBackwardMatchF64AlongEveryDim) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Shape shape{3, 4, 5};
  const Tensor x = random_input(shape, p, 1);
  const Tensor g = random_input(shape, p, 2, 1.0);
  for (bool log : {false, true}) {
    for (int dim = 0; dim < 3; ++dim) {
      SCOPED_TRACE(::testing::Message() << (log ? "log_softmax" : "softmax") << " dim " << dim);
      Tensor xr = x.detach().requires_grad_();
      const Tensor y = log ? log_softmax(xr, dim) : softmax(xr, dim);
      const std::vector<double> y_ref = softmax_ref(values(x), shape, dim, log);
      EXPECT_TRUE(all_close(y, y_ref, tol, tol));
      const Tensor gx = autograd::grad({y}, {g}, {xr})[0];
      // The kernel's gradient is judged from its own (rounded) forward output.
      EXPECT_TRUE(all_close(gx, softmax_grad_ref(values(y), values(g), shape, dim, log), 4 * tol, 4 * tol));
    }
  }
}

// Rows longer than one chunk of the online pass, with the max in the first, middle or
// last chunk (rising rows rescale the running sum at every chunk) or after a chunk that
// is all -inf, and enough rows to run on several threads.
TEST_P(Softmax, LongRowsAndManyRows) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const int64_t n = 5000;
  std::vector<double> v;
  for (int64_t j = 0; j < n; ++j) v.push_back(0.004 * static_cast<double>(j));           // rising
  for (int64_t j = 0; j < n; ++j) v.push_back(-0.004 * static_cast<double>(j));          // falling
  for (int64_t j = 0; j < n; ++j) v.push_back(j == n / 2 ? 30.0 : std::sin(0.01 * j));   // peak mid-row
  for (int64_t j = 0; j < n; ++j) v.push_back(j < n / 2 ? -kInf : -1000.0 - 0.001 * j);  // masked first half
  const Shape shape{4, n};
  const Tensor x = make(v, shape, p);
  for (bool log : {false, true}) {
    const Tensor y = log ? log_softmax(x) : softmax(x);
    EXPECT_TRUE(all_close(y, softmax_ref(values(x), shape, 1, log), tol, tol)) << (log ? "log" : "") << "softmax";
  }
  const Shape many{64, 1000};
  const Tensor big = random_input(many, p, 3);
  EXPECT_TRUE(all_close(softmax(big), softmax_ref(values(big), many, 1, false), tol, tol));
  EXPECT_TRUE(all_close(log_softmax(big), softmax_ref(values(big), many, 1, true), tol, tol));
}

TEST_P(Softmax, NonContiguousInputs) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Tensor base = random_input({6, 4}, p, 4);
  const Tensor xt = transpose(base, 0, 1);  // [4, 6], rows strided
  const Shape shape{4, 6};
  const std::vector<double> xv = values(xt);
  EXPECT_TRUE(all_close(softmax(xt, 1), softmax_ref(xv, shape, 1, false), tol, tol));
  EXPECT_TRUE(all_close(log_softmax(xt, 0), softmax_ref(xv, shape, 0, true), tol, tol));
  const Tensor sliced = slice(base, 1, 0, 4, 2);  // [6, 2], every other column
  EXPECT_TRUE(all_close(softmax(sliced), softmax_ref(values(sliced), {6, 2}, 1, false), tol, tol));
  const Tensor expanded = expand(random_input({1, 5}, p, 5), {3, 5});  // stride-0 rows
  EXPECT_TRUE(all_close(log_softmax(expanded), softmax_ref(values(expanded), {3, 5}, 1, true), tol, tol));
}

TEST_P(Softmax, ZeroDimAndEmpty) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor s = make({3.5}, Shape{}, p);
  EXPECT_TRUE(all_close(softmax(s), {1.0}, 0));
  EXPECT_TRUE(all_close(log_softmax(s), {0.0}, 0));
  EXPECT_EQ(softmax(s).shape(), Shape{});
  for (const Shape& shape : {Shape{0, 4}, Shape{3, 0}}) {
    const Tensor e = zeros(shape, p.dtype, p.device);
    EXPECT_EQ(softmax(e).shape(), shape);
    EXPECT_EQ(log_softmax(e, 0).shape(), shape);
  }
}

// A -inf entry has probability exactly 0 (log-probability -inf) and takes no softmax
// gradient; a row that is all -inf gives 0 / -inf everywhere and passes no gradient.
TEST_P(Softmax, NegativeInfinityIsExact) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Tensor x = make({1.0, -kInf, 2.0, -kInf, -kInf, -kInf, -kInf, 0.5, -kInf}, {3, 3}, p);
  const double e = std::exp(-1.0);
  EXPECT_TRUE(all_close(softmax(x), {e / (1 + e), 0, 1 / (1 + e), 0, 0, 0, 0, 1, 0}, tol, tol));
  const double l = std::log1p(e);
  EXPECT_TRUE(all_close(log_softmax(x), {-1 - l, -kInf, -l, -kInf, -kInf, -kInf, -kInf, 0, -kInf}, tol, tol));

  const Tensor g = make({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, p);
  Tensor xr = x.detach().requires_grad_();
  const std::vector<double> gs = values(autograd::grad({softmax(xr)}, {g}, {xr})[0]);
  EXPECT_EQ(gs[1], 0.0);
  EXPECT_EQ(gs[3], 0.0);
  EXPECT_EQ(gs[4], 0.0);
  EXPECT_EQ(gs[5], 0.0);
  EXPECT_EQ(gs[6], 0.0);
  EXPECT_EQ(gs[7], 0.0);  // a one-hot output has zero gradient
  // log_softmax: g - p * sum(g); a -inf entry (p = 0) passes g through unchanged.
  const std::vector<double> gl = values(autograd::grad({log_softmax(xr)}, {g}, {xr})[0]);
  EXPECT_NEAR(gl[0], 1 - 6 * e / (1 + e), 4 * tol);
  EXPECT_EQ(gl[1], 2.0);
  EXPECT_NEAR(gl[2], 3 - 6 / (1 + e), 4 * tol);
  for (size_t i : {3, 4, 5}) EXPECT_EQ(gl[i], 0.0) << i;
}

TEST_P(Softmax, NaNPropagatesToItsRow) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = make({0.0, kNaN, 1.0, 0.0, 0.0, 0.0}, {2, 3}, p);
  EXPECT_TRUE(all_close(softmax(x), {kNaN, kNaN, kNaN, 1.0 / 3, 1.0 / 3, 1.0 / 3}, tolerance(p.dtype)));
  EXPECT_TRUE(all_close(log_softmax(x), {kNaN, kNaN, kNaN, -std::log(3.0), -std::log(3.0), -std::log(3.0)},
                        tolerance(p.dtype)));
}

INSTANTIATE_TEST_SUITE_P(All, Softmax, ::testing::ValuesIn(testing::all_float_params()), testing::param_name);

TEST(SoftmaxGrad, FiniteDifferences) {
  const DeviceDType p{kCPU, DType::f64};
  const Tensor x3 = random_input({2, 3, 4}, p, 6);
  for (bool log : {false, true}) {
    auto op = [log](const Tensor& x, int64_t dim) { return log ? log_softmax(x, dim) : softmax(x, dim); };
    SCOPED_TRACE(log ? "log_softmax" : "softmax");
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return op(v[0], -1); }, {x3}));
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return op(v[0], 0); }, {x3}));
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return op(v[0], 1); }, {x3}));
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return op(transpose(v[0], 0, 2), -1); }, {x3}));
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return op(v[0], 0); }, {random_input({}, p, 7)}));
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return op(v[0], -1); }, {zeros({0, 3}, DType::f64)}));
  }
  // (log_softmax's -inf outputs have no finite differences; its masked gradient is
  // checked in NegativeInfinityIsExact.)
  const Tensor masked = make({0.3, -kInf, 1.2, -0.4}, {2, 2}, p);
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return softmax(v[0], 1); }, {masked}));
}

TEST(SoftmaxErrors, NameTheOpAndTheInput) {
  const Tensor i = zeros({2, 3}, DType::i64);
  EXPECT_THROW_MSG(softmax(i), "softmax", "i64[2, 3]");
  EXPECT_THROW_MSG(log_softmax(i), "log_softmax", "i64[2, 3]");
  EXPECT_THROW_MSG(softmax(zeros({2, 3}), 2), "softmax", "dim 2", "2 dimensions");
  EXPECT_THROW_MSG(log_softmax(zeros({2, 3}), -3), "log_softmax", "dim -3");
}

}  // namespace
}  // namespace subtb

// cross_entropy and nll_loss: losses and gradients against f64 references computed here
// with plain loops (over device x dtype, every reduction, ignore_index, label smoothing,
// rows longer than the kernel's chunk), finite-difference gradients, -inf logits, the
// all-ignored mean, and argument errors.
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

Tensor targets(const std::vector<int64_t>& t, Device device = kCPU) { return from_vector<int64_t>(t).to(device); }

// Per-row losses and the logits' gradient (for an upstream gradient of 1 on every row's
// loss) of softmax cross-entropy, in f64.
struct CrossEntropyRef {
  std::vector<double> loss;  // 0 on ignored rows
  std::vector<double> grad;  // softmax - q, 0 on ignored rows
  int64_t count = 0;         // non-ignored rows
};

CrossEntropyRef cross_entropy_ref(const std::vector<double>& x, int64_t rows, int64_t classes,
                                  const std::vector<int64_t>& target, int64_t ignore_index, double smoothing) {
  CrossEntropyRef r;
  r.loss.assign(static_cast<size_t>(rows), 0.0);
  r.grad.assign(x.size(), 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t t = target[static_cast<size_t>(i)];
    if (t == ignore_index) continue;
    ++r.count;
    const double* row = x.data() + i * classes;
    double m = -kInf, mean = 0;
    for (int64_t c = 0; c < classes; ++c) {
      m = std::max(m, row[c]);
      mean += row[c] / static_cast<double>(classes);
    }
    double s = 0;
    for (int64_t c = 0; c < classes; ++c) s += std::exp(row[c] - m);
    const double lse = m + std::log(s);
    r.loss[static_cast<size_t>(i)] = (1 - smoothing) * (lse - row[t]) + smoothing * (lse - mean);
    for (int64_t c = 0; c < classes; ++c) {
      const double q = (c == t ? 1 - smoothing : 0.0) + smoothing / static_cast<double>(classes);
      r.grad[static_cast<size_t>(i * classes + c)] = std::exp(row[c] - lse) - q;
    }
  }
  return r;
}

double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

std::vector<double> scaled(std::vector<double> v, double k) {
  for (double& x : v) x *= k;
  return v;
}

class Loss : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(Loss, CrossEntropyMatchesF64ForEveryOption) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const int64_t rows = 6, classes = 5;
  const Tensor x = random_input({rows, classes}, p, 1);
  for (double smoothing : {0.0, 0.1}) {
    for (int64_t ignore : {int64_t{-100}, int64_t{7}}) {
      const std::vector<int64_t> tv = {0, 4, ignore, 2, 3, 1};
      const CrossEntropyRef ref = cross_entropy_ref(values(x), rows, classes, tv, ignore, smoothing);
      for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean}) {
        SCOPED_TRACE(::testing::Message()
                     << "smoothing " << smoothing << " ignore " << ignore << " reduction " << static_cast<int>(red));
        Tensor xr = x.detach().requires_grad_();
        const Tensor loss = cross_entropy(xr, targets(tv, p.device), {ignore, smoothing, red});
        const double k = red == Reduction::mean ? 1.0 / static_cast<double>(ref.count) : 1.0;
        if (red == Reduction::none) {
          EXPECT_EQ(loss.shape(), Shape{rows});
          EXPECT_TRUE(all_close(loss, ref.loss, tol, tol));
        } else {
          EXPECT_EQ(loss.shape(), Shape{});
          EXPECT_TRUE(all_close(loss, {k * sum_of(ref.loss)}, tol, tol));
        }
        const Tensor seed = red == Reduction::none ? ones({rows}, p.dtype, p.device) : ones({}, p.dtype, p.device);
        const Tensor gx = autograd::grad({loss}, {seed}, {xr})[0];
        EXPECT_TRUE(all_close(gx, scaled(ref.grad, k), tol, tol));
      }
    }
  }
}

TEST_P(Loss, CrossEntropyLongRowsAndManyRows) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  for (const Shape& shape : {Shape{3, 5000}, Shape{128, 300}}) {
    const int64_t rows = shape[0], classes = shape[1];
    std::vector<double> v = values(random_input(shape, p, 2));
    for (int64_t c = 0; c < classes; ++c) v[static_cast<size_t>(c)] += 0.002 * static_cast<double>(c);  // rising
    const Tensor x = make(v, shape, p);
    std::vector<int64_t> t;
    for (int64_t i = 0; i < rows; ++i) t.push_back((i * 37) % classes);
    const CrossEntropyRef ref = cross_entropy_ref(values(x), rows, classes, t, -100, 0.05);
    Tensor xr = x.detach().requires_grad_();
    const Tensor loss = cross_entropy(xr, targets(t, p.device), {-100, 0.05, Reduction::mean});
    EXPECT_TRUE(all_close(loss, {sum_of(ref.loss) / static_cast<double>(rows)}, tol, tol));
    loss.backward();
    EXPECT_TRUE(all_close(xr.grad(), scaled(ref.grad, 1.0 / static_cast<double>(rows)), tol, tol));
  }
}

TEST_P(Loss, CrossEntropyOneRowAndEmptyBatch) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Tensor x = make({0.5, -1.0, 2.0}, {3}, p);
  const Tensor t = from_vector<int64_t>({1}, Shape{}).to(p.device);
  const CrossEntropyRef ref = cross_entropy_ref(values(x), 1, 3, {1}, -100, 0.0);
  for (Reduction red : {Reduction::none, Reduction::mean, Reduction::sum}) {
    const Tensor loss = cross_entropy(x, t, {-100, 0.0, red});
    EXPECT_EQ(loss.shape(), Shape{});
    EXPECT_TRUE(all_close(loss, ref.loss, tol, tol));
  }
  const Tensor empty = zeros({0, 4}, p.dtype, p.device);
  const Tensor no_targets = zeros({0}, DType::i64, p.device);
  EXPECT_EQ(cross_entropy(empty, no_targets, {-100, 0.0, Reduction::none}).shape(), Shape{0});
  EXPECT_TRUE(all_close(cross_entropy(empty, no_targets, {-100, 0.0, Reduction::sum}), {0.0}, 0));
  EXPECT_TRUE(all_close(cross_entropy(empty, no_targets), {0.0}, 0));
}

// A mean over targets that are all ignore_index is defined as 0, with a zero gradient
// (PyTorch gives NaN), so that an all-padding batch leaves the parameters alone.
TEST_P(Loss, AllIgnoredMeanIsZeroWithZeroGradient) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  Tensor x = random_input({3, 4}, p, 3).requires_grad_();
  const Tensor loss = cross_entropy(x, targets({-100, -100, -100}, p.device));
  EXPECT_TRUE(all_close(loss, {0.0}, 0));
  loss.backward();
  EXPECT_TRUE(all_close(x.grad(), std::vector<double>(12, 0.0), 0));
  Tensor lp = random_input({2, 4}, p, 4).requires_grad_();
  const Tensor nll = nll_loss(lp, targets({5, 5}, p.device), /*ignore_index=*/5);
  EXPECT_TRUE(all_close(nll, {0.0}, 0));
  nll.backward();
  EXPECT_TRUE(all_close(lp.grad(), std::vector<double>(8, 0.0), 0));
}

// Masked classes (-inf logits) get probability exactly 0: the loss equals that of the
// unmasked classes alone and their gradient is exactly 0. A -inf target logit costs
// +inf. A row of only -inf logits costs +inf too, with softmax taken as 0.
TEST_P(Loss, NegativeInfinityLogits) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  Tensor x = make({1.0, -kInf, 0.5, -kInf, 2.0, 0.0, -kInf, -kInf}, {2, 4}, p).requires_grad_();
  const Tensor loss = cross_entropy(x, targets({2, 1}, p.device), {-100, 0.0, Reduction::none});
  const CrossEntropyRef ref0 = cross_entropy_ref({1.0, 0.5}, 1, 2, {1}, -100, 0.0);
  const CrossEntropyRef ref1 = cross_entropy_ref({2.0, 0.0}, 1, 2, {1}, -100, 0.0);
  EXPECT_TRUE(all_close(loss, {ref0.loss[0], ref1.loss[0]}, tol, tol));
  loss.backward(ones({2}, p.dtype, p.device));
  const std::vector<double> g = values(x.grad());
  EXPECT_TRUE(
      all_close(x.grad(), {ref0.grad[0], 0.0, ref0.grad[1], 0.0, ref1.grad[0], ref1.grad[1], 0.0, 0.0}, tol, tol));
  for (size_t i : {1, 3, 6, 7}) EXPECT_EQ(g[i], 0.0) << i;

  const Tensor hard = make({0.0, -kInf, 1.0, -kInf, -kInf, -kInf}, {2, 3}, p);
  const Tensor l = cross_entropy(hard, targets({1, 0}, p.device), {-100, 0.0, Reduction::none});
  EXPECT_TRUE(all_close(l, {kInf, kInf}, 0));
  Tensor hr = hard.detach().requires_grad_();
  cross_entropy(hr, targets({1, 0}, p.device), {-100, 0.0, Reduction::sum}).backward();
  const double e = std::exp(-1.0);
  EXPECT_TRUE(all_close(hr.grad(), {e / (1 + e), -1.0, 1 / (1 + e), -1.0, 0.0, 0.0}, tol, tol));
}

TEST_P(Loss, NllLossMatchesF64) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Tensor lp = random_input({4, 3}, p, 5);
  const std::vector<double> v = values(lp);
  const std::vector<int64_t> t = {2, -1, 0, 1};
  const std::vector<double> per_row = {-v[2], 0.0, -v[6], -v[10]};
  for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean}) {
    Tensor lr = lp.detach().requires_grad_();
    const Tensor loss = nll_loss(lr, targets(t, p.device), /*ignore_index=*/-1, red);
    const double k = red == Reduction::mean ? 1.0 / 3 : 1.0;
    EXPECT_TRUE(all_close(loss, red == Reduction::none ? per_row : std::vector<double>{k * sum_of(per_row)}, tol, tol));
    const Tensor seed = red == Reduction::none ? make({1, 2, 3, 4}, {4}, p) : ones({}, p.dtype, p.device);
    const Tensor g = autograd::grad({loss}, {seed}, {lr})[0];
    const std::vector<double> w = red == Reduction::none ? std::vector<double>{1, 2, 3, 4} : std::vector<double>(4, k);
    EXPECT_TRUE(all_close(g, {0, 0, -w[0], 0, 0, 0, -w[2], 0, 0, 0, -w[3], 0}, tol, tol));
  }
}

INSTANTIATE_TEST_SUITE_P(All, Loss, ::testing::ValuesIn(testing::all_float_params()), testing::param_name);

TEST(LossGrad, CrossEntropyFiniteDifferences) {
  const DeviceDType p{kCPU, DType::f64};
  const Tensor x = random_input({4, 5}, p, 6);
  const Tensor t = targets({1, -100, 4, 0});
  for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean}) {
    for (double smoothing : {0.0, 0.2}) {
      SCOPED_TRACE(::testing::Message() << "reduction " << static_cast<int>(red) << " smoothing " << smoothing);
      EXPECT_TRUE(gradcheck_ok(
          [&](const std::vector<Tensor>& v) {
            return cross_entropy(v[0], v[1], {-100, smoothing, red});
          },
          {x, t}));
    }
  }
  // Non-contiguous logits, one row, an empty batch, masked logits.
  const Tensor xt = random_input({5, 4}, p, 7);
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) {
        return cross_entropy(transpose(v[0], 0, 1), v[1], {-100, 0.1});
      },
      {xt, t}));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return cross_entropy(v[0], v[1]); },
                           {random_input({5}, p, 8), from_vector<int64_t>({3}, Shape{})}));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return cross_entropy(v[0], v[1]); },
                           {zeros({0, 3}, DType::f64), zeros({0}, DType::i64)}));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return cross_entropy(v[0], v[1]); },
                           {make({0.2, -kInf, 1.0, -kInf, 0.3, -0.7}, {2, 3}, p), targets({2, 1})}));
}

TEST(LossGrad, NllLossFiniteDifferences) {
  const DeviceDType p{kCPU, DType::f64};
  const Tensor lp = random_input({4, 3}, p, 9);
  const Tensor t = targets({2, 0, -100, 1});
  for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean}) {
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return nll_loss(v[0], v[1], -100, red); }, {lp, t}));
  }
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return nll_loss(transpose(v[0], 0, 1), v[1]); },
                           {random_input({3, 4}, p, 10), t}));
}

TEST(LossErrors, NameTheOpTheShapesAndTheBadTarget) {
  const Tensor x = zeros({4, 5});
  EXPECT_THROW_MSG(cross_entropy(x, zeros({4}, DType::i32)), "cross_entropy", "i64", "i32[4]");
  EXPECT_THROW_MSG(cross_entropy(x, zeros({3}, DType::i64)), "cross_entropy", "i64[3]", "f32[4, 5]", "[4]");
  EXPECT_THROW_MSG(cross_entropy(x, zeros({4, 5}, DType::i64)), "cross_entropy", "i64[4, 5]");
  EXPECT_THROW_MSG(cross_entropy(zeros({2, 3, 4}), zeros({2}, DType::i64)), "cross_entropy", "f32[2, 3, 4]");
  EXPECT_THROW_MSG(cross_entropy(x, targets({0, 1, 5, 2})), "cross_entropy", "target 5", "5 classes");
  EXPECT_THROW_MSG(cross_entropy(x, targets({0, -2, 1, 2})), "cross_entropy", "target -2", "5 classes");
  EXPECT_THROW_MSG(cross_entropy(zeros({4, 5}, DType::i64), targets({0, 1, 2, 3})), "cross_entropy", "i64[4, 5]");
  EXPECT_THROW_MSG(cross_entropy(x, targets({0, 1, 2, 3}), {-100, 1.5}), "cross_entropy", "label_smoothing", "1.5");
  EXPECT_THROW_MSG(nll_loss(x, targets({0, 1, 9, 2})), "nll_loss", "target 9", "5 classes");
  EXPECT_THROW_MSG(nll_loss(x, zeros({5}, DType::i64)), "nll_loss", "i64[5]", "f32[4, 5]");
  EXPECT_THROW_MSG(nll_loss(x, zeros({4}, DType::f32)), "nll_loss", "i64", "f32[4]");
}

}  // namespace
}  // namespace subtb

// layer_norm and rms_norm: outputs and gradients (x, weight, bias) against f64 references
// computed here with plain loops (over device x dtype, with and without the affine
// parameters, non-contiguous and multi-threaded inputs), finite-difference gradients and
// argument errors.
#include <cmath>

#include "autograd/engine.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::gradcheck_ok;
using testing::tolerance;
using testing::values;
using testing::random_input;

// Outputs and gradients of a norm over rows of length d, for upstream gradient g.
struct NormRef {
  std::vector<double> y, grad_x, grad_weight, grad_bias;
};

// layer_norm (centred) or rms_norm; w and b empty when absent.
NormRef norm_ref(bool centred, const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                 const std::vector<double>& g, int64_t d, double eps) {
  const size_t n = static_cast<size_t>(d);
  const size_t rows = x.size() / n;
  NormRef r;
  r.y.resize(x.size());
  r.grad_x.resize(x.size());
  r.grad_weight.assign(n, 0.0);
  r.grad_bias.assign(n, 0.0);
  for (size_t i = 0; i < rows; ++i) {
    const double* xr = x.data() + i * n;
    const double* gr = g.data() + i * n;
    double mean = 0, var = 0;
    if (centred) {
      for (size_t j = 0; j < n; ++j) mean += xr[j] / static_cast<double>(n);
    }
    for (size_t j = 0; j < n; ++j) var += (xr[j] - mean) * (xr[j] - mean) / static_cast<double>(n);
    const double rstd = 1 / std::sqrt(var + eps);
    // d/dxhat = g * w; grad_x = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (size_t j = 0; j < n; ++j) {
      const double xhat = (xr[j] - mean) * rstd;
      const double wj = w.empty() ? 1.0 : w[j];
      r.y[i * n + j] = xhat * wj + (b.empty() ? 0.0 : b[j]);
      mean_dxhat += gr[j] * wj / static_cast<double>(n);
      mean_dxhat_xhat += gr[j] * wj * xhat / static_cast<double>(n);
      r.grad_weight[j] += gr[j] * xhat;
      r.grad_bias[j] += gr[j];
    }
    for (size_t j = 0; j < n; ++j) {
      const double xhat = (xr[j] - mean) * rstd;
      const double dxhat = gr[j] * (w.empty() ? 1.0 : w[j]);
      r.grad_x[i * n + j] = rstd * (dxhat - (centred ? mean_dxhat : 0.0) - xhat * mean_dxhat_xhat);
    }
  }
  return r;
}

class Norm : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(Norm, LayerNormMatchesF64WithAndWithoutParameters) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Shape shape{2, 3, 7};
  // A large common offset checks that the variance is not computed as E[x^2] - E[x]^2.
  const Tensor x = random_input(shape, p, 1, 2.0, p.dtype == DType::f64 || p.dtype == DType::f32 ? 100.0 : 0.0);
  const Tensor w = random_input({7}, p, 2), b = random_input({7}, p, 3), g = random_input(shape, p, 4);
  for (int mask = 0; mask < 4; ++mask) {
    const bool has_w = mask & 1, has_b = mask & 2;
    SCOPED_TRACE(::testing::Message() << "weight " << has_w << " bias " << has_b);
    Tensor xr = x.detach().requires_grad_();
    Tensor wr = has_w ? w.detach().requires_grad_() : Tensor();
    Tensor br = has_b ? b.detach().requires_grad_() : Tensor();
    const Tensor y = layer_norm(xr, wr, br, 1e-5);
    const NormRef ref = norm_ref(true, values(x), has_w ? values(w) : std::vector<double>{},
                                 has_b ? values(b) : std::vector<double>{}, values(g), 7, 1e-5);
    EXPECT_TRUE(all_close(y, ref.y, 2 * tol, 2 * tol));
    std::vector<Tensor> inputs{xr};
    if (has_w) inputs.push_back(wr);
    if (has_b) inputs.push_back(br);
    const std::vector<Tensor> grads = autograd::grad({y}, {g}, inputs);
    EXPECT_TRUE(all_close(grads[0], ref.grad_x, 4 * tol, 4 * tol));
    if (has_w) {
      EXPECT_TRUE(all_close(grads[1], ref.grad_weight, 4 * tol, 4 * tol));
    }
    if (has_b) {
      EXPECT_TRUE(all_close(grads.back(), ref.grad_bias, 4 * tol, 4 * tol));
    }
  }
}

TEST_P(Norm, RmsNormMatchesF64WithAndWithoutWeight) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  const Shape shape{4, 9};
  const Tensor x = random_input(shape, p, 5, 3.0), w = random_input({9}, p, 6), g = random_input(shape, p, 7);
  for (bool has_w : {false, true}) {
    SCOPED_TRACE(::testing::Message() << "weight " << has_w);
    Tensor xr = x.detach().requires_grad_();
    Tensor wr = has_w ? w.detach().requires_grad_() : Tensor();
    const Tensor y = rms_norm(xr, wr, 1e-6);
    const NormRef ref = norm_ref(false, values(x), has_w ? values(w) : std::vector<double>{}, {}, values(g), 9, 1e-6);
    EXPECT_TRUE(all_close(y, ref.y, 2 * tol, 2 * tol));
    const std::vector<Tensor> grads = has_w ? autograd::grad({y}, {g}, {xr, wr}) : autograd::grad({y}, {g}, {xr});
    EXPECT_TRUE(all_close(grads[0], ref.grad_x, 4 * tol, 4 * tol));
    if (has_w) {
      EXPECT_TRUE(all_close(grads[1], ref.grad_weight, 4 * tol, 4 * tol));
    }
  }
}

// Strided rows (a transposed input and a transposed upstream gradient) and enough rows
// to run on several threads, whose partial weight gradients must add up exactly once.
TEST_P(Norm, NonContiguousAndManyRows) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const double tol = tolerance(p.dtype);
  for (const Shape& base : {Shape{6, 5}, Shape{300, 256}}) {
    const bool small = base[0] == 6;
    const Tensor xt = small ? transpose(random_input(base, p, 8), 0, 1) : random_input(base, p, 8);
    const Shape shape = xt.shape();
    const int64_t d = shape[1];
    const Tensor w = random_input({d}, p, 9), b = random_input({d}, p, 10);
    const Tensor g = small ? transpose(random_input({d, shape[0]}, p, 11), 0, 1) : random_input(shape, p, 11);
    Tensor xr = xt.detach().requires_grad_(), wr = w.detach().requires_grad_(), br = b.detach().requires_grad_();
    const NormRef ref = norm_ref(true, values(xt), values(w), values(b), values(g), d, 1e-5);
    const Tensor y = layer_norm(xr, wr, br);
    EXPECT_TRUE(all_close(y, ref.y, 2 * tol, 2 * tol));
    const std::vector<Tensor> grads = autograd::grad({y}, {g}, {xr, wr, br});
    EXPECT_TRUE(all_close(grads[0], ref.grad_x, 4 * tol, 4 * tol));
    EXPECT_TRUE(all_close(grads[1], ref.grad_weight, 4 * tol, 4 * tol));
    EXPECT_TRUE(all_close(grads[2], ref.grad_bias, 4 * tol, 4 * tol));

    const NormRef rms = norm_ref(false, values(xt), values(w), {}, values(g), d, 1e-6);
    Tensor xr2 = xt.detach().requires_grad_(), wr2 = w.detach().requires_grad_();
    const Tensor y2 = rms_norm(xr2, wr2);
    EXPECT_TRUE(all_close(y2, rms.y, 2 * tol, 2 * tol));
    const std::vector<Tensor> grads2 = autograd::grad({y2}, {g}, {xr2, wr2});
    EXPECT_TRUE(all_close(grads2[0], rms.grad_x, 4 * tol, 4 * tol));
    EXPECT_TRUE(all_close(grads2[1], rms.grad_weight, 4 * tol, 4 * tol));
  }
}

TEST_P(Norm, EmptyBatch) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  Tensor x = zeros({0, 4}, p.dtype, p.device).requires_grad_();
  Tensor w = ones({4}, p.dtype, p.device).requires_grad_();
  Tensor b = zeros({4}, p.dtype, p.device).requires_grad_();
  const Tensor y = layer_norm(x, w, b);
  EXPECT_EQ(y.shape(), (Shape{0, 4}));
  const std::vector<Tensor> grads = autograd::grad({y}, {zeros({0, 4}, p.dtype, p.device)}, {x, w, b});
  EXPECT_EQ(grads[0].shape(), (Shape{0, 4}));
  EXPECT_TRUE(all_close(grads[1], std::vector<double>(4, 0.0), 0));
  EXPECT_TRUE(all_close(grads[2], std::vector<double>(4, 0.0), 0));
  EXPECT_EQ(rms_norm(x, w).shape(), (Shape{0, 4}));
}

INSTANTIATE_TEST_SUITE_P(All, Norm, ::testing::ValuesIn(testing::all_float_params()), testing::param_name);

TEST(NormGrad, FiniteDifferences) {
  const DeviceDType p{kCPU, DType::f64};
  const Tensor x = random_input({3, 5}, p, 12, 1.5, 0.5);
  const Tensor w = random_input({5}, p, 13), b = random_input({5}, p, 14);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return layer_norm(v[0], v[1], v[2]); }, {x, w, b}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return layer_norm(v[0], v[1], Tensor()); }, {x, w}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return layer_norm(v[0], Tensor(), v[1]); }, {x, b}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return layer_norm(v[0], Tensor(), Tensor()); }, {x}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return rms_norm(v[0], v[1]); }, {x, w}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return rms_norm(v[0], Tensor()); }, {x}));
  // Non-contiguous x (3-d, transposed), a 1-d x, and an empty batch.
  const Tensor x3 = random_input({4, 2, 3}, p, 15);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return layer_norm(transpose(v[0], 0, 2), v[1], v[2]); },
                           {x3, random_input({4}, p, 16), random_input({4}, p, 17)}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return rms_norm(transpose(v[0], 0, 2), v[1]); },
                           {x3, random_input({4}, p, 18)}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return layer_norm(v[0], v[1], v[2]); },
                           {random_input({6}, p, 19), random_input({6}, p, 20), random_input({6}, p, 21)}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return layer_norm(v[0], v[1], v[2]); },
                           {zeros({0, 5}, DType::f64), w, b}));
}

// Only the parameters need a gradient: x's is not computed, the others still are.
TEST(NormGrad, ParametersOnly) {
  const DeviceDType p{kCPU, DType::f64};
  const Tensor x = random_input({3, 4}, p, 22), g = random_input({3, 4}, p, 23);
  Tensor w = random_input({4}, p, 24).requires_grad_(), b = random_input({4}, p, 25).requires_grad_();
  const NormRef ref = norm_ref(true, values(x), values(w), values(b), values(g), 4, 1e-5);
  const std::vector<Tensor> grads = autograd::grad({layer_norm(x, w, b)}, {g}, {w, b});
  EXPECT_TRUE(all_close(grads[0], ref.grad_weight, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(grads[1], ref.grad_bias, 1e-12, 1e-12));
}

TEST(NormErrors, NameTheOpAndTheShapes) {
  const Tensor x = zeros({2, 4});
  EXPECT_THROW_MSG(layer_norm(x, zeros({5}), Tensor()), "layer_norm", "weight", "f32[5]", "f32[2, 4]", "[4]");
  EXPECT_THROW_MSG(layer_norm(x, Tensor(), zeros({2, 4})), "layer_norm", "bias", "f32[2, 4]");
  EXPECT_THROW_MSG(layer_norm(x, zeros({4}, DType::f64), Tensor()), "layer_norm", "f32[2, 4]", "f64[4]");
  EXPECT_THROW_MSG(layer_norm(zeros({}), Tensor(), Tensor()), "layer_norm", "f32[]");
  EXPECT_THROW_MSG(layer_norm(zeros({2, 4}, DType::i64), Tensor(), Tensor()), "layer_norm", "i64[2, 4]");
  EXPECT_THROW_MSG(rms_norm(x, zeros({3})), "rms_norm", "weight", "f32[3]", "f32[2, 4]");
  EXPECT_THROW_MSG(rms_norm(zeros({2, 4}, DType::i32), Tensor()), "rms_norm", "i32[2, 4]");
}

}  // namespace
}  // namespace subtb

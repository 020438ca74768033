// conv2d: output and gradients (x, weight, bias) against a direct f64 convolution written
// here with plain loops, over device x dtype and a spread of geometries (stride, padding,
// dilation, rectangular kernels, batch 1 and several, with and without bias, strided
// inputs); finite-difference gradients in f64; argument errors.
#include <vector>

#include "autograd/engine.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::gradcheck_ok;
using testing::random_input;
using testing::tolerance;
using testing::values;

struct Case {
  const char* name;
  Shape x, w;  // [N, C, H, W], [O, C, KH, KW]
  Conv2dOptions options;
  bool bias;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"plain", {2, 2, 5, 4}, {3, 2, 3, 3}, {}, true},
      {"stride", {1, 2, 7, 6}, {2, 2, 3, 2}, {{2, 3}, {0, 0}, {1, 1}}, false},
      {"padding", {3, 1, 4, 4}, {2, 1, 3, 3}, {{1, 1}, {1, 2}, {1, 1}}, true},
      {"dilation", {2, 1, 6, 6}, {2, 1, 2, 3}, {{1, 2}, {2, 1}, {2, 2}}, true},
      {"patches", {2, 2, 8, 8}, {3, 2, 4, 4}, {{4, 4}, {0, 0}, {1, 1}}, true},
      {"one_by_one", {1, 3, 3, 2}, {2, 3, 1, 1}, {}, false},
  };
  return all;
}

struct ConvRef {
  std::vector<double> y, grad_x, grad_w, grad_b;
};

// The direct convolution and its gradients for upstream gradient g (row-major values).
ConvRef conv_ref(const Case& c, const std::vector<double>& x, const std::vector<double>& w,
                 const std::vector<double>& b, const std::vector<double>& g, int64_t oh, int64_t ow) {
  const int64_t n = c.x[0], ch = c.x[1], h = c.x[2], wd = c.x[3], o = c.w[0], kh = c.w[2], kw = c.w[3];
  const auto& [stride, padding, dilation] = c.options;
  ConvRef r;
  r.y.assign(static_cast<size_t>(n * o * oh * ow), 0.0);
  r.grad_x.assign(x.size(), 0.0);
  r.grad_w.assign(w.size(), 0.0);
  r.grad_b.assign(static_cast<size_t>(o), 0.0);
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t io = 0; io < o; ++io) {
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t xx = 0; xx < ow; ++xx) {
          const size_t yi = static_cast<size_t>(((in * o + io) * oh + y) * ow + xx);
          double acc = b.empty() ? 0.0 : b[static_cast<size_t>(io)];
          for (int64_t ic = 0; ic < ch; ++ic) {
            for (int64_t i = 0; i < kh; ++i) {
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t iy = y * stride[0] - padding[0] + i * dilation[0];
                const int64_t ix = xx * stride[1] - padding[1] + j * dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const size_t xi = static_cast<size_t>(((in * ch + ic) * h + iy) * wd + ix);
                const size_t wi = static_cast<size_t>(((io * ch + ic) * kh + i) * kw + j);
                acc += w[wi] * x[xi];
                r.grad_x[xi] += w[wi] * g[yi];
                r.grad_w[wi] += x[xi] * g[yi];
              }
            }
          }
          r.y[yi] = acc;
          r.grad_b[static_cast<size_t>(io)] += g[yi];
        }
      }
    }
  }
  return r;
}

class Conv : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(Conv, MatchesDirectF64ConvolutionAndItsGradients) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  // Outputs sum C*KH*KW products of N(0, 1) terms; a bf16/f16 result is rounded once.
  const double tol = 8 * tolerance(p.dtype);
  uint64_t seed = 1;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = random_input(c.x, p, seed++, 1.0), w = random_input(c.w, p, seed++, 1.0);
    const Tensor b = c.bias ? random_input({c.w[0]}, p, seed++, 1.0) : Tensor();
    Tensor xr = x.detach().requires_grad_(), wr = w.detach().requires_grad_();
    Tensor br = c.bias ? b.detach().requires_grad_() : Tensor();
    const Tensor y = conv2d(xr, wr, br, c.options);
    ASSERT_EQ(y.dim(), 4);
    const Tensor g = random_input(y.shape(), p, seed++, 1.0);
    const ConvRef ref = conv_ref(c, values(x), values(w), c.bias ? values(b) : std::vector<double>{}, values(g),
                                 y.shape()[2], y.shape()[3]);
    EXPECT_EQ(y.shape(), (Shape{c.x[0], c.w[0], y.shape()[2], y.shape()[3]}));
    EXPECT_EQ(static_cast<size_t>(y.numel()), ref.y.size());
    EXPECT_TRUE(all_close(y, ref.y, tol, tol));
    const std::vector<Tensor> grads =
        c.bias ? autograd::grad({y}, {g}, {xr, wr, br}) : autograd::grad({y}, {g}, {xr, wr});
    EXPECT_TRUE(all_close(grads[0], ref.grad_x, tol, tol));
    EXPECT_TRUE(all_close(grads[1], ref.grad_w, 2 * tol, tol));
    if (c.bias) {
      EXPECT_TRUE(all_close(grads[2], ref.grad_b, 2 * tol, tol));
    }
  }
}

// Output extents follow the formula of tensor/ops/conv.h.
TEST_P(Conv, OutputShapeFollowsTheFormula) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor x = random_input({2, 1, 11, 9}, p, 3), w = random_input({6, 1, 3, 2}, p, 4);
  // OH = (11 + 2*2 - 2*(3-1) - 1) / 3 + 1 = 4; OW = (9 + 0 - 1*(2-1) - 1) / 2 + 1 = 4.
  EXPECT_EQ(conv2d(x, w, Tensor(), {{3, 2}, {2, 0}, {2, 1}}).shape(), (Shape{2, 6, 4, 4}));
}

// A transposed (channels-last storage) input, a strided bias and an expanded upstream
// gradient give the same values as their contiguous copies, and the gradient flows back
// through the view.
TEST_P(Conv, StridedInputsMatchContiguousOnes) {
  const DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const Tensor nhwc = random_input({2, 5, 4, 3}, p, 11, 1.0);
  Tensor base = nhwc.detach().requires_grad_();
  const Tensor x = base.permute({0, 3, 1, 2});  // [2, 3, 5, 4], not contiguous
  ASSERT_FALSE(x.is_contiguous());
  const Tensor w = random_input({2, 3, 2, 2}, p, 12, 1.0);
  const Tensor b = slice(random_input({4}, p, 13, 1.0), 0, 0, 4, 2);  // stride 2
  const Tensor y = conv2d(x, w, b, {{1, 1}, {1, 0}, {1, 1}});
  const Tensor y_dense = conv2d(x.detach().contiguous(), w, b.contiguous(), {{1, 1}, {1, 0}, {1, 1}});
  EXPECT_TRUE(all_close(y, values(y_dense), 0.0));
  const Tensor g = random_input({1, 2, 1, 1}, p, 14, 1.0).expand(y.shape());
  const Tensor gx = autograd::grad({y}, {g}, {base})[0];
  Tensor dense = x.detach().contiguous().requires_grad_();
  const Tensor gx_dense = autograd::grad({conv2d(dense, w, b, {{1, 1}, {1, 0}, {1, 1}})}, {g.contiguous()}, {dense})[0];
  EXPECT_EQ(gx.shape(), nhwc.shape());
  EXPECT_TRUE(all_close(gx, values(gx_dense.permute({0, 2, 3, 1})), 0.0));
}

INSTANTIATE_TEST_SUITE_P(All, Conv, ::testing::ValuesIn(testing::all_float_params()), testing::param_name);

// Finite differences in f64 for every geometry, with a second image batch to exercise
// the threaded weight-gradient reduction.
TEST(ConvGradcheck, EveryGeometryInF64) {
  const DeviceDType p{kCPU, DType::f64};
  uint64_t seed = 100;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> inputs{random_input(c.x, p, seed++, 1.0), random_input(c.w, p, seed++, 1.0)};
    if (c.bias) inputs.push_back(random_input({c.w[0]}, p, seed++, 1.0));
    const Conv2dOptions options = c.options;
    EXPECT_TRUE(gradcheck_ok(
        [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), options); },
        inputs));
  }
}

TEST(ConvGradcheck, NonContiguousInput) {
  const DeviceDType p{kCPU, DType::f64};
  const Tensor x = random_input({2, 3, 2, 4}, p, 200, 1.0), w = random_input({2, 3, 2, 2}, p, 201, 1.0);
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0].transpose(1, 2), in[1], Tensor(), {{1, 2}});
      },
      {x.transpose(1, 2).contiguous(), w}));
}

TEST(ConvErrors, NameTheProblem) {
  const Tensor x = zeros({2, 3, 5, 5}), w = zeros({4, 3, 3, 3});
  EXPECT_THROW_MSG(conv2d(zeros({3, 5, 5}), w), "conv2d", "[N, C, H, W]", "[3, 5, 5]");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3})), "conv2d", "[O, C, KH, KW]");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 2, 3, 3})), "conv2d", "2 input channels", "has 3");
  EXPECT_THROW_MSG(conv2d(x, w, zeros({3})), "conv2d", "bias", "expected [4]");
  EXPECT_THROW_MSG(conv2d(x, w.to(DType::f64)), "conv2d", "dtypes differ");
  EXPECT_THROW_MSG(conv2d(x.to(DType::i64), w.to(DType::i64)), "conv2d", "floating");
  EXPECT_THROW_MSG(conv2d(x, w, Tensor(), {{0, 1}}), "conv2d", "stride (0, 1)");
  EXPECT_THROW_MSG(conv2d(x, w, Tensor(), {{1, 1}, {-1, 0}}), "conv2d", "padding (-1, 0)");
  EXPECT_THROW_MSG(conv2d(x, w, Tensor(), {{1, 1}, {0, 0}, {3, 3}}), "conv2d", "smaller than the kernel");
  EXPECT_THROW_MSG(conv2d(x, zeros({0, 3, 3, 3})), "conv2d", "empty dim");
}

// An empty batch gives an empty output and zero weight and bias gradients.
TEST(ConvEdges, EmptyBatch) {
  Tensor x = zeros({0, 2, 4, 4}).requires_grad_(), w = ones({3, 2, 3, 3}).requires_grad_();
  Tensor b = ones({3}).requires_grad_();
  const Tensor y = conv2d(x, w, b);
  EXPECT_EQ(y.shape(), (Shape{0, 3, 2, 2}));
  const std::vector<Tensor> grads = autograd::grad({y}, {zeros({0, 3, 2, 2})}, {x, w, b});
  EXPECT_EQ(grads[0].shape(), x.shape());
  EXPECT_TRUE(all_close(grads[1], std::vector<double>(54, 0.0), 0.0));
  EXPECT_TRUE(all_close(grads[2], std::vector<double>(3, 0.0), 0.0));
}

}  // namespace
}  // namespace subtb

// The fused Adam/AdamW kernel against its composite: the same update written with ops.
#include <cmath>

#include "nn/optim_adam.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::DeviceDType;
using testing::values;

struct AdamTensors {
  Tensor param, exp_avg, exp_avg_sq;
};

// The composite update, op for op in the order the fused kernel computes; 16-bit
// tensors round after every op, so they are compared with a low-precision allowance.
AdamTensors adam_composite(const AdamTensors& s, const Tensor& grad, const AdamParams& a) {
  const double bc1 = 1.0 - std::pow(a.beta1, static_cast<double>(a.step));
  const double bc2 = 1.0 - std::pow(a.beta2, static_cast<double>(a.step));
  Tensor p = s.param, g = grad;
  if (a.decoupled_weight_decay) p = p * (1.0 - a.lr * a.weight_decay);
  else if (a.weight_decay != 0.0) g = g + p * a.weight_decay;
  const Tensor m = s.exp_avg * a.beta1 + g * (1.0 - a.beta1);
  const Tensor v = s.exp_avg_sq * a.beta2 + g * g * (1.0 - a.beta2);
  const Tensor denom = sqrt(v) / std::sqrt(bc2) + a.eps;
  return {p - m * (a.lr / bc1) / denom, m, v};
}

// The same update per element in f64 from the inputs' values: the reference both are
// judged against.
AdamTensors adam_f64(const AdamTensors& s, const Tensor& grad, const AdamParams& a) {
  std::vector<double> p = values(s.param), m = values(s.exp_avg), v = values(s.exp_avg_sq);
  const std::vector<double> g0 = values(grad);
  const double bc1 = 1.0 - std::pow(a.beta1, static_cast<double>(a.step));
  const double bc2 = 1.0 - std::pow(a.beta2, static_cast<double>(a.step));
  for (size_t i = 0; i < p.size(); ++i) {
    double g = g0[i];
    if (a.decoupled_weight_decay) p[i] *= 1.0 - a.lr * a.weight_decay;
    else g += a.weight_decay * p[i];
    m[i] = a.beta1 * m[i] + (1.0 - a.beta1) * g;
    v[i] = a.beta2 * v[i] + (1.0 - a.beta2) * g * g;
    p[i] -= a.lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + a.eps);
  }
  const Shape shape = s.param.shape();
  return {from_vector<double>(p, shape), from_vector<double>(m, shape), from_vector<double>(v, shape)};
}

class AdamUpdate : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(AdamUpdate, FusedMatchesCompositeAndF64Reference) {
  const auto [device, dtype] = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(device);
  const bool low = dtype == DType::bf16 || dtype == DType::f16;
  for (const bool decoupled : {false, true}) {
    Generator gen(21);
    AdamTensors fused{randn(Shape{7, 33}, dtype, device, &gen), zeros(Shape{7, 33}, dtype, device),
                      zeros(Shape{7, 33}, dtype, device)};
    for (int64_t step = 1; step <= 3; ++step) {
      SCOPED_TRACE(::testing::Message() << "decoupled " << decoupled << ", step " << step);
      const AdamParams a{.lr = 0.01, .weight_decay = 0.1, .decoupled_weight_decay = decoupled, .step = step};
      // A transposed gradient: the kernel reads any strides.
      const Tensor grad = randn(Shape{33, 7}, dtype, device, &gen).t();
      const AdamTensors before{fused.param.clone(), fused.exp_avg.clone(), fused.exp_avg_sq.clone()};
      nn::adam_update_(fused.param, grad, fused.exp_avg, fused.exp_avg_sq, a);
      const AdamTensors composite = adam_composite(before, grad, a);
      const AdamTensors ref = adam_f64(before, grad, a);
      if (!low) {
        // The same operations in the same order: equal up to rounding.
        const double rtol = dtype == DType::f64 ? 1e-14 : 1e-6;
        EXPECT_TRUE(testing::all_close(fused.param, composite.param, 0, rtol));
        EXPECT_TRUE(testing::all_close(fused.exp_avg, composite.exp_avg, 0, rtol));
        EXPECT_TRUE(testing::all_close(fused.exp_avg_sq, composite.exp_avg_sq, 0, rtol));
        EXPECT_TRUE(testing::all_close(fused.param, ref.param, testing::tolerance(dtype)));
        EXPECT_TRUE(testing::all_close(fused.exp_avg_sq, ref.exp_avg_sq, testing::tolerance(dtype)));
      } else {
        // The fused kernel (f32 inside, one rounding per output) is no further from f64
        // than the composite's op-by-op 16-bit rounding, up to one output rounding.
        const std::vector<double> f = values(fused.param), c = values(composite.param), r = values(ref.param);
        for (size_t i = 0; i < f.size(); ++i)
          ASSERT_LE(std::abs(f[i] - r[i]), 2 * std::abs(c[i] - r[i]) + testing::tolerance(dtype) * std::abs(r[i]))
              << "element " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Nn, AdamUpdate, ::testing::ValuesIn(testing::all_float_params()), testing::param_name);

TEST(AdamUpdate, ChecksItsArguments) {
  Tensor p = zeros(Shape{3}), g = zeros(Shape{3}), m = zeros(Shape{3}), v = zeros(Shape{3});
  EXPECT_THROW_MSG(nn::adam_update_(p, zeros(Shape{4}), m, v, {}), "adam_update_", "f32[4]", "f32[3]");
  EXPECT_THROW_MSG(nn::adam_update_(p, g, m, zeros(Shape{3}, DType::f64), {}), "adam_update_", "f64[3]");
  EXPECT_THROW_MSG(nn::adam_update_(p, g, m, v, AdamParams{.step = 0}), "step must be at least 1");
  p.requires_grad_();
  EXPECT_THROW_MSG(nn::adam_update_(p, g, m, v, {}), "adam_update_", "NoGradGuard");
  const uint64_t version = p.storage()->version();
  {
    NoGradGuard no_grad;
    nn::adam_update_(p, g, m, v, {});
  }
  EXPECT_GT(p.storage()->version(), version);  // saved copies of p are now stale
}

}  // namespace
}  // namespace subtb

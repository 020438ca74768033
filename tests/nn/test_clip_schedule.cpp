#include <cmath>
#include <limits>
#include <numbers>

#include "nn/clip_grad.h"
#include "nn/lr_schedule.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::values;

// Two parameters with gradients [3, 4] and [12] (total 2-norm 13), and one without.
std::vector<Tensor> params_with_grads() {
  std::vector<Tensor> ps{zeros(Shape{2}, DType::f64).requires_grad_(), zeros(Shape{1}, DType::f64).requires_grad_(),
                         zeros(Shape{3}, DType::f64).requires_grad_()};
  ps[0].set_grad(from_vector<double>({3, -4}));
  ps[1].set_grad(from_vector<double>({12}));
  return ps;
}

TEST(ClipGradNorm, ScalesEveryGradientByTheSameFactor) {
  std::vector<Tensor> ps = params_with_grads();
  EXPECT_DOUBLE_EQ(nn::clip_grad_norm(ps, 6.5), 13.0);
  const double c = 6.5 / (13.0 + 1e-6);
  EXPECT_TRUE(all_close(ps[0].grad(), {3 * c, -4 * c}, 1e-15));
  EXPECT_TRUE(all_close(ps[1].grad(), {12 * c}, 1e-15));
  EXPECT_FALSE(ps[2].grad().defined());
}

TEST(ClipGradNorm, LeavesSmallGradientsAlone) {
  std::vector<Tensor> ps = params_with_grads();
  EXPECT_DOUBLE_EQ(nn::clip_grad_norm(ps, 13.0), 13.0);  // coefficient 13 / (13 + 1e-6) < 1 ...
  EXPECT_LT(values(ps[1].grad())[0], 12.0);             // ... so PyTorch scales (barely) here too
  ps = params_with_grads();
  EXPECT_DOUBLE_EQ(nn::clip_grad_norm(ps, 20.0), 13.0);
  EXPECT_EQ(values(ps[0].grad()), (std::vector<double>{3, -4}));
  EXPECT_EQ(nn::clip_grad_norm({zeros(Shape{2}).requires_grad_()}, 1.0), 0.0);  // no gradients at all
}

TEST(ClipGradNorm, OtherNorms) {
  std::vector<Tensor> ps = params_with_grads();
  EXPECT_DOUBLE_EQ(nn::clip_grad_norm(ps, 100.0, nn::kInfNorm), 12.0);
  EXPECT_DOUBLE_EQ(nn::clip_grad_norm(ps, 100.0, 1.0), 19.0);
  EXPECT_NEAR(nn::clip_grad_norm(ps, 100.0, 3.0), std::cbrt(27.0 + 64.0 + 1728.0), 1e-12);
  EXPECT_DOUBLE_EQ(nn::clip_grad_norm(ps, 6.0, nn::kInfNorm), 12.0);
  EXPECT_TRUE(all_close(ps[1].grad(), {12 * 6.0 / (12.0 + 1e-6)}, 1e-14));
  EXPECT_THROW_MSG(nn::clip_grad_norm(ps, 1.0, 0.0), "norm_type must be positive");
}

TEST(ClipGradNorm, NonFiniteNormThrowsOrIsReturnedUntouched) {
  for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    for (const double norm_type : {2.0, nn::kInfNorm}) {
      std::vector<Tensor> ps = params_with_grads();
      ps[1].set_grad(from_vector<double>({bad}));
      EXPECT_THROW_MSG(nn::clip_grad_norm(ps, 1.0, norm_type), "clip_grad_norm", "gradient of parameter 1",
                       "NaN or inf", "error_if_nonfinite");
      const double norm = nn::clip_grad_norm(ps, 1.0, norm_type, /*error_if_nonfinite=*/false);
      EXPECT_FALSE(std::isfinite(norm)) << "norm_type " << norm_type << " with " << bad;
      EXPECT_EQ(values(ps[0].grad()), (std::vector<double>{3, -4}));
    }
  }
}

TEST(ClipGradValue, ClampsEveryElement) {
  std::vector<Tensor> ps = params_with_grads();
  nn::clip_grad_value(ps, 3.5);
  EXPECT_EQ(values(ps[0].grad()), (std::vector<double>{3, -3.5}));
  EXPECT_EQ(values(ps[1].grad()), (std::vector<double>{3.5}));
  EXPECT_THROW_MSG(nn::clip_grad_value(ps, -1), "clip_grad_value", "-1");
}

TEST(LrSchedule, ConstantWithWarmup) {
  EXPECT_EQ(nn::constant_lr()(0), 1.0);
  EXPECT_EQ(nn::constant_lr()(123456), 1.0);
  const nn::LrSchedule s = nn::constant_lr(4);
  EXPECT_EQ(s(0), 0.25);
  EXPECT_EQ(s(2), 0.75);
  EXPECT_EQ(s(3), 1.0);
  EXPECT_EQ(s(100), 1.0);
  EXPECT_THROW_MSG(s(-1), "constant_lr", "non-negative", "-1");
}

TEST(LrSchedule, StepDecay) {
  const nn::LrSchedule s = nn::step_decay(10, 0.5);
  EXPECT_EQ(s(0), 1.0);
  EXPECT_EQ(s(9), 1.0);
  EXPECT_EQ(s(10), 0.5);
  EXPECT_EQ(s(25), 0.25);
  EXPECT_THROW_MSG(nn::step_decay(0, 0.5), "step_decay", "step_size");
}

TEST(LrSchedule, WarmupCosineWithFloor) {
  // 10 warmup steps, cosine over steps 10..110, floor 0.1.
  const nn::LrSchedule s = nn::warmup_cosine(10, 110, 0.1);
  EXPECT_DOUBLE_EQ(s(0), 0.1);
  EXPECT_DOUBLE_EQ(s(4), 0.5);
  EXPECT_DOUBLE_EQ(s(9), 1.0);
  EXPECT_DOUBLE_EQ(s(10), 1.0);                                                  // the cosine's top
  EXPECT_DOUBLE_EQ(s(35), 0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi / 4)));  // a quarter in
  EXPECT_DOUBLE_EQ(s(60), 0.55);                                                 // halfway
  EXPECT_DOUBLE_EQ(s(110), 0.1);
  EXPECT_DOUBLE_EQ(s(1000), 0.1);
  EXPECT_GT(s(109), 0.1);
  // No warmup, no floor.
  EXPECT_DOUBLE_EQ(nn::warmup_cosine(0, 4)(0), 1.0);
  EXPECT_DOUBLE_EQ(nn::warmup_cosine(0, 4)(2), 0.5);
  EXPECT_THROW_MSG(nn::warmup_cosine(10, 10), "warmup_cosine", "warmup_steps < total_steps");
  EXPECT_THROW_MSG(nn::warmup_cosine(1, 10, 1.5), "min_factor", "1.5");
}

}  // namespace
}  // namespace subtb

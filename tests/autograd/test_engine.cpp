#include "autograd/engine.h"

#include "autograd/grad_mode.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;

TEST(Engine, ChainAndAccumulation) {
  Tensor a = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor b = from_vector<double>({4, 5, 6}).requires_grad_();
  // y = sum(a * b + a) -> dy/da = b + 1, dy/db = a
  Tensor y = sum(a * b + a);
  y.backward();
  EXPECT_TRUE(all_close(a.grad(), {5, 6, 7}, 0));
  EXPECT_TRUE(all_close(b.grad(), {1, 2, 3}, 0));
  // A second graph accumulates into the same leaves.
  sum(a * 2.0).backward();
  EXPECT_TRUE(all_close(a.grad(), {7, 8, 9}, 0));
}

TEST(Engine, SecondBackwardWithoutRetainThrows) {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = sum(a * a);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_TRUE(all_close(a.grad(), {4, 8}, 0));
  EXPECT_THROW_MSG(y.backward(), "second time", "retain_graph");
}

TEST(Engine, InPlaceModificationOfSavedTensorThrows) {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor w = from_vector<double>({3, 4});
  Tensor y = sum(a * w);
  w.fill_(0.0);
  EXPECT_THROW_MSG(y.backward(), "mul", "modified by an in-place operation");
}

TEST(Engine, NoGradRecordsNothing) {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor y;
  {
    NoGradGuard g;
    y = a * a;
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_THROW_MSG(sum(y).backward(), "does not require grad");
}

TEST(Engine, SeedRequiredForNonScalar) {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = a * 3.0;
  EXPECT_THROW_MSG(y.backward(), "seed");
  y.backward(from_vector<double>({1, 10}));
  EXPECT_TRUE(all_close(a.grad(), {3, 30}, 0));
}

TEST(Engine, GradReturnsWithoutTouchingLeaves) {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = sum(a * a);
  std::vector<Tensor> g = autograd::grad({y}, {Tensor()}, {a});
  EXPECT_TRUE(all_close(g[0], {2, 4}, 0));
  EXPECT_FALSE(a.grad().defined());
}

TEST(Engine, BroadcastGradientsSumBack) {
  Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, Shape{2, 3}).requires_grad_();
  Tensor b = from_vector<double>({10, 20, 30}).requires_grad_();
  sum(a * b).backward();
  EXPECT_TRUE(all_close(b.grad(), {5, 7, 9}, 0));
  EXPECT_TRUE(all_close(a.grad(), {10, 20, 30, 10, 20, 30}, 0));
}

TEST(Gradcheck, PassesForCorrectAndDetectsWrong) {
  Tensor a = from_vector<double>({0.5, -1.5, 2.0});
  Tensor b = from_vector<double>({1.5, 2.5, -0.5});
  EXPECT_TRUE(testing::gradcheck_ok([](const std::vector<Tensor>& x) { return x[0] * x[1] / (x[1] + 3.0); },
                                    {a, b}));
}

}  // namespace
}  // namespace subtb

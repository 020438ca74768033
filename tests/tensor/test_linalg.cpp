// matmul and outer: NumPy semantics (1-d promotion, batch broadcasting) against f64
// loops, strided operands, empty extents, gradients and error messages.
#include <cmath>

#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::values;

// NumPy's matmul in f64 on host values: promotes 1-d operands, broadcasts the batch.
std::vector<double> reference_matmul(const Tensor& a, const Tensor& b) {
  const std::vector<double> va = values(a), vb = values(b);
  const Shape pa = a.dim() == 1 ? Shape{1, a.shape()[0]} : a.shape();
  const Shape pb = b.dim() == 1 ? Shape{b.shape()[0], 1} : b.shape();
  const int64_t m = pa[pa.size() - 2], k = pa[pa.size() - 1], n = pb[pb.size() - 1];
  Shape ba, bb;
  for (int i = 0; i + 2 < pa.size(); ++i) ba.push_back(pa[i]);
  for (int i = 0; i + 2 < pb.size(); ++i) bb.push_back(pb[i]);
  const Shape batch = broadcast_shapes(ba, bb, "reference");
  // Row-major offset of matrix `index` of the broadcast batch within an operand.
  auto matrix_offset = [&](const Shape& own, int64_t index) {
    int64_t offset = 0, own_stride = 1;
    for (int i = batch.size() - 1; i >= 0; --i) {
      const int64_t coord = index % batch[i];
      index /= batch[i];
      const int j = i - (batch.size() - own.size());
      if (j < 0) continue;
      if (own[j] != 1) offset += coord * own_stride;
      own_stride *= own[j];
    }
    return offset;
  };
  std::vector<double> out;
  for (int64_t bi = 0; bi < batch.numel(); ++bi) {
    const int64_t oa = matrix_offset(ba, bi) * m * k, ob = matrix_offset(bb, bi) * k * n;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += va[oa + i * k + p] * vb[ob + p * n + j];
        out.push_back(acc);
      }
    }
  }
  return out;
}

Tensor random_tensor(const Shape& shape, DType dtype, Device device, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, DType::f64, kCPU, &gen).to(dtype).to(device);
}

class MatmulTest : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(MatmulTest, MatchesF64ReferenceAcrossShapes) {
  const auto [device, dtype] = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(device);
  struct Case {
    Shape a, b, out;
  };
  const std::vector<Case> cases = {
      {{4, 3}, {3, 5}, {4, 5}},
      {{3}, {3, 5}, {5}},
      {{4, 3}, {3}, {4}},
      {{3}, {3}, {}},
      {{2, 4, 3}, {3, 5}, {2, 4, 5}},           // b shared by the batch
      {{4, 3}, {2, 3, 5}, {2, 4, 5}},           // a shared by the batch
      {{2, 1, 4, 3}, {3, 3, 5}, {2, 3, 4, 5}},  // both broadcast
      {{3}, {2, 3, 5}, {2, 5}},
      {{2, 4, 3}, {3}, {2, 4}},
      {{33, 65}, {65, 17}, {33, 17}},  // past BLAS's small-matrix kernels
  };
  uint64_t seed = 1;
  for (const Case& c : cases) {
    const Tensor a = random_tensor(c.a, dtype, device, seed++);
    const Tensor b = random_tensor(c.b, dtype, device, seed++);
    const Tensor y = matmul(a, b);
    EXPECT_EQ(y.shape(), c.out) << c.a << " @ " << c.b;
    EXPECT_EQ(y.dtype(), dtype);
    const double tol = testing::tolerance(dtype);
    EXPECT_TRUE(all_close(y, reference_matmul(a, b), tol, tol)) << c.a << " @ " << c.b;
  }
}

TEST_P(MatmulTest, StridedOperands) {
  const auto [device, dtype] = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(device);
  const double tol = testing::tolerance(dtype);
  const Tensor a = random_tensor({2, 3, 4}, dtype, device, 11);
  const Tensor b = random_tensor({2, 5, 3}, dtype, device, 12);
  const Tensor w = random_tensor({6, 8}, dtype, device, 13);
  const std::vector<std::pair<Tensor, Tensor>> pairs = {
      {a.transpose(1, 2), b.transpose(1, 2)},                 // both through the transpose flags
      {a.transpose(1, 2), random_tensor({3, 5}, dtype, device, 14)},  // transposed a, shared b
      {slice(w, 1, 0, 8, 2), slice(w, 0, 0, 4, 1)},           // step 2 columns: copied first
      {random_tensor({3, 4}, dtype, device, 15), expand(random_tensor({1, 5}, dtype, device, 16), {4, 5})},
      {narrow(w, 1, 2, 4), narrow(w, 0, 1, 4)},               // row stride wider than the row
      {a.select(2, 1), random_tensor({3, 2}, dtype, device, 17)},  // [2, 3] with column stride 4
  };
  for (const auto& [x, y] : pairs) {
    EXPECT_TRUE(all_close(matmul(x, y), reference_matmul(x, y), tol, tol)) << describe(x) << " @ " << describe(y);
  }
}

TEST_P(MatmulTest, EmptyExtents) {
  const auto [device, dtype] = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(device);
  // K = 0: every entry is an empty sum.
  const Tensor z = matmul(empty({3, 0}, dtype, device), empty({0, 4}, dtype, device));
  EXPECT_EQ(z.shape(), (Shape{3, 4}));
  EXPECT_TRUE(all_close(z, std::vector<double>(12, 0.0), 0));
  EXPECT_EQ(matmul(empty({0, 3}, dtype, device), empty({3, 4}, dtype, device)).shape(), (Shape{0, 4}));
  EXPECT_EQ(matmul(empty({0, 2, 3}, dtype, device), empty({3, 4}, dtype, device)).shape(), (Shape{0, 2, 4}));
  EXPECT_EQ(matmul(empty({0}, dtype, device), empty({0}, dtype, device)).item(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Linalg, MatmulTest, ::testing::ValuesIn(testing::all_float_params()),
                         testing::param_name);

class MatmulIntTest : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(MatmulIntTest, ExactForIntegers) {
  const auto [device, dtype] = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(device);
  Generator gen(3);
  const Tensor a = randint(-50, 50, {2, 4, 7}, dtype, device, &gen);
  const Tensor b = randint(-50, 50, {7, 3}, dtype, device, &gen);
  const Tensor y = matmul(a, b.t().contiguous().t());  // transposed b: strided loop
  EXPECT_EQ(y.dtype(), dtype);
  EXPECT_TRUE(all_close(y, reference_matmul(a, b), 0));
}

INSTANTIATE_TEST_SUITE_P(Linalg, MatmulIntTest, ::testing::ValuesIn(testing::devices_and({DType::i32, DType::i64})),
                         testing::param_name);

TEST(MatmulGrad, Gradcheck) {
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {4, 2}}, {{4}, {4, 2}}, {{3, 4}, {4}}, {{4}, {4}},
      {{2, 3, 4}, {2, 4, 2}},        // batched
      {{2, 3, 4}, {4, 2}},           // b broadcast over the batch
      {{3, 4}, {2, 4, 2}},           // a broadcast over the batch
      {{2, 1, 3, 4}, {3, 4, 2}},     // both broadcast
      {{4}, {2, 4, 3}}, {{2, 3, 4}, {4}},
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    const Tensor a = random_tensor(c.a, DType::f64, kCPU, seed++);
    const Tensor b = random_tensor(c.b, DType::f64, kCPU, seed++);
    EXPECT_TRUE(testing::gradcheck_ok([](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }, {a, b}))
        << c.a << " @ " << c.b;
  }
}

TEST(MatmulGrad, GradcheckStridedInputs) {
  const Tensor a = random_tensor({2, 4, 3}, DType::f64, kCPU, 7);
  const Tensor b = random_tensor({2, 4}, DType::f64, kCPU, 8);
  const Tensor row = random_tensor({1, 2}, DType::f64, kCPU, 9);
  EXPECT_TRUE(testing::gradcheck_ok(
      [](const std::vector<Tensor>& x) { return matmul(x[0].transpose(1, 2), x[1].t()); }, {a, b}));
  EXPECT_TRUE(testing::gradcheck_ok(
      [](const std::vector<Tensor>& x) { return matmul(x[0], expand(x[1], {3, 2})); }, {a, row}));
}

TEST(MatmulGrad, OneOperandRequiresGrad) {
  const Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, Shape{2, 3}).requires_grad_();
  const Tensor b = from_vector<double>({1, -1, 2, 0, 0, 3}, Shape{3, 2});
  sum(matmul(a, b)).backward();
  // d sum(a @ b) / da[i, p] = sum_j b[p, j]
  EXPECT_TRUE(all_close(a.grad(), {0, 2, 3, 0, 2, 3}, 0));
  EXPECT_FALSE(b.grad().defined());
}

TEST(MatmulGrad, EmptyExtents) {
  {  // K = 0: the output is zeros and still depends on nothing.
    const Tensor a = empty({3, 0}, DType::f64).requires_grad_();
    const Tensor b = empty({0, 2}, DType::f64).requires_grad_();
    sum(matmul(a, b)).backward();
    EXPECT_EQ(a.grad().shape(), (Shape{3, 0}));
    EXPECT_EQ(b.grad().shape(), (Shape{0, 2}));
  }
  {  // Batched, with b shared by the batch: b's gradient over an empty contraction is zeros.
    const Tensor a = empty({2, 0, 3}, DType::f64).requires_grad_();
    const Tensor b = ones({3, 2}, DType::f64).requires_grad_();
    sum(matmul(a, b)).backward();
    EXPECT_EQ(a.grad().shape(), (Shape{2, 0, 3}));
    EXPECT_TRUE(all_close(b.grad(), std::vector<double>(6, 0.0), 0));
  }
  {
    const Tensor a = empty({2, 4, 0}, DType::f64).requires_grad_();
    const Tensor b = empty({0, 5}, DType::f64).requires_grad_();
    sum(matmul(a, b)).backward();
    EXPECT_EQ(a.grad().shape(), (Shape{2, 4, 0}));
    EXPECT_EQ(b.grad().shape(), (Shape{0, 5}));
  }
}

TEST(Matmul, Errors) {
  EXPECT_THROW_MSG(matmul(zeros({4, 3}), zeros({5, 2})), "matmul: shapes [4, 3] and [5, 2] do not align (3 != 5)");
  EXPECT_THROW_MSG(matmul(zeros({3}), zeros({4})), "matmul", "[3] and [4]", "(3 != 4)");
  EXPECT_THROW_MSG(matmul(zeros({2, 4, 3}), zeros({3, 3, 5})), "matmul", "[2, 4, 3] and [3, 3, 5]",
                   "do not broadcast");
  EXPECT_THROW_MSG(matmul(scalar_tensor(1.0), zeros({3})), "matmul", "at least one dim");
  EXPECT_THROW_MSG(matmul(zeros({2, 2}), zeros({2, 2}, DType::f64)), "matmul", "f32[2, 2]", "f64[2, 2]");
  EXPECT_THROW_MSG(matmul(zeros({2, 2}, DType::b8), zeros({2, 2}, DType::b8)), "matmul", "bool");
}

TEST(Outer, ValuesGradientsAndErrors) {
  const Tensor a = from_vector<double>({1, 2, 3});
  const Tensor b = from_vector<double>({-1, 4});
  const Tensor y = outer(a, b);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_TRUE(all_close(y, {-1, 4, -2, 8, -3, 12}, 0));
  EXPECT_TRUE(testing::gradcheck_ok([](const std::vector<Tensor>& x) { return outer(x[0], x[1]); }, {a, b}));
  EXPECT_THROW_MSG(outer(zeros({2, 2}), zeros({2})), "outer", "1-d", "f32[2, 2]");
  EXPECT_THROW_MSG(outer(zeros({2}), zeros({2}, DType::f64)), "outer", "dtypes differ");
}

}  // namespace
}  // namespace subtb

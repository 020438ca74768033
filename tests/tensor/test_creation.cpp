// Creating tensors: fills, ranges, identity, host buffers (copied and borrowed), the
// printout, dtype conversions (with the 16-bit floats' rounding) and item().
#include <cmath>
#include <limits>
#include <sstream>

#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::values;

class Creation : public ::testing::TestWithParam<testing::DeviceDType> {
 protected:
  Device dev() const { return GetParam().device; }
  DType dt() const { return GetParam().dtype; }
};

TEST_P(Creation, FillsInEveryDtype) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor z = zeros(Shape{2, 3}, dt(), dev());
  EXPECT_EQ(z.dtype(), dt());
  EXPECT_EQ(z.device(), dev());
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_TRUE(all_close(z, std::vector<double>(6, 0.0), 0));
  EXPECT_TRUE(all_close(ones(Shape{4}, dt(), dev()), std::vector<double>(4, 1.0), 0));
  const double v = dt() == DType::b8 ? 1.0 : 3.0;
  EXPECT_TRUE(all_close(full(Shape{3, 1}, v, dt(), dev()), std::vector<double>(3, v), 0));
  EXPECT_TRUE(all_close(scalar_tensor(v, dt(), dev()), {v}, 0));
  EXPECT_EQ(scalar_tensor(v, dt(), dev()).dim(), 0);
  EXPECT_EQ(zeros(Shape{0, 5}, dt(), dev()).numel(), 0);
  const Tensor like = full_like(z, v);
  EXPECT_EQ(like.dtype(), dt());
  EXPECT_TRUE(all_close(like, std::vector<double>(6, v), 0));
  EXPECT_TRUE(all_close(ones_like(z), std::vector<double>(6, 1.0), 0));
  EXPECT_TRUE(all_close(zeros_like(like), std::vector<double>(6, 0.0), 0));
  EXPECT_EQ(empty_like(z).shape(), z.shape());
}

TEST_P(Creation, EyeInEveryDtype) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  EXPECT_TRUE(all_close(eye(3, -1, dt(), dev()), {1, 0, 0, 0, 1, 0, 0, 0, 1}, 0));
  EXPECT_TRUE(all_close(eye(2, 3, dt(), dev()), {1, 0, 0, 0, 1, 0}, 0));
  EXPECT_TRUE(all_close(eye(3, 2, dt(), dev()), {1, 0, 0, 1, 0, 0}, 0));
  EXPECT_EQ(eye(0, -1, dt(), dev()).shape(), (Shape{0, 0}));
}

TEST(CreationRanges, Arange) {
  const Tensor a = arange(5);
  EXPECT_EQ(a.dtype(), DType::i64);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(2, 11, 3).to_vector<int64_t>(), (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ(arange(5, 0, -2).to_vector<int64_t>(), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_EQ(arange(3, 3).numel(), 0);
  // Float steps: the count is ceil((end - start) / step), the values start + i * step.
  EXPECT_TRUE(all_close(arange(1, 2, 0.25, DType::f32), {1, 1.25, 1.5, 1.75}, 0));
  const Tensor tenths = arange(0, 1, 0.1, DType::f64);
  ASSERT_EQ(tenths.numel(), 10);
  EXPECT_EQ(values(tenths)[7], 7 * 0.1);
  EXPECT_EQ(arange(0, 1.05, 0.1, DType::f64).numel(), 11);
  EXPECT_TRUE(all_close(arange(0.5, -1, -0.5, DType::f64), {0.5, 0, -0.5}, 0));
  EXPECT_THROW_MSG(arange(0, 5, 0), "arange", "step", "non-zero");
  EXPECT_THROW_MSG(arange(0, 5, -1), "arange", "cannot be reached", "5");
  EXPECT_THROW_MSG(arange(0, INFINITY, 1), "arange", "finite");
}

TEST(CreationRanges, Linspace) {
  EXPECT_TRUE(all_close(linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1}, 0));
  EXPECT_TRUE(all_close(linspace(3, -3, 4, DType::f64), {3, 1, -1, -3}, 1e-15));
  EXPECT_TRUE(all_close(linspace(2, 7, 1), {2}, 0));
  EXPECT_EQ(linspace(0, 1, 0).numel(), 0);
  // The first value is start exactly; the last lands on end up to rounding.
  const std::vector<double> v = values(linspace(-1, 0.3, 11, DType::f64));
  EXPECT_EQ(v.front(), -1.0);
  EXPECT_NEAR(v.back(), 0.3, 1e-15);
  EXPECT_EQ(linspace(0, 10, 11, DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_THROW_MSG(linspace(0, 1, -1), "linspace", "steps", "-1");
}

// ----- host buffers

TEST(CreationHost, FromVectorInEveryDtype) {
  EXPECT_EQ(from_vector<float>({1.5f, -2}).to_vector<float>(), (std::vector<float>{1.5f, -2}));
  EXPECT_EQ(from_vector<double>({0.1, 0.2}, Shape{1, 2}).shape(), (Shape{1, 2}));
  EXPECT_EQ(from_vector<int32_t>({7}, Shape{}).dim(), 0);
  EXPECT_EQ(from_vector<int64_t>({-5, 5}).to_vector<int64_t>(), (std::vector<int64_t>{-5, 5}));
  EXPECT_EQ(from_vector<bool>({true, false, true}).to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(from_vector<BFloat16>({BFloat16(1.5f)}).dtype(), DType::bf16);
  EXPECT_EQ(float(from_vector<Half>({Half(0.25f)}).to_vector<Half>()[0]), 0.25f);
  EXPECT_THROW_MSG(from_vector<float>({1, 2, 3}, Shape{2, 2}), "from_vector", "3 values", "[2, 2]");
}

TEST(CreationHost, FromBufferCopiesAndBorrowBufferDoesNot) {
  std::vector<float> host = {1, 2, 3, 4, 5, 6};
  const Tensor copied = from_buffer(host.data(), Shape{2, 3}, DType::f32);
  Tensor borrowed = borrow_buffer(host.data(), Shape{3, 2}, DType::f32);
  EXPECT_EQ(borrowed.raw_data(), static_cast<void*>(host.data()));
  EXPECT_NE(copied.raw_data(), static_cast<void*>(host.data()));
  host[0] = 100;
  EXPECT_EQ(values(copied)[0], 1);
  EXPECT_EQ(values(borrowed)[0], 100);
  // Writes through the tensor (or a view of it) land in the caller's memory.
  borrowed.select(1, 1).fill_(-1.0);
  EXPECT_EQ(host, (std::vector<float>{100, -1, 3, -1, 5, -1}));
  // Other dtypes read the bytes as that dtype.
  int64_t ints[2] = {9, -9};
  EXPECT_EQ(from_buffer(ints, Shape{2}, DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{9, -9}));
}

// ----- printing

TEST(CreationPrint, SmallTensorsPrintLikePyTorch) {
  EXPECT_EQ(from_vector<float>({1, 2.5f, -3, 4}, Shape{2, 2}).to_string(),
            "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]], dtype=f32, shape=[2, 2])");
  EXPECT_EQ(arange(3).to_string(), "tensor([0, 1, 2], dtype=i64, shape=[3])");
  EXPECT_EQ(scalar_tensor(0.5, DType::f64).to_string(), "tensor(0.5000, dtype=f64, shape=[])");
  EXPECT_EQ(from_vector<float>({-INFINITY, NAN}).to_string(), "tensor([-inf,  nan], dtype=f32, shape=[2])");
  EXPECT_EQ(zeros(Shape{0}).to_string(), "tensor([], dtype=f32, shape=[0])");
  std::ostringstream os;
  os << from_vector<bool>({true, false});
  EXPECT_EQ(os.str(), "tensor([1, 0], dtype=bool, shape=[2])");
  EXPECT_EQ(Tensor().to_string(), "tensor(undefined)");
  // Large tensors elide their middle.
  const std::string big = arange(2000).to_string();
  EXPECT_NE(big.find("[   0,    1,    2, ..., 1997, 1998, 1999]"), std::string::npos) << big;
}

// ----- dtype conversions

TEST(CreationConvert, RoundingIntoSixteenBitFloats) {
  const std::vector<float> in = {1.0f + 0x1.0p-8f,  1.0f + 0x1.8p-8f, 1.0f + 0x1.0p-11f,
                                 1.0f + 0x1.8p-11f, 70000.0f,         -0.0f};
  const Tensor x = from_vector<float>(in);
  // bf16 keeps 8 significant bits: ties go to even, above-ties up; 70000 -> 70144.
  EXPECT_EQ(values(x.to(DType::bf16)), (std::vector<double>{1, 1 + 0x1.0p-7, 1, 1, 70144, 0}));
  // f16 keeps 11 significant bits and overflows past 65504.
  EXPECT_EQ(values(x.to(DType::f16)), (std::vector<double>{1 + 0x1.0p-8, 1 + 0x1.8p-8, 1, 1 + 0x1.0p-10,
                                                           std::numeric_limits<double>::infinity(), 0}));
  EXPECT_TRUE(std::signbit(values(x.to(DType::f16))[5]));
  // f64 -> f32 rounds to nearest.
  EXPECT_EQ(from_vector<double>({0.1}).to(DType::f32).to_vector<float>()[0], 0.1f);
  // NaN survives every float conversion.
  EXPECT_TRUE(std::isnan(from_vector<float>({NAN}).to(DType::bf16).to(DType::f16).to(DType::f64).item()));
}

TEST(CreationConvert, BetweenKinds) {
  const Tensor f = from_vector<double>({-1.7, -0.2, 0, 0.5, 2.9});
  EXPECT_EQ(f.to(DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{-1, 0, 0, 0, 2}));
  EXPECT_EQ(f.to(DType::b8).to_vector<bool>(), (std::vector<bool>{true, true, false, true, true}));
  EXPECT_TRUE(all_close(from_vector<bool>({true, false}).to(DType::f32), {1, 0}, 0));
  EXPECT_EQ(from_vector<int64_t>({3, -4}).to(DType::bf16).to(DType::i32).to_vector<int32_t>(),
            (std::vector<int32_t>{3, -4}));
  EXPECT_TRUE(f.to(DType::f64).is_same(f)) << "converting to the same dtype is free";
  // A strided source converts element by element.
  EXPECT_TRUE(all_close(reshape(f.narrow(0, 0, 4), Shape{2, 2}).t().to(DType::f32), {-1.7, 0, -0.2, 0.5}, 1e-7));
}

TEST(CreationConvert, ConversionIsDifferentiable) {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  sum(x.to(DType::f32) * 3.0).backward();
  EXPECT_EQ(x.grad().dtype(), DType::f64);
  EXPECT_TRUE(all_close(x.grad(), {3, 3}, 0));
}

// ----- item

TEST_P(Creation, ItemReadsOneElement) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const double v = dt() == DType::b8 ? 1.0 : -2.0;
  EXPECT_EQ(full(Shape{}, v, dt(), dev()).item(), v);
  EXPECT_EQ(full(Shape{1, 1, 1}, v, dt(), dev()).item(), v);
  const Tensor r = reshape(arange(6, dt() == DType::b8 ? DType::i64 : dt(), dev()), Shape{2, 3});
  EXPECT_EQ(select(select(r, 1, 2), 0, 1).item(), 5);
  EXPECT_THROW_MSG(zeros(Shape{2, 1}, dt(), dev()).item(), "item", "one element", "[2, 1]");
  EXPECT_THROW_MSG(zeros(Shape{0}, dt(), dev()).item(), "item", "[0]");
}

INSTANTIATE_TEST_SUITE_P(All, Creation,
                         ::testing::ValuesIn(testing::devices_and({DType::f32, DType::f64, DType::bf16, DType::f16,
                                                                   DType::i32, DType::i64, DType::b8})),
                         testing::param_name);

}  // namespace
}  // namespace subtb

// The tensor core: metadata, dtypes, devices, shapes, storage sharing, in-place versions.
#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "kernels/backend.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::f32), 4u);
  EXPECT_EQ(dtype_size(DType::f64), 8u);
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_size(DType::f16), 2u);
  EXPECT_EQ(dtype_size(DType::i32), 4u);
  EXPECT_EQ(dtype_size(DType::i64), 8u);
  EXPECT_EQ(dtype_size(DType::b8), 1u);
  EXPECT_EQ(dtype_name(DType::bf16), "bf16");
  EXPECT_TRUE(is_floating(DType::f16));
  EXPECT_FALSE(is_floating(DType::i64));
}

TEST(DType, HalfRoundTripsAndRounds) {
  // Exactly representable values survive; others round to nearest even.
  for (float v : {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f /* min normal */,
                  5.960464477539063e-08f /* min subnormal */}) {
    EXPECT_EQ(static_cast<float>(Half(v)), v) << v;
  }
  EXPECT_EQ(static_cast<float>(Half(1.0f + 0x1.0p-11f)), 1.0f);             // tie -> even
  EXPECT_EQ(static_cast<float>(Half(1.0f + 0x1.8p-11f)), 1.0f + 0x1.0p-10f);  // above tie -> up
  EXPECT_TRUE(std::isinf(static_cast<float>(Half(70000.0f))));
  EXPECT_TRUE(std::isnan(static_cast<float>(Half(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(static_cast<float>(Half(-std::numeric_limits<float>::infinity())),
            -std::numeric_limits<float>::infinity());
}

TEST(DType, BFloat16RoundTripsAndRounds) {
  for (float v : {0.0f, 1.0f, -3.0f, 1.5f, 3.3895313892515355e38f}) EXPECT_EQ(static_cast<float>(BFloat16(v)), v);
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f + 0x1.0p-8f)), 1.0f);              // tie -> even
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f + 0x1.8p-8f)), 1.0f + 0x1.0p-7f);  // above tie -> up
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DeviceParse, AcceptsAndRejects) {
  EXPECT_EQ(Device::parse("cpu"), kCPU);
  EXPECT_EQ(Device::parse("cuda"), cuda_device(0));
  EXPECT_EQ(Device::parse("cuda:3"), cuda_device(3));
  EXPECT_EQ(cuda_device(1).to_string(), "cuda:1");
  EXPECT_THROW_MSG(Device::parse("gpu"), "cannot parse 'gpu'");
  EXPECT_THROW_MSG(Device::parse("cuda:-1"), "cuda:-1");
  EXPECT_THROW_MSG(Device::parse("cuda:1x"), "cuda:1x");
}

TEST(ShapeTest, BroadcastAndDims) {
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 1}, "op"), (Shape{3, 4, 5}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}, "op"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({0, 1}, {1, 4}, "op"), (Shape{0, 4}));
  EXPECT_THROW_MSG(broadcast_shapes({2, 3}, {4, 3}, "add"), "add", "[2, 3]", "[4, 3]");
  EXPECT_EQ(normalize_dim(-1, 3, "op"), 2);
  EXPECT_THROW_MSG(normalize_dim(3, 3, "sum"), "sum", "dim 3", "3 dimensions");
  EXPECT_EQ(dim_mask(std::vector<int64_t>{0, -1}, 3, "op"), 0b101u);
  EXPECT_THROW_MSG(dim_mask(std::vector<int64_t>{1, -2}, 3, "sum"), "sum", "more than once");
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
  Shape too_many;
  for (int i = 0; i < kMaxDims; ++i) too_many.push_back(1);
  EXPECT_THROW_MSG(too_many.push_back(1), "more than 8 dimensions");
}

TEST(TensorCore, MetadataAndContiguity) {
  Tensor t = zeros({2, 3, 4});
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_FALSE(t.transpose(0, 2).is_contiguous());
  EXPECT_TRUE(zeros({1, 5}).transpose(0, 1).is_contiguous());  // size-1 dims do not matter
  EXPECT_THROW_MSG(t.size(3), "size", "dim 3");
  Tensor undefined;
  EXPECT_FALSE(undefined.defined());
  EXPECT_THROW_MSG(undefined.shape(), "undefined tensor");
  EXPECT_THROW_MSG(zeros({-1, 2}), "negative extent", "[-1, 2]");
}

TEST(TensorCore, ViewsShareStorageAndContiguousCopies) {
  Tensor base = from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor tr = base.transpose(0, 1);
  EXPECT_EQ(tr.storage().get(), base.storage().get());
  Tensor c = tr.contiguous();
  EXPECT_NE(c.storage().get(), base.storage().get());
  EXPECT_TRUE(all_close(c, {1, 4, 2, 5, 3, 6}, 0));
  EXPECT_TRUE(base.contiguous().is_same(base));  // no copy when already contiguous
  tr.fill_(7.0);
  EXPECT_TRUE(all_close(base, {7, 7, 7, 7, 7, 7}, 0));
}

TEST(TensorCore, ItemAndToVector) {
  EXPECT_EQ(scalar_tensor(2.5).item(), 2.5);
  EXPECT_EQ(full({1, 1}, -3, DType::i64).item(), -3.0);
  EXPECT_THROW_MSG(zeros({2}).item(), "item", "one element", "[2]");
  EXPECT_EQ(from_vector<int32_t>({4, 5}).to_vector<int32_t>(), (std::vector<int32_t>{4, 5}));
  EXPECT_THROW_MSG(zeros({2}).to_vector<double>(), "to_vector", "f64", "f32");
}

TEST(TensorCore, DtypeConversionIsExplicit) {
  Tensor a = from_vector<float>({1.5f, -2.5f});
  Tensor b = a.to(DType::i64);
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{1, -2}));  // truncation toward zero
  EXPECT_TRUE(all_close(a.to(DType::f64), {1.5, -2.5}, 0));
  EXPECT_EQ(a.to(DType::b8).to_vector<bool>(), (std::vector<bool>{true, true}));
  EXPECT_THROW_MSG(add(a, a.to(DType::f64)), "add", "dtypes differ", "f32", "f64");
}

TEST(TensorCore, InPlaceBumpsVersionAndIsRefusedOnGradTensors) {
  Tensor a = zeros({3});
  const uint64_t v0 = a.storage()->version();
  a.fill_(1.0);
  EXPECT_GT(a.storage()->version(), v0);
  Tensor leaf = zeros({3}).requires_grad_();
  EXPECT_THROW_MSG(leaf.fill_(1.0), "fill_", "requires grad");
  {
    NoGradGuard g;
    leaf.fill_(2.0);  // optimizer-style updates are fine without grad mode
  }
  EXPECT_TRUE(all_close(leaf, {2, 2, 2}, 0));
}

TEST(TensorCore, CopyBroadcastsAndConverts) {
  Tensor dst = zeros({2, 3}, DType::f64);
  dst.copy_(from_vector<float>({1, 2, 3}).to(DType::f64));
  EXPECT_TRUE(all_close(dst, {1, 2, 3, 1, 2, 3}, 0));
}

TEST(TensorCore, RequiresGradOnlyOnFloatingLeaves) {
  EXPECT_THROW_MSG(zeros({2}, DType::i64).requires_grad_(), "requires_grad_", "floating", "i64");
  Tensor a = ones({2}).requires_grad_();
  Tensor b = a * 2.0;
  EXPECT_FALSE(b.is_leaf());
  EXPECT_THROW_MSG(b.requires_grad_(), "leaf");
  EXPECT_TRUE(b.detach().is_leaf());
  EXPECT_FALSE(b.detach().requires_grad());
}

TEST(TensorCore, PrintoutIsReadable) {
  const std::string s = from_vector<float>({1, 2.5f, -3, 4}, Shape{2, 2}).to_string();
  EXPECT_NE(s.find("[[ 1.0000,  2.5000],"), std::string::npos) << s;
  EXPECT_NE(s.find("dtype=f32, shape=[2, 2]"), std::string::npos) << s;
  Tensor g = ones({2}).requires_grad_();
  EXPECT_NE((g * 2.0).to_string().find("grad_fn=mul"), std::string::npos);
}

TEST(TensorCore, CudaWithoutBackendOrDeviceThrows) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
  EXPECT_THROW(zeros({2}, DType::f32, cuda_device(0)), Error);
}

}  // namespace
}  // namespace subtb

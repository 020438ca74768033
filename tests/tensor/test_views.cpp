// View ops: shapes, strides and offsets, shared storage (writes through a view reach the
// base), the no-copy rule of view() against reshape(), -1 inference, and gradients
// (f64 finite differences), including views of views that are not contiguous.
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::gradcheck_ok;
using testing::values;

// 0, 1, 2, ... as f32 in `shape`.
Tensor iota(const Shape& shape) { return reshape(arange(0.0, double(shape.numel()), 1.0, DType::f32), shape); }

Tensor smooth(const Shape& shape, uint64_t seed = 1) {
  Generator gen(seed);
  return randn(shape, DType::f64, kCPU, &gen);
}

bool shares_storage(const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); }

// ----- reshape / view

TEST(Views, ReshapeOfContiguousIsAView) {
  const Tensor x = iota({2, 3, 4});
  const Tensor y = reshape(x, Shape{6, 4});
  EXPECT_EQ(y.shape(), (Shape{6, 4}));
  EXPECT_EQ(y.strides(), (Shape{4, 1}));
  EXPECT_TRUE(shares_storage(x, y));
  EXPECT_EQ(values(y), values(x));
  // -1 is inferred, anywhere.
  EXPECT_EQ(reshape(x, Shape{-1, 12}).shape(), (Shape{2, 12}));
  EXPECT_EQ(reshape(x, Shape{4, -1, 2}).shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(x.view(Shape{-1}).shape(), (Shape{24}));
  EXPECT_EQ(reshape(iota({1}), Shape{}).shape(), (Shape{}));
  EXPECT_EQ(reshape(iota({0, 3}), Shape{3, 0, 5}).shape(), (Shape{3, 0, 5}));
}

TEST(Views, ViewRefusesToCopyAndReshapeCopies) {
  const Tensor xt = iota({3, 4}).t();  // [4, 3], not contiguous
  EXPECT_THROW_MSG(xt.view(Shape{12}), "view", "[4, 3]", "without a copy", "reshape");
  const Tensor flat = reshape(xt, Shape{12});
  EXPECT_FALSE(shares_storage(flat, xt));
  EXPECT_EQ(values(flat), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  // Splitting or merging dims that stay adjacent in memory needs no copy, even in a
  // non-contiguous tensor: [4, 3] with strides [1, 4] -> [2, 2, 3].
  const Tensor split = xt.view(Shape{2, 2, 3});
  EXPECT_TRUE(shares_storage(split, xt));
  EXPECT_EQ(split.strides(), (Shape{2, 1, 4}));
  EXPECT_EQ(values(split), values(xt));
  // A narrowed row-major tensor keeps its rows as chunks.
  const Tensor rows = narrow(iota({4, 6}), 1, 0, 4);  // [4, 4] with row stride 6
  EXPECT_EQ(rows.view(Shape{4, 2, 2}).strides(), (Shape{6, 2, 1}));
  EXPECT_THROW_MSG(rows.view(Shape{16}), "view", "without a copy");
}

TEST(Views, ReshapeErrors) {
  const Tensor x = iota({2, 3});
  EXPECT_THROW_MSG(reshape(x, Shape{4, 2}), "reshape", "[4, 2]", "8 elements", "6");
  EXPECT_THROW_MSG(reshape(x, Shape{-1, -1}), "reshape", "only one dim can be -1");
  EXPECT_THROW_MSG(reshape(x, Shape{4, -1}), "reshape", "cannot infer -1", "[4, -1]");
  EXPECT_THROW_MSG(reshape(x, Shape{0, -1}), "reshape", "cannot infer -1");
  EXPECT_THROW_MSG(reshape(x, Shape{-2, 3}), "reshape", "invalid extent -2");
  EXPECT_THROW_MSG(x.view(Shape{5}), "view", "[5]");
}

// ----- permute / transpose

TEST(Views, PermuteAndTranspose) {
  const Tensor x = iota({2, 3, 4});
  const Tensor p = permute(x, Shape{2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_TRUE(shares_storage(p, x));
  EXPECT_FALSE(p.is_contiguous());
  // p[i][j][k] = x[j][k][i] = 12 j + 4 k + i
  EXPECT_EQ(values(p.select(0, 1).select(0, 1)), (std::vector<double>{13, 17, 21}));
  const Tensor t = transpose(x, 0, -1);
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(values(t.select(0, 3).select(0, 2)), (std::vector<double>{11, 23}));
  EXPECT_EQ(values(iota({2, 2}).t()), (std::vector<double>{0, 2, 1, 3}));
  EXPECT_TRUE(permute(p, Shape{1, 2, 0}).is_contiguous());
  EXPECT_THROW_MSG(permute(x, Shape{0, 1}), "permute", "2 dims", "[2, 3, 4]");
  EXPECT_THROW_MSG(permute(x, Shape{0, 1, 1}), "permute", "repeats");
  EXPECT_THROW_MSG(permute(x, Shape{0, 1, 3}), "permute", "3");
  EXPECT_THROW_MSG(transpose(x, 0, 3), "transpose", "3");
}

// ----- squeeze / unsqueeze / expand

TEST(Views, SqueezeAndUnsqueeze) {
  const Tensor x = iota({2, 1, 3, 1});
  EXPECT_EQ(squeeze(x, 1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(squeeze(x, -1).shape(), (Shape{2, 1, 3}));
  EXPECT_TRUE(squeeze(x, 0).is_same(x)) << "squeezing a dim that is not 1 is a no-op";
  EXPECT_EQ(squeeze(x).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(iota({1, 1})).shape(), (Shape{}));
  const Tensor y = iota({2, 3});
  EXPECT_EQ(unsqueeze(y, 0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(unsqueeze(y, 1).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(unsqueeze(y, -1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(unsqueeze(y, -1).strides(), (Shape{3, 1, 1}));
  EXPECT_TRUE(unsqueeze(y, 1).is_contiguous());
  EXPECT_EQ(unsqueeze(iota({}), 0).shape(), (Shape{1}));
  EXPECT_TRUE(shares_storage(unsqueeze(y, 1), y));
  EXPECT_THROW_MSG(unsqueeze(y, 3), "unsqueeze", "dim 3");
  EXPECT_THROW_MSG(squeeze(y, 2), "squeeze", "2");
}

TEST(Views, ExpandBroadcastsWithStrideZero) {
  const Tensor x = iota({3, 1});
  const Tensor e = expand(x, Shape{2, 3, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  EXPECT_TRUE(shares_storage(e, x));
  EXPECT_EQ(values(e.select(0, 1).select(0, 2)), (std::vector<double>{2, 2, 2, 2}));
  EXPECT_EQ(expand(x, Shape{-1, 5}).shape(), (Shape{3, 5}));
  EXPECT_TRUE(expand(x, Shape{3, 1}).is_same(x));
  EXPECT_EQ(expand(iota({}), Shape{0, 2}).shape(), (Shape{0, 2}));
  EXPECT_THROW_MSG(expand(x, Shape{3, 4, 5}), "expand", "[3, 1]", "[3, 4, 5]");
  EXPECT_THROW_MSG(expand(x, Shape{4}), "expand", "fewer dims");
  EXPECT_THROW_MSG(expand(x, Shape{-1, 3, 1}), "expand", "-1");
}

// ----- slice / narrow / select

TEST(Views, SliceWithSteps) {
  const Tensor x = iota({10});
  EXPECT_EQ(values(slice(x, 0, 1, 8, 3)), (std::vector<double>{1, 4, 7}));
  EXPECT_EQ(values(slice(x, 0, 1, 9, 3)), (std::vector<double>{1, 4, 7}));
  EXPECT_EQ(values(slice(x, 0, -3, 100)), (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(values(slice(x, 0, -100, 2)), (std::vector<double>{0, 1}));
  EXPECT_EQ(slice(x, 0, 6, 2).numel(), 0);
  EXPECT_EQ(slice(x, 0, 12, 20).numel(), 0);
  const Tensor m = iota({4, 5});
  const Tensor s = slice(m, 1, 0, 5, 2);
  EXPECT_EQ(s.shape(), (Shape{4, 3}));
  EXPECT_EQ(s.strides(), (Shape{5, 2}));
  EXPECT_EQ(values(slice(s, 0, 1, 4, 2)), (std::vector<double>{5, 7, 9, 15, 17, 19}));
  EXPECT_THROW_MSG(slice(x, 0, 0, 5, 0), "slice", "step", "0");
  EXPECT_THROW_MSG(slice(iota({}), 0, 0, 1), "slice", "0-d");
}

TEST(Views, NarrowAndSelect) {
  const Tensor x = iota({3, 4});
  const Tensor n = narrow(x, 1, 1, 2);
  EXPECT_EQ(n.shape(), (Shape{3, 2}));
  EXPECT_EQ(n.offset(), 1);
  EXPECT_EQ(values(n), (std::vector<double>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(values(narrow(x, 0, -1, 1)), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_EQ(narrow(x, 1, 4, 0).numel(), 0);
  EXPECT_EQ(values(select(x, 1, 2)), (std::vector<double>{2, 6, 10}));
  EXPECT_EQ(values(select(x, 0, -1)), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_EQ(select(select(x, 0, 1), 0, 3).item(), 7);
  EXPECT_THROW_MSG(narrow(x, 1, 3, 2), "narrow", "[3, 5)", "[3, 4]");
  EXPECT_THROW_MSG(narrow(x, 1, 0, -1), "narrow", "out of bounds");
  EXPECT_THROW_MSG(select(x, 0, 3), "select", "index 3", "size 3");
  EXPECT_THROW_MSG(select(x, 1, -5), "select", "index -5", "size 4");
}

// ----- flatten / unflatten

TEST(Views, FlattenAndUnflatten) {
  const Tensor x = iota({2, 3, 4});
  EXPECT_EQ(flatten(x).shape(), (Shape{24}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{2, 12}));
  EXPECT_EQ(flatten(x, 0, 1).shape(), (Shape{6, 4}));
  EXPECT_EQ(flatten(x, -2, -1).shape(), (Shape{2, 12}));
  EXPECT_TRUE(shares_storage(flatten(x, 1), x));
  EXPECT_EQ(flatten(iota({})).shape(), (Shape{1}));
  EXPECT_EQ(values(flatten(x.transpose(0, 2))).front(), 0);
  EXPECT_EQ(values(flatten(x.transpose(0, 2)))[1], 12);
  EXPECT_THROW_MSG(flatten(x, 2, 1), "flatten", "start_dim 2", "end_dim 1");

  EXPECT_EQ(unflatten(x, 2, Shape{2, 2}).shape(), (Shape{2, 3, 2, 2}));
  EXPECT_EQ(unflatten(x, 1, Shape{-1, 1}).shape(), (Shape{2, 3, 1, 4}));
  EXPECT_EQ(unflatten(flatten(x), 0, Shape{2, -1, 4}).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(values(unflatten(flatten(x), 0, Shape{2, -1, 4})), values(x));
  EXPECT_THROW_MSG(unflatten(x, 2, Shape{3, 2}), "unflatten", "[3, 2]", "4");
  EXPECT_THROW_MSG(unflatten(x, 2, Shape{3, -1}), "unflatten", "[3, -1]");
}

// ----- shared storage

TEST(Views, WritesThroughViewsReachTheBase) {
  Tensor base = zeros(Shape{3, 4});
  Tensor col = select(base, 1, 2);
  col.fill_(5.0);
  Tensor stepped = slice(base, 1, 0, 4, 2).select(0, 0);  // base[0, 0] and base[0, 2]
  stepped.copy_(from_vector<float>({1, 2}));
  Tensor corner = narrow(narrow(base.t(), 0, 3, 1), 1, 1, 2);  // base[1:3, 3] seen transposed
  corner.copy_(from_vector<float>({7, 8}, Shape{1, 2}));
  EXPECT_EQ(values(base), (std::vector<double>{1, 0, 2, 0, 0, 0, 5, 7, 0, 0, 5, 8}));
  // And the other way: a write to the base shows in every view of it.
  base.fill_(3.0);
  EXPECT_EQ(values(corner), (std::vector<double>{3, 3}));
  EXPECT_EQ(values(col), (std::vector<double>{3, 3, 3}));
}

// ----- gradients

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

TEST(ViewsGrad, EveryViewOp) {
  const std::vector<std::pair<const char*, Fn>> cases = {
      {"reshape",
       [](const std::vector<Tensor>& v) {
         return reshape(v[0], Shape{3, -1});
       }},
      {"reshape copy", [](const std::vector<Tensor>& v) { return reshape(v[0].t(), Shape{-1}); }},
      {"view",
       [](const std::vector<Tensor>& v) {
         return v[0].view(Shape{2, 3, 2});
       }},
      {"permute",
       [](const std::vector<Tensor>& v) {
         return permute(reshape(v[0], Shape{2, 3, 2}), Shape{1, 2, 0});
       }},
      {"transpose", [](const std::vector<Tensor>& v) { return transpose(v[0], 0, 1) * v[0].t(); }},
      {"squeeze",
       [](const std::vector<Tensor>& v) {
         return squeeze(reshape(v[0], Shape{4, 1, 3}), 1);
       }},
      {"squeeze all",
       [](const std::vector<Tensor>& v) {
         return squeeze(reshape(v[0], Shape{1, 12, 1}));
       }},
      {"unsqueeze", [](const std::vector<Tensor>& v) { return unsqueeze(v[0], 1); }},
      {"expand",
       [](const std::vector<Tensor>& v) {
         return expand(narrow(v[0], 0, 0, 1), Shape{2, 4, 3});
       }},
      {"slice", [](const std::vector<Tensor>& v) { return slice(v[0], 1, 0, 3, 2); }},
      {"slice of transpose", [](const std::vector<Tensor>& v) { return slice(v[0].t(), 1, 1, 4, 2); }},
      {"narrow", [](const std::vector<Tensor>& v) { return narrow(v[0], 0, 1, 2); }},
      {"narrow of transpose", [](const std::vector<Tensor>& v) { return narrow(v[0].t(), 0, 1, 2); }},
      {"narrow of expand",
       [](const std::vector<Tensor>& v) {
         return narrow(expand(narrow(v[0], 0, 1, 1), Shape{3, 3}), 0, 1, 2);
       }},
      {"select", [](const std::vector<Tensor>& v) { return select(v[0], 1, -1); }},
      {"select of transpose", [](const std::vector<Tensor>& v) { return select(v[0].t(), 1, 2); }},
      {"flatten", [](const std::vector<Tensor>& v) { return flatten(v[0].t()); }},
      {"unflatten",
       [](const std::vector<Tensor>& v) {
         return unflatten(v[0], 0, Shape{2, -1});
       }},
  };
  for (const auto& [name, f] : cases) EXPECT_TRUE(gradcheck_ok(f, {smooth({4, 3})})) << name;
  // 0-d and empty inputs.
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return expand(v[0], Shape{2, 2}); }, {smooth({})}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return reshape(v[0], Shape{3, 0}); }, {smooth({0, 3})}));
}

TEST(ViewsGrad, RepeatedViewsAccumulate) {
  Tensor x = from_vector<double>({1, 2, 3, 4}, Shape{2, 2}).requires_grad_();
  // Each element is read twice: once directly and once through the transpose.
  sum(mul(x, 1.0) + mul(x.t(), 10.0)).backward();
  EXPECT_TRUE(all_close(x.grad(), {11, 11, 11, 11}, 0));
  Tensor y = from_vector<double>({1, 2, 3}).requires_grad_();
  sum(slice(y, 0, 0, 3, 2) * 2.0 + narrow(y, 0, 1, 2) * 3.0).backward();
  EXPECT_TRUE(all_close(y.grad(), {2, 3, 5}, 0));
}

}  // namespace
}  // namespace subtb

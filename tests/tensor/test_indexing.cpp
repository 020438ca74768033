// Gathering, scattering, joining, padding, triangles, embedding, one_hot and dropout:
// forward values against hand-worked references on every device and dtype, gradients
// by finite differences (f64, CPU), and the errors that name the op, index and size.
#include <cmath>
#include <random>

#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::gradcheck_ok;
using testing::values;

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor idx(const std::vector<int64_t>& v, const Shape& shape, Device device = kCPU) {
  return from_vector<int64_t>(v, shape, device);
}
Tensor idx(const std::vector<int64_t>& v, Device device = kCPU) {
  return from_vector<int64_t>(v, Shape{static_cast<int64_t>(v.size())}, device);
}

// 0, 1, 2, ... in `shape`, as f64 (for gradcheck inputs).
Tensor iota64(const Shape& shape) { return reshape(arange(0.0, double(shape.numel()), 1.0, DType::f64), shape); }

// Well-separated, non-integer values so that a wrong index changes the result.
Tensor smooth(const Shape& shape, uint64_t seed = 1) {
  Generator gen(seed);
  return randn(shape, DType::f64, kCPU, &gen);
}

class Indexing : public ::testing::TestWithParam<testing::DeviceDType> {
 protected:
  Device dev() const { return GetParam().device; }
  DType dt() const { return GetParam().dtype; }
  double tol() const { return testing::tolerance(dt()); }
  // Host values as a tensor of the parameter's dtype on its device.
  Tensor make(const std::vector<double>& v, const Shape& shape) const {
    return from_vector<double>(v, shape).to(dt()).to(dev());
  }
};

// ----- gather

TEST_P(Indexing, GatherAlongEachDim) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({0, 1, 2, 10, 11, 12}, Shape{2, 3});
  // dim 1: out[i][j] = x[i][index[i][j]]
  EXPECT_TRUE(all_close(gather(x, 1, idx({2, 0, 0, 1, 1, 2}, Shape{2, 3}, dev())), {2, 0, 0, 11, 11, 12}, tol()));
  // dim 0 with an index narrower than x: out[i][j] = x[index[i][j]][j]
  const Tensor out = gather(x, 0, idx({1, 0, 0, 0}, Shape{2, 2}, dev()));
  EXPECT_EQ(out.shape(), (Shape{2, 2}));
  EXPECT_TRUE(all_close(out, {10, 1, 0, 1}, tol()));
  // Negative dim counts from the end.
  EXPECT_TRUE(all_close(gather(x, -1, idx({1, 2}, Shape{2, 1}, dev())), {1, 12}, tol()));
}

TEST_P(Indexing, GatherFromNonContiguousViews) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({0, 1, 2, 10, 11, 12}, Shape{2, 3}).t();         // [3, 2]: rows (0, 10), (1, 11), (2, 12)
  const Tensor index = idx({1, 0, 1, 1, 0, 0}, Shape{2, 3}, dev()).t();  // [3, 2], strided
  EXPECT_TRUE(all_close(gather(x, 1, index), {10, 10, 1, 1, 12, 2}, tol()));
}

TEST(IndexingGrad, Gather) {
  const Tensor index = idx({2, 0, 0, 1, 1, 1, 3, 3}, Shape{2, 4});  // repeats accumulate
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return gather(v[0], 1, index); }, {smooth({2, 5})}));
  // Through a transposed view: x.t() is [5, 2].
  const Tensor index0 = idx({4, 0, 4, 2, 1, 1}, Shape{3, 2});
  EXPECT_TRUE(
      gradcheck_ok([&](const std::vector<Tensor>& v) { return gather(v[0].t(), 0, index0); }, {smooth({2, 5})}));
  // An empty index: the gradient is all zeros of x's shape.
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) {
        return gather(v[0], 1, idx({}, Shape{2, 0}));
      },
      {smooth({2, 3})}));
}

// ----- scatter_add

TEST_P(Indexing, ScatterAddAccumulatesRepeatedIndices) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({1, 1, 1, 1, 1, 1}, Shape{2, 3});
  const Tensor src = make({1, 2, 3, 4, 5, 6, 7, 8}, Shape{2, 4});
  const Tensor out = scatter_add(x, 1, idx({0, 0, 2, 0, 1, 1, 1, 2}, Shape{2, 4}, dev()), src);
  EXPECT_TRUE(all_close(out, {1 + 1 + 2 + 4, 1, 1 + 3, 1, 1 + 5 + 6 + 7, 1 + 8}, tol()));
  EXPECT_TRUE(all_close(x, {1, 1, 1, 1, 1, 1}, 0)) << "scatter_add must not modify its input";
  // Along dim 0 with fewer columns than x, into a non-contiguous x.
  const Tensor xt = make({0, 0, 0, 0, 0, 0}, Shape{3, 2}).t();  // [2, 3]
  const Tensor out0 = scatter_add(xt, 0, idx({1, 1, 1, 0}, Shape{2, 2}, dev()), make({1, 2, 3, 4}, Shape{2, 2}));
  EXPECT_TRUE(all_close(out0, {0, 4, 0, 4, 2, 0}, tol()));
}

TEST(IndexingGrad, ScatterAdd) {
  const Tensor index = idx({0, 0, 2, 0, 1, 1, 1, 2}, Shape{2, 4});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return scatter_add(v[0], 1, index, v[1]); },
                           {smooth({2, 3}), smooth({2, 4}, 2)}));
  // Non-contiguous src and x.
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) {
        return scatter_add(v[0].t(), 0, idx({1, 0, 1, 1}, Shape{2, 2}), v[1].t());
      },
      {smooth({3, 2}), smooth({2, 2}, 3)}));
}

// ----- index_select / index_add

TEST_P(Indexing, IndexSelect) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({0, 1, 2, 10, 11, 12}, Shape{2, 3});
  EXPECT_TRUE(all_close(index_select(x, 1, idx({2, 2, 0}, dev())), {2, 2, 0, 12, 12, 10}, tol()));
  EXPECT_TRUE(all_close(index_select(x, 0, idx({1, 1, 0}, dev())), {10, 11, 12, 10, 11, 12, 0, 1, 2}, tol()));
  EXPECT_TRUE(all_close(index_select(x.t(), 0, idx({2, 0}, dev())), {2, 12, 0, 10}, tol()));
  // A strided index.
  const Tensor strided = slice(idx({1, 9, 0, 9, 1, 9}, dev()), 0, 0, 6, 2);
  EXPECT_TRUE(all_close(index_select(x, 0, strided), {10, 11, 12, 0, 1, 2, 10, 11, 12}, tol()));
  const Tensor none = index_select(x, 1, idx({}, dev()));
  EXPECT_EQ(none.shape(), (Shape{2, 0}));
}

TEST_P(Indexing, IndexAdd) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({1, 2, 3, 4, 5, 6}, Shape{3, 2});
  const Tensor src = make({10, 20, 30, 40, 50, 60, 70, 80}, Shape{4, 2});
  const Tensor out = index_add(x, 0, idx({2, 0, 2, 2}, dev()), src);
  EXPECT_TRUE(all_close(out, {1 + 30, 2 + 40, 3, 4, 5 + 10 + 50 + 70, 6 + 20 + 60 + 80}, tol()));
  const Tensor out1 = index_add(x, 1, idx({1, 1}, dev()), make({1, 2, 3, 4, 5, 6}, Shape{3, 2}));
  EXPECT_TRUE(all_close(out1, {1, 2 + 3, 3, 4 + 7, 5, 6 + 11}, tol()));
}

TEST(IndexingGrad, IndexSelectAndIndexAdd) {
  const Tensor index = idx({2, 0, 2, 2});
  EXPECT_TRUE(
      gradcheck_ok([&](const std::vector<Tensor>& v) { return index_select(v[0], 0, index); }, {smooth({3, 2})}));
  EXPECT_TRUE(
      gradcheck_ok([&](const std::vector<Tensor>& v) { return index_select(v[0].t(), 1, index); }, {smooth({3, 4})}));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return index_add(v[0], 0, index, v[1]); },
                           {smooth({3, 2}), smooth({4, 2}, 2)}));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return index_add(v[0], 1, index, v[1].t()); },
                           {smooth({2, 3}), smooth({4, 2}, 2)}));
  EXPECT_TRUE(
      gradcheck_ok([&](const std::vector<Tensor>& v) { return index_select(v[0], 1, idx({})); }, {smooth({2, 3})}));
}

// Large enough for the threaded paths: the result must match a one-thread reference
// bit for bit, since every output element sums its sources in index order.
TEST(IndexingCpu, LargeIndexAddIsDeterministicAndExact) {
  const int64_t rows = 4096, cols = 96, vocab = 7;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int64_t> pick(0, vocab - 1);
  std::vector<int64_t> index(rows);
  for (int64_t& i : index) i = pick(rng);
  Generator gen(5);
  const Tensor src = randn(Shape{rows, cols}, DType::f32, kCPU, &gen);
  const std::vector<float> s = src.to_vector<float>();
  std::vector<float> expected(static_cast<size_t>(vocab * cols), 0.0f);
  for (int64_t k = 0; k < rows; ++k)
    for (int64_t j = 0; j < cols; ++j) expected[index[k] * cols + j] += s[k * cols + j];

  const Tensor out = index_add(zeros(Shape{vocab, cols}), 0, idx(index), src);
  EXPECT_EQ(out.to_vector<float>(), expected);
  // scatter_add with the index broadcast over columns is the same sum.
  const Tensor index2d = expand(reshape(idx(index), Shape{rows, 1}), Shape{rows, cols});
  EXPECT_EQ(scatter_add(zeros(Shape{vocab, cols}), 0, index2d, src).to_vector<float>(), expected);
  // Along the last dim, where each fiber is a contiguous row of src.
  std::uniform_int_distribution<int64_t> pick_col(0, vocab - 1);
  std::vector<int64_t> cols_index(static_cast<size_t>(rows * cols));
  for (int64_t& i : cols_index) i = pick_col(rng);
  std::vector<float> expected_rows(static_cast<size_t>(rows * vocab), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) expected_rows[r * vocab + cols_index[r * cols + k]] += s[r * cols + k];
  EXPECT_EQ(scatter_add(zeros(Shape{rows, vocab}), 1, idx(cols_index, Shape{rows, cols}), src).to_vector<float>(),
            expected_rows);
  // And the lookup in the other direction reads the right rows.
  const Tensor table = randn(Shape{vocab, cols}, DType::f32, kCPU, &gen);
  const std::vector<float> t = table.to_vector<float>(), picked = index_select(table, 0, idx(index)).to_vector<float>();
  for (int64_t k = 0; k < rows; k += 97)
    for (int64_t j = 0; j < cols; ++j) ASSERT_EQ(picked[k * cols + j], t[index[k] * cols + j]);
}

// ----- masked_fill

TEST_P(Indexing, MaskedFill) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const Tensor mask = from_vector<bool>({true, false, false, false, false, true}, Shape{2, 3}).to(dev());
  EXPECT_TRUE(all_close(masked_fill(x, mask, -INFINITY), {-INFINITY, 2, 3, 4, 5, -INFINITY}, tol()));
  // The mask broadcasts over rows.
  const Tensor row_mask = from_vector<bool>({false, true, false}).to(dev());
  EXPECT_TRUE(all_close(masked_fill(x, row_mask, 9), {1, 9, 3, 4, 9, 6}, tol()));
}

TEST(IndexingGrad, MaskedFill) {
  const Tensor mask = from_vector<bool>({true, false, true}, Shape{3, 1});
  EXPECT_TRUE(
      gradcheck_ok([&](const std::vector<Tensor>& v) { return masked_fill(v[0], mask, 2.5); }, {smooth({3, 2})}));
  EXPECT_TRUE(
      gradcheck_ok([&](const std::vector<Tensor>& v) { return masked_fill(v[0].t(), mask, 2.5); }, {smooth({2, 3})}));
}

// ----- cat / stack / split / chunk

TEST_P(Indexing, CatAlongEachDim) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor a = make({1, 2, 3, 4}, Shape{2, 2}), b = make({5, 6}, Shape{1, 2});
  EXPECT_TRUE(all_close(cat({a, b}, 0), {1, 2, 3, 4, 5, 6}, tol()));
  const Tensor c = make({7, 8, 9, 10, 11, 12}, Shape{2, 3});
  const Tensor ac = cat({a, c}, -1);
  EXPECT_EQ(ac.shape(), (Shape{2, 5}));
  EXPECT_TRUE(all_close(ac, {1, 2, 7, 8, 9, 3, 4, 10, 11, 12}, tol()));
  // Non-contiguous and empty pieces.
  const Tensor empty = make({}, Shape{2, 0});
  EXPECT_TRUE(all_close(cat({a.t(), empty, a}, 1), {1, 3, 1, 2, 2, 4, 3, 4}, tol()));
}

TEST_P(Indexing, StackSplitChunk) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor a = make({1, 2, 3}, Shape{3}), b = make({4, 5, 6}, Shape{3});
  const Tensor s0 = stack({a, b});
  EXPECT_EQ(s0.shape(), (Shape{2, 3}));
  EXPECT_TRUE(all_close(s0, {1, 2, 3, 4, 5, 6}, tol()));
  const Tensor s1 = stack({a, b}, -1);
  EXPECT_EQ(s1.shape(), (Shape{3, 2}));
  EXPECT_TRUE(all_close(s1, {1, 4, 2, 5, 3, 6}, tol()));

  const Tensor x = make({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{5, 2});
  const std::vector<Tensor> pieces = split(x, 2);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[2].shape(), (Shape{1, 2}));
  EXPECT_TRUE(all_close(pieces[1], {4, 5, 6, 7}, tol()));
  EXPECT_EQ(pieces[1].storage(), x.storage()) << "split returns views";
  const std::vector<Tensor> sized = split(x, {1, 0, 4}, 0);
  ASSERT_EQ(sized.size(), 3u);
  EXPECT_EQ(sized[1].shape(), (Shape{0, 2}));
  EXPECT_TRUE(all_close(sized[2], {2, 3, 4, 5, 6, 7, 8, 9}, tol()));
  // chunk: ceil(5 / 3) = 2 rows a piece; ceil(2 / 4) = 1 column a piece, so only 2 pieces.
  const std::vector<Tensor> chunks = chunk(x, 3);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(chunks[2].shape(), (Shape{1, 2}));
  const std::vector<Tensor> cols = chunk(x, 4, 1);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_TRUE(all_close(cols[1], {1, 3, 5, 7, 9}, tol()));
  EXPECT_EQ(chunk(make({}, Shape{0, 2}), 3).size(), 1u);
}

TEST(IndexingGrad, CatStackSplit) {
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& v) {
        return cat({v[0], v[1].t(), v[2]}, 1);
      },
      {smooth({2, 3}), smooth({1, 2}, 2), smooth({2, 0}, 3)}));
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& v) {
        return cat({v[0], v[1]}, 0);
      },
      {smooth({2, 3}), smooth({1, 3}, 2)}));
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& v) {
        return stack({v[0], v[1].t()}, 1);
      },
      {smooth({2, 3}), smooth({3, 2}, 2)}));
  // Gradients of pieces flow back to the one input; a piece left unused gets none.
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& v) {
        std::vector<Tensor> p = split(v[0], {2, 1, 2}, 1);
        return p[0] * p[2];
      },
      {smooth({3, 5})}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return chunk(v[0], 2, 0)[1] * 3.0; }, {smooth({5, 2})}));
}

// ----- pad

TEST_P(Indexing, PadAndCrop) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  // Last dim only: one before, two after.
  EXPECT_TRUE(all_close(pad(x, {1, 2}, -1), {-1, 1, 2, 3, -1, -1, -1, 4, 5, 6, -1, -1}, tol()));
  // Both dims: the second pair pads dim 0 (one row after).
  const Tensor both = pad(x, {0, 1, 0, 1});
  EXPECT_EQ(both.shape(), (Shape{3, 4}));
  EXPECT_TRUE(all_close(both, {1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0}, tol()));
  // Negative pads crop: drop the first column, add one after; drop the last row.
  const Tensor mixed = pad(x, {-1, 1, 0, -1}, 7);
  EXPECT_EQ(mixed.shape(), (Shape{1, 3}));
  EXPECT_TRUE(all_close(mixed, {2, 3, 7}, tol()));
  // Cropping everything leaves only padding.
  EXPECT_TRUE(all_close(pad(x, {-3, 2}), {0, 0, 0, 0}, tol()));
  // A transposed input pads like its contiguous copy.
  EXPECT_TRUE(all_close(pad(x.t(), {1, 0}), {0, 1, 4, 0, 2, 5, 0, 3, 6}, tol()));
  EXPECT_EQ(pad(x, {}).shape(), x.shape());
}

TEST(IndexingGrad, Pad) {
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& v) {
        return pad(v[0], {1, 2, 0, 1}, 3.0);
      },
      {smooth({2, 3})}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return pad(v[0], {-1, 1, 1, -1}); }, {smooth({3, 3})}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return pad(v[0].t(), {-2, 0}); }, {smooth({2, 3})}));
}

// ----- tril / triu

TEST_P(Indexing, TrilTriu) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor x = make({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Shape{3, 4});
  EXPECT_TRUE(all_close(tril(x), {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}, tol()));
  EXPECT_TRUE(all_close(tril(x, 1), {1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12}, tol()));
  EXPECT_TRUE(all_close(tril(x, -1), {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0}, tol()));
  EXPECT_TRUE(all_close(triu(x), {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12}, tol()));
  EXPECT_TRUE(all_close(triu(x, 2), {0, 0, 3, 4, 0, 0, 0, 8, 0, 0, 0, 0}, tol()));
  // Infinities in the dropped triangle become exactly 0 (a causal mask's use).
  const Tensor inf = make({INFINITY, -INFINITY, INFINITY, -INFINITY}, Shape{2, 2});
  EXPECT_TRUE(all_close(triu(inf, 1), {0, -INFINITY, 0, 0}, 0));
  // Batched: every matrix of the batch, and a transposed view.
  const Tensor batch = stack({x, x.t().contiguous().t() * 2.0});
  EXPECT_TRUE(
      all_close(tril(batch), {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0, 2, 0, 0, 0, 10, 12, 0, 0, 18, 20, 22, 0}, tol()));
  EXPECT_TRUE(all_close(triu(x.t()), {1, 5, 9, 0, 6, 10, 0, 0, 11, 0, 0, 0}, tol()));
}

TEST(IndexingGrad, TrilTriu) {
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return tril(v[0], -1); }, {smooth({2, 3, 3})}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return triu(v[0].t(), 1); }, {smooth({4, 3})}));
}

// ----- embedding / one_hot

TEST_P(Indexing, Embedding) {
  SUBTB_SKIP_WITHOUT_DEVICE(dev());
  const Tensor weight = make({0, 1, 10, 11, 20, 21}, Shape{3, 2});
  const Tensor out = embedding(weight, idx({2, 0, 2, 1}, Shape{2, 2}, dev()));
  EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
  EXPECT_TRUE(all_close(out, {20, 21, 0, 1, 20, 21, 10, 11}, tol()));
  EXPECT_TRUE(all_close(embedding(weight, idx({1}, Shape{}, dev())), {10, 11}, tol()));
  EXPECT_EQ(embedding(weight, idx({}, Shape{0, 4}, dev())).shape(), (Shape{0, 4, 2}));
}

TEST(IndexingGrad, EmbeddingAccumulatesRepeatedRows) {
  Tensor weight = iota64({4, 3}).requires_grad_();
  const Tensor indices = idx({3, 0, 3, 3, 1, 0}, Shape{2, 3});
  Tensor out = embedding(weight, indices);
  out.backward(ones(Shape{2, 3, 3}, DType::f64));
  EXPECT_TRUE(all_close(weight.grad(), {2, 2, 2, 1, 1, 1, 0, 0, 0, 3, 3, 3}, 0));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return embedding(v[0], indices); }, {smooth({4, 3})}));
  EXPECT_TRUE(
      gradcheck_ok([&](const std::vector<Tensor>& v) { return embedding(v[0].t(), indices.t()); }, {smooth({3, 4})}));
}

TEST(IndexingOps, OneHot) {
  const Tensor h = one_hot(idx({2, 0, 1, 2}, Shape{2, 2}), 3);
  EXPECT_EQ(h.dtype(), DType::i64);
  EXPECT_EQ(h.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(h.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}));
  const Tensor f = one_hot(idx({1}, Shape{}), 2, DType::f32);
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_TRUE(all_close(f, {0, 1}, 0));
}

// ----- dropout

TEST(IndexingOps, DropoutScalesKeptAndZeroesDropped) {
  Generator gen(11);
  const int64_t n = 200000;
  const Tensor x = add(rand(Shape{n}, DType::f32, kCPU, &gen), 1.0);  // in [1, 2): never 0
  const double p = 0.3;
  const Tensor y = dropout(x, p, /*training=*/true, &gen);
  const std::vector<double> xv = values(x), yv = values(y);
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (yv[i] == 0) {
      ++dropped;
    } else {
      ASSERT_NEAR(yv[i], xv[i] / (1 - p), 1e-6 * yv[i]) << "element " << i;
    }
  }
  // Binomial(n, p): 5 standard errors is far outside chance and fixed by the seed.
  EXPECT_NEAR(static_cast<double>(dropped) / n, p, 5 * std::sqrt(p * (1 - p) / n));

  EXPECT_TRUE(dropout(x, p, /*training=*/false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, /*training=*/true).is_same(x));
  const Tensor special = from_vector<float>({INFINITY, NAN, 1});
  EXPECT_TRUE(all_close(dropout(special, 1.0, true), {0, 0, 0}, 0));
}

TEST(IndexingOps, DropoutIsReproducibleAndDifferentiable) {
  const Tensor x = ones(Shape{64}, DType::f64);
  Generator a(3), b(3);
  EXPECT_EQ(values(dropout(x, 0.5, true, &a)), values(dropout(x, 0.5, true, &b)));
  // The gradient is the mask scaled by 1 / (1 - p): exactly the output for x = 1.
  Tensor leaf = ones(Shape{64}, DType::f64).requires_grad_();
  Generator g(4);
  const Tensor y = dropout(leaf, 0.25, true, &g);
  sum(y).backward();
  EXPECT_TRUE(all_close(leaf.grad(), values(y), 0));
}

// ----- errors

TEST(IndexingErrors, OutOfRangeIndicesNameOpIndexAndSize) {
  const Tensor x = zeros(Shape{2, 3});
  EXPECT_THROW_MSG(gather(x, 1, idx({0, 3}, Shape{2, 1})), "gather", "index 3", "size 3");
  EXPECT_THROW_MSG(gather(x, 0, idx({-1}, Shape{1, 1})), "gather", "index -1", "size 2");
  EXPECT_THROW_MSG(scatter_add(x, 0, idx({2}, Shape{1, 1}), ones(Shape{1, 1})), "scatter_add", "index 2", "size 2");
  EXPECT_THROW_MSG(index_select(x, 1, idx({0, 7})), "index_select", "index 7", "size 3");
  EXPECT_THROW_MSG(index_add(x, 0, idx({5}), ones(Shape{1, 3})), "index_add", "index 5", "size 2");
  EXPECT_THROW_MSG(embedding(x, idx({1, 2})), "embedding", "index 2", "size 2");
  EXPECT_THROW_MSG(one_hot(idx({0, 4}), 4), "one_hot", "index 4", "size 4");
  EXPECT_THROW_MSG(one_hot(idx({-2}), 4), "one_hot", "index -2", "size 4");
}

TEST(IndexingErrors, BadArguments) {
  const Tensor x = zeros(Shape{2, 3});
  EXPECT_THROW_MSG(gather(x, 1, from_vector<int32_t>({0}, Shape{1, 1})), "gather", "index must be i64", "i32");
  EXPECT_THROW_MSG(gather(x, 1, idx({0}, Shape{1})), "gather", "as many dims", "[2, 3]");
  EXPECT_THROW_MSG(gather(x, 1, idx({0, 0, 0}, Shape{3, 1})), "gather", "larger than", "dim 0");
  EXPECT_THROW_MSG(gather(x, 2, idx({0}, Shape{1, 1})), "gather", "2");
  EXPECT_THROW_MSG(scatter_add(x, 0, idx({0, 0}, Shape{1, 2}), ones(Shape{1, 3})), "scatter_add", "same shape");
  EXPECT_THROW_MSG(scatter_add(x, 0, idx({0, 0, 0, 0}, Shape{1, 4}), ones(Shape{1, 4})), "scatter_add", "src",
                   "larger than x", "dim 1");
  EXPECT_THROW_MSG(scatter_add(x, 0, idx({0}, Shape{1, 1}), ones(Shape{1, 1}, DType::f64)), "scatter_add",
                   "dtypes differ");
  EXPECT_THROW_MSG(index_select(x, 0, idx({0}, Shape{1, 1})), "index_select", "1-d");
  EXPECT_THROW_MSG(index_add(x, 0, idx({0}), ones(Shape{1, 2})), "index_add", "[1, 3]", "[1, 2]");
  EXPECT_THROW_MSG(masked_fill(x, ones(Shape{2, 3}), 0), "masked_fill", "mask must be bool");
  EXPECT_THROW_MSG(masked_fill(x, zeros(Shape{4}, DType::b8), 0), "masked_fill", "[4]", "[2, 3]");
  EXPECT_THROW_MSG(cat({x, zeros(Shape{3, 3})}, 1), "cat", "[3, 3]", "[2, 3]");
  EXPECT_THROW_MSG(cat({x, zeros(Shape{2, 3}, DType::f64)}), "cat", "dtypes differ");
  EXPECT_THROW_MSG(cat({}), "cat", "at least one");
  EXPECT_THROW_MSG(cat({scalar_tensor(1), scalar_tensor(2)}), "cat", "0-d");
  EXPECT_THROW_MSG(stack({x, zeros(Shape{3, 2})}), "stack", "[3, 2]", "[2, 3]");
  EXPECT_THROW_MSG(stack({x}, 3), "stack", "dim 3");
  EXPECT_THROW_MSG(split(x, 0), "split", "positive");
  EXPECT_THROW_MSG(split(x, {1, 1, 2}, 1), "split", "4", "[2, 3]");
  EXPECT_THROW_MSG(chunk(x, 0), "chunk", "positive");
  EXPECT_THROW_MSG(pad(x, {1}), "pad", "1 pad values", "[2, 3]");
  EXPECT_THROW_MSG(pad(x, {1, 1, 1, 1, 1, 1}), "pad", "6 pad values");
  EXPECT_THROW_MSG(pad(x, {-2, -2}), "pad", "negative size", "[2, 3]");
  EXPECT_THROW_MSG(tril(zeros(Shape{3})), "tril", "at least 2 dims", "[3]");
  EXPECT_THROW_MSG(triu(zeros(Shape{3})), "triu", "at least 2 dims");
  EXPECT_THROW_MSG(embedding(zeros(Shape{3}), idx({0})), "embedding", "2-d", "[3]");
  EXPECT_THROW_MSG(one_hot(idx({0}), 0), "one_hot", "num_classes");
  EXPECT_THROW_MSG(dropout(x, 1.5, true), "dropout", "[0, 1]", "1.5");
  EXPECT_THROW_MSG(dropout(x, -0.1, true), "dropout", "[0, 1]");
  EXPECT_THROW_MSG(dropout(idx({1}), 0.5, true), "dropout", "floating");
}

INSTANTIATE_TEST_SUITE_P(All, Indexing, ::testing::ValuesIn(testing::all_float_params()), testing::param_name);

}  // namespace
}  // namespace subtb

// matmul and outer front ends, and the matmul vjp.
#include "tensor/ops/linalg.h"

#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

// The dims of `s` before its last two (empty for 1-d and 2-d shapes).
Shape batch_dims(const Shape& s) {
  Shape out;
  for (int i = 0; i + 2 < s.size(); ++i) out.push_back(s[i]);
  return out;
}

// NumPy's promotion of a 1-d operand: a vector on the left is a row [1, K], on the right
// a column [K, 1].
Shape promoted_shape(const Shape& s, bool left) {
  if (s.size() != 1) return s;
  return left ? Shape{1, s[0]} : Shape{s[0], 1};
}

// `t` (shape batch' + [rows, cols], batch' broadcasting to `batch`) as the [B, rows,
// cols] operand of the matmul kernel. The batch dims fold into one when their strides
// allow it, which is always the case for contiguous and broadcast operands; otherwise
// the expanded operand is copied.
Tensor as_batched(const Tensor& t, bool left, const Shape& batch) {
  const Shape promoted = promoted_shape(t.shape(), left);
  const int nt = promoted.size(), lead = batch.size() - (nt - 2);
  const int64_t rows = promoted[nt - 2], cols = promoted[nt - 1];
  // Strides of the promoted view; the added dim has extent 1, so its stride is unused.
  const int64_t last = t.strides()[t.dim() - 1];
  const int64_t row_stride = t.dim() > 1 ? t.strides()[t.dim() - 2] : left ? 0 : last;
  const int64_t col_stride = t.dim() > 1 || left ? last : 0;

  int64_t count = 1, stride = 0;
  bool folds = true;
  for (int i = 0; i < batch.size(); ++i) {
    if (batch[i] == 1) continue;
    const int j = i - lead;
    const int64_t s = j >= 0 && t.shape()[j] != 1 ? t.strides()[j] : 0;
    if (count > 1 && stride != s * batch[i]) folds = false;
    count *= batch[i];
    stride = s;
  }
  const Shape shape{count, rows, cols};
  if (folds) return make_view(t, shape, Strides{stride, row_stride, col_stride}, t.offset());

  Shape full = batch;
  full.push_back(rows);
  full.push_back(cols);
  Strides full_strides = Strides::filled(full.size(), 0);
  for (int i = 0; i < batch.size(); ++i) {
    const int j = i - lead;
    if (j >= 0 && t.shape()[j] != 1) full_strides[i] = t.strides()[j];
  }
  full_strides[full.size() - 2] = row_stride;
  full_strides[full.size() - 1] = col_stride;
  Tensor packed = make_tensor(full, t.dtype(), t.device());
  backend(t.device()).copy(make_view(t, full, full_strides, t.offset()), packed);
  return make_view(packed, shape, contiguous_strides(shape), 0);
}

// d(a @ b) = g @ b^T for a and a^T @ g for b, computed on the promoted shapes and summed
// back over the batch dims each operand was broadcast along.
class MatmulBackward final : public Node {
 public:
  MatmulBackward(const Tensor& a, const Tensor& b, Shape out_promoted)
      : a_(b.requires_grad() ? a : Tensor()),
        b_(a.requires_grad() ? b : Tensor()),
        a_shape_(a.shape()),
        b_shape_(b.shape()),
        out_promoted_(out_promoted) {}
  const char* name() const override { return "matmul"; }

  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Shape pa = promoted_shape(a_shape_, true), pb = promoted_shape(b_shape_, false);
    const Tensor g = reshape(grads[0], out_promoted_);
    Tensor ga, gb;
    if (next[0].valid()) {
      const Tensor b = reshape(b_.unpack(name()), pb);
      ga = reshape(sum_to(matmul(g, b.transpose(-2, -1)), pa), a_shape_);
    }
    if (next[1].valid()) {
      const Tensor a = reshape(a_.unpack(name()), pa);
      if (pb.size() == 2 && pa.size() > 2) {
        // b was shared by every batch: fold the batch into the rows, one [K, N] gemm
        // instead of a batched product and a sum over the batch.
        gb = matmul(flatten(a, 0, -2).transpose(0, 1), flatten(g, 0, -2));
      } else {
        gb = sum_to(matmul(a.transpose(-2, -1), g), pb);
      }
      gb = reshape(gb, b_shape_);
    }
    return {ga, gb};
  }
  void release() override {
    a_.reset();
    b_.reset();
  }

 private:
  SavedTensor a_, b_;  // each kept only when the other operand's gradient needs it
  Shape a_shape_, b_shape_, out_promoted_;
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same_device("matmul", a, b);
  detail::check_same_dtype("matmul", a, b);
  SUBTB_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least one dim, got ", describe(a),
              " and ", describe(b));
  SUBTB_CHECK(a.dtype() != DType::b8, "matmul: bool operands are not supported, got ", describe(a), " and ",
              describe(b));
  const Shape pa = promoted_shape(a.shape(), true), pb = promoted_shape(b.shape(), false);
  const int64_t m = pa[pa.size() - 2], k = pa[pa.size() - 1], n = pb[pb.size() - 1];
  const int64_t kb = pb[pb.size() - 2];
  SUBTB_CHECK(k == kb, "matmul: shapes ", a.shape(), " and ", b.shape(), " do not align (", k, " != ", kb, ")");

  const Shape ba = batch_dims(pa), bb = batch_dims(pb);
  for (int i = 1; i <= std::min(ba.size(), bb.size()); ++i) {
    const int64_t da = ba[ba.size() - i], db = bb[bb.size() - i];
    SUBTB_CHECK(da == db || da == 1 || db == 1, "matmul: batch dims of shapes ", a.shape(), " and ", b.shape(),
                " do not broadcast (", da, " vs ", db, ")");
  }
  const Shape batch = broadcast_shapes(ba, bb, "matmul");

  Shape out_promoted = batch, out_shape = batch;
  out_promoted.push_back(m);
  out_promoted.push_back(n);
  if (a.dim() > 1) out_shape.push_back(m);
  if (b.dim() > 1) out_shape.push_back(n);
  Tensor out = make_tensor(out_shape, a.dtype(), a.device());
  const Shape kernel_shape{batch.numel(), m, n};
  backend(a.device()).matmul(as_batched(a, true, batch), as_batched(b, false, batch),
                             make_view(out, kernel_shape, contiguous_strides(kernel_shape), 0));

  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<MatmulBackward>(a, b, out_promoted), {&a, &b}, {&out});
  return out;
}

Tensor outer(const Tensor& a, const Tensor& b) {
  SUBTB_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expected two 1-d tensors, got ", describe(a), " and ",
              describe(b));
  detail::check_same_device("outer", a, b);
  detail::check_same_dtype("outer", a, b);
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

}  // namespace subtb

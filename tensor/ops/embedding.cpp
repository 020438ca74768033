// Lookups and masks: embedding, one_hot and dropout.
#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

// The rows of the weight gradient accumulate the output gradient of every lookup that
// read them (index_add), so an index repeated n times gets n contributions.
class EmbeddingBackward final : public autograd::Node {
 public:
  EmbeddingBackward(int64_t vocab, const Tensor& flat_indices) : vocab_(vocab), indices_(flat_indices) {}
  const char* name() const override { return "embedding"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor indices = indices_.unpack(name());
    const int64_t dim = g[0].shape().back();
    Tensor gw = zeros(Shape{vocab_, dim}, g[0].dtype(), g[0].device());
    backend(gw.device()).index_add(gw, 0, indices, reshape(g[0], Shape{indices.numel(), dim}));
    return {gw};
  }
  void release() override { indices_.reset(); }

 private:
  int64_t vocab_;
  autograd::SavedTensor indices_;
};

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  SUBTB_CHECK(weight.dim() == 2, "embedding: weight must be 2-d [V, D], got ", describe(weight));
  detail::check_same_device("embedding", weight, indices);
  detail::check_dtype("embedding", indices, DType::i64, "indices");
  const int64_t vocab = weight.shape()[0], dim = weight.shape()[1];
  if (std::optional<int64_t> bad = detail::first_out_of_range(indices, vocab))
    SUBTB_THROW("embedding: index ", *bad, " is out of bounds for size ", vocab, " (the rows of weight ",
                describe(weight), ")");
  Shape shape = indices.shape();
  shape.push_back(dim);
  Tensor out = make_tensor(shape, weight.dtype(), weight.device());
  const Tensor flat = reshape(indices, Shape{indices.numel()});
  const Shape rows{indices.numel(), dim};
  backend(weight.device()).index_select(weight, 0, flat, make_view(out, rows, contiguous_strides(rows), 0));
  if (autograd::needs_grad({&weight}))
    autograd::record(std::make_shared<EmbeddingBackward>(vocab, flat), {&weight}, {&out});
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes, DType dtype) {
  detail::check_dtype("one_hot", indices, DType::i64, "indices");
  SUBTB_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got ", num_classes);
  if (std::optional<int64_t> bad = detail::first_out_of_range(indices, num_classes))
    SUBTB_THROW("one_hot: index ", *bad, " is out of bounds for size ", num_classes, " (num_classes) in ",
                describe(indices));
  return eq(unsqueeze(indices, -1), arange(num_classes, DType::i64, indices.device())).to(dtype);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  detail::check_floating("dropout", x);
  SUBTB_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got ", p, " for ", describe(x));
  if (!training || p == 0.0) return x;
  // where() rather than a multiply by the mask, so that dropped elements are exactly 0
  // even where x is infinite or NaN.
  if (p == 1.0) return where(zeros(x.shape(), DType::b8, x.device()), x, 0.0);
  // The keep mask is drawn in f32 (f64 for f64 inputs) so that 1 - p is not rounded to
  // a 16-bit float's precision.
  const DType mask_dtype = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor keep = bernoulli(full(x.shape(), 1.0 - p, mask_dtype, x.device()), gen).to(DType::b8);
  return where(keep, mul(x, 1.0 / (1.0 - p)), 0.0);
}

}  // namespace subtb

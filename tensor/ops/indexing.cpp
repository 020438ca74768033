// Indexing, joining and padding front ends and their vjps. The gather/scatter family
// pairs up under differentiation: gather's vjp is a scatter_add into zeros and
// scatter_add's (for src) a gather, and likewise index_select and index_add. Those vjps
// call the backend kernels directly: the forward already checked the saved indices, so
// backward neither re-checks them nor pays the host read that checking costs on a device.
#include "tensor/ops/indexing.h"

#include <algorithm>

#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace detail {

std::optional<int64_t> first_out_of_range(const Tensor& index, int64_t size) {
  const Tensor host = index.to(kCPU).contiguous();
  const int64_t* p = host.data<int64_t>();
  for (int64_t i = 0, n = host.numel(); i < n; ++i)
    if (p[i] < 0 || p[i] >= size) return p[i];
  return std::nullopt;
}

}  // namespace detail

namespace {

using autograd::Node;
using autograd::SavedTensor;

// The checks shared by gather, scatter_add, index_select and index_add (an i64 index on
// x's device, a non-0-d x); returns the indexed dim.
int indexed_dim(const char* op, const Tensor& x, int64_t dim, const Tensor& index) {
  detail::check_same_device(op, x, index);
  detail::check_dtype(op, index, DType::i64, "index");
  SUBTB_CHECK(x.dim() > 0, op, ": cannot index into a 0-d tensor ", describe(x));
  return normalize_dim(dim, x.dim(), op);
}

// Every index inside dim d of x. Runs after the cheap checks: it reads every index.
void check_in_range(const char* op, const Tensor& index, const Tensor& x, int d) {
  const int64_t size = x.shape()[d];
  if (std::optional<int64_t> bad = detail::first_out_of_range(index, size))
    SUBTB_THROW(op, ": index ", *bad, " is out of bounds for dim ", d, " with size ", size, " of ", describe(x));
}

// t (the index, or scatter_add's src) is no larger than x in any dim but d.
void check_fits(const char* op, const char* name, const Tensor& t, const Tensor& x, int d) {
  SUBTB_CHECK(t.dim() == x.dim(), op, ": ", name, " ", describe(t), " must have as many dims as x ", describe(x));
  for (int i = 0; i < x.dim(); ++i)
    SUBTB_CHECK(i == d || t.shape()[i] <= x.shape()[i], op, ": ", name, " ", describe(t), " is larger than x ",
                describe(x), " in dim ", i);
}

void check_accumulable(const char* op, const Tensor& x, const Tensor& src) {
  detail::check_same_device(op, x, src);
  detail::check_same_dtype(op, x, src);
  SUBTB_CHECK(x.dtype() != DType::b8, op, ": cannot accumulate into a bool tensor ", describe(x));
}

// A fresh copy of x to accumulate into (not x.clone(), which would record a node).
Tensor copy_of(const Tensor& x) {
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  backend(x.device()).copy(x, out);
  return out;
}

class GatherBackward final : public Node {
 public:
  GatherBackward(Shape in, int dim, const Tensor& index) : in_(in), dim_(dim), index_(index) {}
  const char* name() const override { return "gather"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor gx = zeros(in_, g[0].dtype(), g[0].device());
    backend(gx.device()).scatter_add(gx, dim_, index_.unpack(name()), g[0]);
    return {gx};
  }
  void release() override { index_.reset(); }

 private:
  Shape in_;
  int dim_;
  SavedTensor index_;
};

// Gradient of x is the incoming one; of src, the entries the index picked.
class ScatterAddBackward final : public Node {
 public:
  ScatterAddBackward(int dim, const Tensor& index) : dim_(dim), index_(index) {}
  const char* name() const override { return "scatter_add"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor gsrc;
    if (next[1].valid()) {
      const Tensor index = index_.unpack(name());
      gsrc = make_tensor(index.shape(), g[0].dtype(), g[0].device());
      backend(gsrc.device()).gather(g[0], dim_, index, gsrc);
    }
    return {g[0], gsrc};
  }
  void release() override { index_.reset(); }

 private:
  int dim_;
  SavedTensor index_;
};

class IndexSelectBackward final : public Node {
 public:
  IndexSelectBackward(Shape in, int dim, const Tensor& index) : in_(in), dim_(dim), index_(index) {}
  const char* name() const override { return "index_select"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor gx = zeros(in_, g[0].dtype(), g[0].device());
    backend(gx.device()).index_add(gx, dim_, index_.unpack(name()), g[0]);
    return {gx};
  }
  void release() override { index_.reset(); }

 private:
  Shape in_;
  int dim_;
  SavedTensor index_;
};

class IndexAddBackward final : public Node {
 public:
  IndexAddBackward(int dim, const Tensor& index) : dim_(dim), index_(index) {}
  const char* name() const override { return "index_add"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor gsrc;
    if (next[1].valid()) {
      const Tensor index = index_.unpack(name());
      Shape shape = g[0].shape();
      shape[dim_] = index.numel();
      gsrc = make_tensor(shape, g[0].dtype(), g[0].device());
      backend(gsrc.device()).index_select(g[0], dim_, index, gsrc);
    }
    return {g[0], gsrc};
  }
  void release() override { index_.reset(); }

 private:
  int dim_;
  SavedTensor index_;
};

// Each input's gradient is its slice of the output's.
class CatBackward final : public Node {
 public:
  CatBackward(int dim, std::vector<int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
  const char* name() const override { return "cat"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    std::vector<Tensor> grads(sizes_.size());
    int64_t start = 0;
    for (size_t i = 0; i < sizes_.size(); ++i) {
      if (next[i].valid()) grads[i] = narrow(g[0], dim_, start, sizes_[i]);
      start += sizes_[i];
    }
    return grads;
  }

 private:
  int dim_;
  std::vector<int64_t> sizes_;
};

// Padding and cropping undo each other: the gradient is the output's gradient padded by
// the negated amounts (cropping what was padded, zero-filling what was cropped).
class PadBackward final : public Node {
 public:
  explicit PadBackward(std::vector<int64_t> pads) : pads_(std::move(pads)) {}
  const char* name() const override { return "pad"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    std::vector<int64_t> undo(pads_.size());
    std::transform(pads_.begin(), pads_.end(), undo.begin(), [](int64_t p) { return -p; });
    return {pad(g[0], undo, 0.0)};
  }

 private:
  std::vector<int64_t> pads_;
};

// Same device, dtype and rank for every tensor, and equal extents on every dim but `skip`
// (-1: every dim).
void check_joinable(const char* op, const std::vector<Tensor>& tensors, int skip) {
  const Tensor& first = tensors.front();
  for (size_t i = 1; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    detail::check_same_device(op, first, t);
    detail::check_same_dtype(op, first, t);
    bool same = t.dim() == first.dim();
    for (int d = 0; same && d < t.dim(); ++d) same = d == skip || t.shape()[d] == first.shape()[d];
    SUBTB_CHECK(same, op, ": tensor ", i, " ", describe(t), " does not match tensor 0 ", describe(first),
                skip >= 0 ? str(" outside dim ", skip) : std::string());
  }
}

// Lower (keep col - row <= k) or upper (col - row >= k) triangle of the last two dims.
Tensor triangle(const char* op, const Tensor& x, int64_t k, bool lower) {
  SUBTB_CHECK(x.dim() >= 2, op, ": expected at least 2 dims, got ", describe(x));
  const int64_t rows = x.shape()[x.dim() - 2], cols = x.shape()[x.dim() - 1];
  const Tensor offset = sub(reshape(arange(cols, DType::i64, x.device()), Shape{1, cols}),
                            reshape(arange(rows, DType::i64, x.device()), Shape{rows, 1}));
  const Tensor keep = lower ? le(offset, static_cast<double>(k)) : ge(offset, static_cast<double>(k));
  return where(keep, x, 0.0);
}

}  // namespace

// ----- gather / scatter

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  const int d = indexed_dim("gather", x, dim, index);
  check_fits("gather", "index", index, x, d);
  check_in_range("gather", index, x, d);
  Tensor out = make_tensor(index.shape(), x.dtype(), x.device());
  backend(x.device()).gather(x, d, index, out);
  if (autograd::needs_grad({&x})) autograd::record(std::make_shared<GatherBackward>(x.shape(), d, index), {&x}, {&out});
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_accumulable("scatter_add", x, src);
  const int d = indexed_dim("scatter_add", x, dim, index);
  SUBTB_CHECK(index.shape() == src.shape(), "scatter_add: index ", describe(index), " and src ", describe(src),
              " must have the same shape");
  check_fits("scatter_add", "src", src, x, d);
  check_in_range("scatter_add", index, x, d);
  Tensor out = copy_of(x);
  backend(x.device()).scatter_add(out, d, index, src);
  if (autograd::needs_grad({&x, &src}))
    autograd::record(std::make_shared<ScatterAddBackward>(d, index), {&x, &src}, {&out});
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  SUBTB_CHECK(index.dim() == 1, "index_select: index must be 1-d, got ", describe(index));
  const int d = indexed_dim("index_select", x, dim, index);
  check_in_range("index_select", index, x, d);
  Shape shape = x.shape();
  shape[d] = index.numel();
  Tensor out = make_tensor(shape, x.dtype(), x.device());
  backend(x.device()).index_select(x, d, index, out);
  if (autograd::needs_grad({&x}))
    autograd::record(std::make_shared<IndexSelectBackward>(x.shape(), d, index), {&x}, {&out});
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  SUBTB_CHECK(index.dim() == 1, "index_add: index must be 1-d, got ", describe(index));
  check_accumulable("index_add", x, src);
  const int d = indexed_dim("index_add", x, dim, index);
  Shape expected = x.shape();
  expected[d] = index.numel();
  SUBTB_CHECK(src.shape() == expected, "index_add: src ", describe(src), " must have shape ", expected, " (x ",
              describe(x), " with dim ", d, " the index's length ", index.numel(), ")");
  check_in_range("index_add", index, x, d);
  Tensor out = copy_of(x);
  backend(x.device()).index_add(out, d, index, src);
  if (autograd::needs_grad({&x, &src}))
    autograd::record(std::make_shared<IndexAddBackward>(d, index), {&x, &src}, {&out});
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  detail::check_same_device("masked_fill", x, mask);
  detail::check_dtype("masked_fill", mask, DType::b8, "mask");
  SUBTB_CHECK(broadcast_shapes(mask.shape(), x.shape(), "masked_fill") == x.shape(), "masked_fill: mask ",
              describe(mask), " does not broadcast to ", describe(x));
  return where(mask, value, x);
}

// ----- joining and splitting

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  SUBTB_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors.front();
  SUBTB_CHECK(first.dim() > 0, "cat: cannot concatenate 0-d tensors (", describe(first), "); stack them instead");
  const int d = normalize_dim(dim, first.dim(), "cat");
  check_joinable("cat", tensors, d);
  Shape shape = first.shape();
  std::vector<int64_t> sizes;
  shape[d] = 0;
  for (const Tensor& t : tensors) {
    sizes.push_back(t.shape()[d]);
    shape[d] += t.shape()[d];
  }
  Tensor out = make_tensor(shape, first.dtype(), first.device());
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    if (t.numel() > 0)
      backend(out.device()).copy(t, make_view(out, t.shape(), out.strides(), start * out.strides()[d]));
    start += t.shape()[d];
  }
  if (autograd::needs_grad(tensors))
    autograd::record(std::make_shared<CatBackward>(d, std::move(sizes)), tensors, {out});
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  SUBTB_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  check_joinable("stack", tensors, -1);
  const int n = tensors.front().dim() + 1;
  SUBTB_CHECK(dim >= -n && dim < n, "stack: dim ", dim, " is out of range for a result with ", n,
              " dimensions (stacking ", describe(tensors.front()), ")");
  std::vector<Tensor> pieces;
  pieces.reserve(tensors.size());
  for (const Tensor& t : tensors) pieces.push_back(unsqueeze(t, dim));
  return cat(pieces, dim);
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  SUBTB_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  SUBTB_CHECK(size > 0, "split: size must be positive, got ", size);
  const int d = normalize_dim(dim, x.dim(), "split");
  const int64_t n = x.shape()[d];
  if (n == 0) return {x};
  std::vector<Tensor> pieces;
  for (int64_t start = 0; start < n; start += size) pieces.push_back(narrow(x, d, start, std::min(size, n - start)));
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  SUBTB_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  const int d = normalize_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    SUBTB_CHECK(s >= 0, "split: negative size ", s, " in the sizes for ", describe(x));
    total += s;
  }
  SUBTB_CHECK(total == x.shape()[d], "split: sizes add up to ", total, " but dim ", d, " of ", describe(x), " has ",
              x.shape()[d]);
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(narrow(x, d, start, s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  SUBTB_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  SUBTB_CHECK(x.dim() > 0, "chunk: cannot chunk a 0-d tensor");
  const int64_t n = x.shape()[normalize_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<int64_t>((n + chunks - 1) / chunks, 1), dim);
}

// ----- padding

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  const int pairs = static_cast<int>(pads.size() / 2);
  SUBTB_CHECK(pads.size() % 2 == 0 && pairs <= x.dim(), "pad: ", pads.size(), " pad values for ", describe(x),
              "; expected (before, after) pairs for at most ", x.dim(), " dims");
  Shape shape = x.shape();
  for (int i = 0; i < pairs; ++i) {
    const int d = x.dim() - 1 - i;
    shape[d] += pads[2 * i] + pads[2 * i + 1];
    SUBTB_CHECK(shape[d] >= 0, "pad: padding (", pads[2 * i], ", ", pads[2 * i + 1], ") of dim ", d, " of ",
                describe(x), " leaves a negative size ", shape[d]);
  }
  Tensor out = full(shape, value, x.dtype(), x.device());
  // The part of x that survives cropping, and where it lands in the output.
  Shape kept = x.shape();
  int64_t src_offset = x.offset(), dst_offset = 0;
  for (int i = 0; i < pairs; ++i) {
    const int d = x.dim() - 1 - i;
    const int64_t before = pads[2 * i], after = pads[2 * i + 1];
    const int64_t crop_before = std::max<int64_t>(-before, 0), crop_after = std::max<int64_t>(-after, 0);
    kept[d] = std::max<int64_t>(x.shape()[d] - crop_before - crop_after, 0);
    src_offset += crop_before * x.strides()[d];
    dst_offset += std::max<int64_t>(before, 0) * out.strides()[d];
  }
  if (kept.numel() > 0)
    backend(x.device())
        .copy(make_view(x, kept, x.strides(), src_offset), make_view(out, kept, out.strides(), dst_offset));
  if (autograd::needs_grad({&x})) autograd::record(std::make_shared<PadBackward>(pads), {&x}, {&out});
  return out;
}

// ----- triangles

Tensor tril(const Tensor& x, int64_t k) { return triangle("tril", x, k, /*lower=*/true); }
Tensor triu(const Tensor& x, int64_t k) { return triangle("triu", x, k, /*lower=*/false); }

}  // namespace subtb

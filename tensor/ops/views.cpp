// View ops: new shape/strides/offset over the same storage. Each records a vjp that
// maps the output gradient back to the input's shape (a reshape, a permutation, a
// broadcast sum, or a scatter into zeros for slices).
#include "tensor/ops/views.h"

#include <optional>

#include "autograd/node.h"
#include "kernels/backend.h"
#include "tensor/ops.h"

namespace subtb {

namespace {

using autograd::Node;

// Records `node` for a view output when the input requires grad.
template <class N, class... Args>
Tensor record_view(const Tensor& x, Tensor out, Args&&... args) {
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<N>(std::forward<Args>(args)...);
    autograd::record(node, {&x}, {&out});
  }
  return out;
}

class ReshapeBackward final : public Node {
 public:
  explicit ReshapeBackward(Shape in) : in_(in) {}
  const char* name() const override { return "reshape"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {reshape(g[0], in_)}; }

 private:
  Shape in_;
};

class PermuteBackward final : public Node {
 public:
  explicit PermuteBackward(Shape inverse) : inverse_(inverse) {}
  const char* name() const override { return "permute"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {permute(g[0], inverse_)}; }

 private:
  Shape inverse_;
};

class ExpandBackward final : public Node {
 public:
  explicit ExpandBackward(Shape in) : in_(in) {}
  const char* name() const override { return "expand"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {sum_to(g[0], in_)}; }

 private:
  Shape in_;
};

// Gradient of any strided sub-view (narrow, slice, select): zeros of the input's shape
// with the gradient written through the same view of them. The view is described over
// the contiguous zeros, not the input's own strides, which may be transposed or 0.
class SubviewBackward final : public Node {
 public:
  SubviewBackward(const char* op, Shape in, Shape view_shape, Strides view_strides, int64_t view_offset)
      : op_(op), in_(in), shape_(view_shape), strides_(view_strides), offset_(view_offset) {}
  const char* name() const override { return op_; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor gx = zeros(in_, g[0].dtype(), g[0].device());
    backend(gx.device()).copy(g[0], make_view(gx, shape_, strides_, offset_));
    return {gx};
  }

 private:
  const char* op_;
  Shape in_, shape_;
  Strides strides_;
  int64_t offset_;
};

// Strides for viewing (shape, strides) as `target` without a copy, or nothing when the
// memory layout cannot express it (the same rule as NumPy's and PyTorch's).
std::optional<Strides> view_strides(const Shape& shape, const Strides& strides, const Shape& target) {
  Strides out = Shape::filled(target.size(), 1);
  if (shape.numel() == 0 || shape.size() == 0) return contiguous_strides(target);
  int view_d = target.size() - 1;
  int64_t chunk_base_stride = strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    // At a chunk boundary: dims d and d-1 are not contiguous with each other.
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || target[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= target[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

// Resolves a single -1 and checks the element count.
Shape infer_shape(const char* op, const Tensor& x, const Shape& shape) {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      SUBTB_CHECK(infer < 0, op, ": only one dim can be -1, got ", shape);
      infer = i;
    } else {
      SUBTB_CHECK(out[i] >= 0, op, ": invalid extent ", out[i], " in ", shape);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    SUBTB_CHECK(known != 0 && x.numel() % known == 0, op, ": cannot infer -1 in ", shape, " for ", x.numel(),
                " elements of ", describe(x));
    out[infer] = x.numel() / known;
  }
  SUBTB_CHECK(out.numel() == x.numel(), op, ": shape ", shape, " has ", out.numel(), " elements but ",
              describe(x), " has ", x.numel());
  return out;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  const Shape target = infer_shape("view", x, shape);
  std::optional<Strides> strides = view_strides(x.shape(), x.strides(), target);
  SUBTB_CHECK(strides.has_value(), "view: ", describe(x), " with strides ", x.strides(),
              " cannot be viewed as ", target, " without a copy (use reshape)");
  return record_view<ReshapeBackward>(x, make_view(x, target, *strides, x.offset()), x.shape());
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  const Shape target = infer_shape("reshape", x, shape);
  if (target == x.shape()) return x;
  if (std::optional<Strides> strides = view_strides(x.shape(), x.strides(), target))
    return record_view<ReshapeBackward>(x, make_view(x, target, *strides, x.offset()), x.shape());
  return view(x.clone(), target);
}

Tensor permute(const Tensor& x, const Shape& dims) {
  const int n = x.dim();
  SUBTB_CHECK(dims.size() == n, "permute: ", dims.size(), " dims given for ", describe(x));
  Shape shape = x.shape(), strides = x.strides(), inverse = Shape::filled(n, 0);
  uint32_t seen = 0;
  for (int i = 0; i < n; ++i) {
    const int d = normalize_dim(dims[i], n, "permute");
    SUBTB_CHECK(!(seen & (1u << d)), "permute: dim ", dims[i], " repeats in ", dims);
    seen |= 1u << d;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
    inverse[d] = i;
  }
  return record_view<PermuteBackward>(x, make_view(x, shape, strides, x.offset()), inverse);
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  const int n = x.dim();
  if (n < 2 && (d0 == d1 || n == 0 || (normalize_dim(d0, n, "transpose") == normalize_dim(d1, n, "transpose"))))
    return x;
  Shape perm = Shape::filled(n, 0);
  for (int i = 0; i < n; ++i) perm[i] = i;
  const int a = normalize_dim(d0, n, "transpose"), b = normalize_dim(d1, n, "transpose");
  std::swap(perm[a], perm[b]);
  return permute(x, perm);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  if (x.dim() == 0) return x;
  const int d = normalize_dim(dim, x.dim(), "squeeze");
  if (x.shape()[d] != 1) return x;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(d);
  strides.erase(d);
  return record_view<ReshapeBackward>(x, make_view(x, shape, strides, x.offset()), x.shape());
}

Tensor squeeze(const Tensor& x) {
  Shape shape, strides;
  for (int i = 0; i < x.dim(); ++i) {
    if (x.shape()[i] == 1) continue;
    shape.push_back(x.shape()[i]);
    strides.push_back(x.strides()[i]);
  }
  if (shape.size() == x.dim()) return x;
  return record_view<ReshapeBackward>(x, make_view(x, shape, strides, x.offset()), x.shape());
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int n = x.dim() + 1;
  SUBTB_CHECK(dim >= -n && dim < n, "unsqueeze: dim ", dim, " is out of range for a result with ", n,
              " dimensions of ", describe(x));
  const int d = static_cast<int>(dim < 0 ? dim + n : dim);
  Shape shape = x.shape(), strides = x.strides();
  const int64_t stride = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  shape.insert(d, 1);
  strides.insert(d, stride);
  return record_view<ReshapeBackward>(x, make_view(x, shape, strides, x.offset()), x.shape());
}

Tensor expand(const Tensor& x, const Shape& shape) {
  if (shape == x.shape()) return x;  // the common case in binary ops, kept off the slow path
  const int n = shape.size(), lead = n - x.dim();
  SUBTB_CHECK(lead >= 0, "expand: cannot expand ", describe(x), " to fewer dims ", shape);
  Shape out = shape, strides = Shape::filled(n, 0);
  for (int i = 0; i < n; ++i) {
    const int j = i - lead;
    if (j < 0) {
      SUBTB_CHECK(shape[i] >= 0, "expand: new leading dim ", i, " cannot be ", shape[i], " in ", shape);
      continue;
    }
    const int64_t have = x.shape()[j];
    if (shape[i] == -1 || shape[i] == have) {
      out[i] = have;
      strides[i] = x.strides()[j];
    } else {
      SUBTB_CHECK(have == 1, "expand: ", describe(x), " cannot be expanded to ", shape, " (dim ", i, ": ", have,
                  " is not 1)");
      SUBTB_CHECK(shape[i] >= 0, "expand: invalid extent ", shape[i], " in ", shape);
    }
  }
  if (out == x.shape()) return x;
  return record_view<ExpandBackward>(x, make_view(x, out, strides, x.offset()), x.shape());
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  SUBTB_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  SUBTB_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int d = normalize_dim(dim, x.dim(), "slice");
  const int64_t n = x.shape()[d];
  auto clampi = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  const int64_t b = clampi(start), e = std::max(clampi(end), b);
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = (e - b + step - 1) / step;
  strides[d] *= step;
  Tensor out = make_view(x, shape, strides, x.offset() + b * x.strides()[d]);
  Strides grad_strides = contiguous_strides(x.shape());
  const int64_t grad_offset = b * grad_strides[d];
  grad_strides[d] *= step;
  return record_view<SubviewBackward>(x, out, "slice", x.shape(), shape, grad_strides, grad_offset);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  SUBTB_CHECK(x.dim() > 0, "narrow: cannot narrow a 0-d tensor");
  const int d = normalize_dim(dim, x.dim(), "narrow");
  const int64_t n = x.shape()[d];
  if (start < 0) start += n;
  SUBTB_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: range [", start, ", ", start + length,
              ") is out of bounds for dim ", dim, " of ", describe(x));
  Shape shape = x.shape();
  shape[d] = length;
  Tensor out = make_view(x, shape, x.strides(), x.offset() + start * x.strides()[d]);
  const Strides grad_strides = contiguous_strides(x.shape());
  return record_view<SubviewBackward>(x, out, "narrow", x.shape(), shape, grad_strides, start * grad_strides[d]);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  SUBTB_CHECK(x.dim() > 0, "select: cannot select from a 0-d tensor");
  const int d = normalize_dim(dim, x.dim(), "select");
  const int64_t n = x.shape()[d];
  SUBTB_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for dim ", dim, " (size ", n,
              ") of ", describe(x));
  if (index < 0) index += n;
  Shape shape = x.shape(), strides = x.strides(), grad_strides = contiguous_strides(x.shape());
  const int64_t offset = x.offset() + index * strides[d], grad_offset = index * grad_strides[d];
  shape.erase(d);
  strides.erase(d);
  grad_strides.erase(d);
  Tensor out = make_view(x, shape, strides, offset);
  return record_view<SubviewBackward>(x, out, "select", x.shape(), shape, grad_strides, grad_offset);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, Shape{1});
  const int s = normalize_dim(start_dim, x.dim(), "flatten"), e = normalize_dim(end_dim, x.dim(), "flatten");
  SUBTB_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape;
  for (int i = 0; i < s; ++i) shape.push_back(x.shape()[i]);
  int64_t p = 1;
  for (int i = s; i <= e; ++i) p *= x.shape()[i];
  shape.push_back(p);
  for (int i = e + 1; i < x.dim(); ++i) shape.push_back(x.shape()[i]);
  return reshape(x, shape);
}

Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes) {
  const int d = normalize_dim(dim, x.dim(), "unflatten");
  Shape shape;
  for (int i = 0; i < d; ++i) shape.push_back(x.shape()[i]);
  for (int64_t s : sizes) shape.push_back(s);
  for (int i = d + 1; i < x.dim(); ++i) shape.push_back(x.shape()[i]);
  // Resolve -1 within `sizes` against the unflattened dim only.
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) infer = d + i;
    else known *= sizes[i];
  }
  if (infer >= 0 && known > 0) shape[infer] = x.shape()[d] / known;
  SUBTB_CHECK(shape.numel() == x.numel(), "unflatten: sizes ", sizes, " do not multiply to ", x.shape()[d],
              " for dim ", dim, " of ", describe(x));
  return reshape(x, shape);
}

}  // namespace subtb

// Reduction and scan front ends and their vjps.
//
// Dtypes: sum, prod and cumsum of integers and bools give i64 (as in PyTorch); all and
// any give bool; mean, var, std, logsumexp and logcumsumexp need a floating input; the
// rest keep the input's dtype. Reducing over an empty dim gives the identity: 0 for
// sum, 1 for prod, -inf for logsumexp, true for all, false for any, and NaN for mean,
// var and std (0 / 0, as in NumPy). max, min, amax, amin, argmax and argmin have no
// identity and throw instead.
#include "tensor/ops/reduce.h"

#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Runs a dim check, adding the input to its error message.
template <class Check>
auto naming_input(const Tensor& x, Check&& check) {
  try {
    return check();
  } catch (const Error& e) {
    SUBTB_THROW(e.what(), " (input ", describe(x), ")");
  }
}

uint32_t reduced_dims(const Tensor& x, const DimList& dims, const char* op) {
  return naming_input(x, [&] { return dim_mask(std::span<const int64_t>(dims.begin(), dims.size()), x.dim(), op); });
}

int one_dim(const Tensor& x, int64_t dim, const char* op) {
  return naming_input(x, [&] { return normalize_dim(dim, x.dim(), op); });
}

uint32_t one_dim_mask(const Tensor& x, int d) { return x.dim() == 0 ? 0u : 1u << d; }

// x's shape with the masked dims set to 1 (keepdim), and with them removed.
Shape keepdim_shape(const Shape& s, uint32_t mask) {
  Shape out = s;
  for (int i = 0; i < s.size(); ++i)
    if (mask & (1u << i)) out[i] = 1;
  return out;
}
Shape dropdim_shape(const Shape& s, uint32_t mask) {
  Shape out;
  for (int i = 0; i < s.size(); ++i)
    if (!(mask & (1u << i))) out.push_back(s[i]);
  return out;
}

int64_t reduced_numel(const Shape& s, uint32_t mask) {
  int64_t n = 1;
  for (int i = 0; i < s.size(); ++i)
    if (mask & (1u << i)) n *= s[i];
  return n;
}

// For the reductions without an identity.
void check_nonempty(const Tensor& x, uint32_t mask, const char* op) {
  for (int i = 0; i < x.dim(); ++i)
    SUBTB_CHECK(!(mask & (1u << i)) || x.shape()[i] != 0, op, ": cannot reduce over dim ", i, " of ", describe(x),
                ", which is empty (the reduction has no identity)");
}

// The user-facing result: the keepdim form as is, or a view without the reduced dims.
Tensor shaped(const Tensor& keep, const Shape& in, uint32_t mask, bool keepdim) {
  if (keepdim) return keep;
  const Shape s = dropdim_shape(in, mask);
  return make_view(keep, s, contiguous_strides(s), keep.offset());
}

// Runs a reduce kernel into a fresh keepdim-form output (no autograd).
Tensor reduce_keepdim(ReduceOp op, const Tensor& x, uint32_t mask, DType dtype) {
  Tensor out = make_tensor(keepdim_shape(x.shape(), mask), dtype, x.device());
  backend(x.device()).reduce(op, x, mask, out);
  return out;
}

DType widened(DType t) { return is_floating(t) ? t : DType::i64; }

// The output gradient in keepdim form, which broadcasts against the input.
Tensor keepdim_grad(const Tensor& g, const Shape& keep) { return reshape(g, keep); }

// ----- vjps

class SumBackward final : public Node {
 public:
  SumBackward(Shape in, Shape keep) : in_(in), keep_(keep) {}
  const char* name() const override { return "sum"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {expand(keepdim_grad(g[0], keep_), in_).contiguous()};
  }

 private:
  Shape in_, keep_;
};

class MeanBackward final : public Node {
 public:
  MeanBackward(Shape in, Shape keep, int64_t count) : in_(in), keep_(keep), count_(count) {}
  const char* name() const override { return "mean"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {div(expand(keepdim_grad(g[0], keep_), in_), static_cast<double>(count_))};
  }

 private:
  Shape in_, keep_;
  int64_t count_;
};

// var: 2 (x - mean) / (n - correction); std: (x - mean) / ((n - correction) std), and 0
// where std is 0 (where the derivative does not exist), as PyTorch does.
class VarBackward final : public Node {
 public:
  VarBackward(const Tensor& x, const Tensor& std_keep, uint32_t mask, int64_t correction)
      : x_(x), std_(std_keep), mask_(mask), keep_(keepdim_shape(x.shape(), mask)) {
    divisor_ = static_cast<double>(std::max<int64_t>(0, reduced_numel(x.shape(), mask) - correction));
  }
  const char* name() const override { return std_.defined() ? "std" : "var"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor x = x_.unpack(name());
    const Tensor centred = sub(x, reduce_keepdim(ReduceOp::mean, x, mask_, x.dtype()));
    const Tensor gk = keepdim_grad(g[0], keep_);
    if (!std_.defined()) return {mul(centred, mul(gk, 2.0 / divisor_))};
    const Tensor s = std_.unpack(name());
    return {where(eq(s, 0.0), 0.0, mul(centred, div(gk, mul(s, divisor_))))};
  }
  void release() override {
    x_.reset();
    std_.reset();
  }

 private:
  SavedTensor x_, std_;
  uint32_t mask_;
  Shape keep_;
  double divisor_;
};

// d prod / dx_i is the product of the other elements. Without dividing by zero: a slice
// with no zeros gives prod / x_i; with one zero, only that zero's gradient is nonzero
// (the product of the rest); with two or more, every gradient is 0.
class ProdBackward final : public Node {
 public:
  ProdBackward(const Tensor& x, uint32_t mask) : x_(x), mask_(mask), keep_(keepdim_shape(x.shape(), mask)) {}
  const char* name() const override { return "prod"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor x = x_.unpack(name());
    const Tensor zero = eq(x, 0.0);
    const Tensor zeros = reduce_keepdim(ReduceOp::sum, zero, mask_, DType::i64);
    const Tensor rest = reduce_keepdim(ReduceOp::prod, where(zero, 1.0, x), mask_, x.dtype());
    const Tensor others = where(zero, where(eq(zeros, 1.0), rest, 0.0), where(eq(zeros, 0.0), div(rest, x), 0.0));
    return {mul(others, keepdim_grad(g[0], keep_))};
  }
  void release() override { x_.reset(); }

 private:
  SavedTensor x_;
  uint32_t mask_;
  Shape keep_;
};

// amax / amin: the gradient is shared evenly among the elements equal to the result.
class ExtremumBackward final : public Node {
 public:
  ExtremumBackward(const char* op, const Tensor& x, const Tensor& out_keep, uint32_t mask)
      : op_(op), x_(x), out_(out_keep), mask_(mask) {}
  const char* name() const override { return op_; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor x = x_.unpack(name()), out = out_.unpack(name());
    const Tensor hit = cast(eq(x, out), x.dtype());
    const Tensor ties = reduce_keepdim(ReduceOp::sum, hit, mask_, x.dtype());
    return {mul(hit, div(keepdim_grad(g[0], out.shape()), ties))};
  }
  void release() override {
    x_.reset();
    out_.reset();
  }

 private:
  const char* op_;
  SavedTensor x_, out_;
  uint32_t mask_;
};

// softmax(x) * g, and exactly 0 where x = -inf (also when the whole slice is -inf and the
// result is -inf, where exp(x - out) would be NaN).
class LogsumexpBackward final : public Node {
 public:
  LogsumexpBackward(const Tensor& x, const Tensor& out_keep) : x_(x), out_(out_keep) {}
  const char* name() const override { return "logsumexp"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor x = x_.unpack(name()), out = out_.unpack(name());
    const Tensor weight = exp(sub(x, out));
    return {where(eq(x, -kInf), 0.0, mul(weight, keepdim_grad(g[0], out.shape())))};
  }
  void release() override {
    x_.reset();
    out_.reset();
  }

 private:
  SavedTensor x_, out_;
};

// max / min along a dim: the gradient goes to the selected index.
class SelectedBackward final : public Node {
 public:
  SelectedBackward(const char* op, Shape in, int dim, const Tensor& indices_keep)
      : op_(op), in_(in), dim_(dim), indices_(indices_keep) {}
  const char* name() const override { return op_; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    if (in_.size() == 0) return {g[0]};  // a 0-d input is its own max
    const Tensor indices = indices_.unpack(name());
    Shape along = Shape::filled(in_.size(), 1);
    along[dim_] = in_[dim_];
    const Tensor hit = eq(reshape(arange(in_[dim_], DType::i64, indices.device()), along), indices);
    return {where(hit, keepdim_grad(g[0], indices.shape()), 0.0)};
  }
  void release() override { indices_.reset(); }

 private:
  const char* op_;
  Shape in_;
  int dim_;
  SavedTensor indices_;
};

Tensor scan(ScanOp op, const Tensor& x, int dim, bool reverse);

// The gradient of a scan is the same scan of the gradient, run the other way.
class CumsumBackward final : public Node {
 public:
  CumsumBackward(int dim, bool reverse) : dim_(dim), reverse_(reverse) {}
  const char* name() const override { return "cumsum"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {scan(ScanOp::cumsum, g[0], dim_, !reverse_)}; }

 private:
  int dim_;
  bool reverse_;
};

// With y = logcumsumexp(x), dL/dx_j = sum over the y_i that include x_j of
// g_i exp(x_j - y_i). The sum runs in log space, split into the positive and negative
// parts of g: exp(x_j + lcse_i(log g_i+ - y_i)) - exp(x_j + lcse_i(log g_i- - y_i)),
// with the lcse over i scanning the other way. Terms with y_i = -inf (an all -inf
// prefix) drop out, so -inf inputs get exactly 0 and nothing is NaN.
class LogcumsumexpBackward final : public Node {
 public:
  LogcumsumexpBackward(const Tensor& x, const Tensor& y, int dim, bool reverse)
      : x_(x), y_(y), dim_(dim), reverse_(reverse) {}
  const char* name() const override { return "logcumsumexp"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor x = x_.unpack(name()), y = y_.unpack(name());
    const Tensor y_safe = where(eq(y, -kInf), kInf, y);
    auto part = [&](const Tensor& gs) {
      const Tensor log_weight = scan(ScanOp::logcumsumexp, sub(log(relu(gs)), y_safe), dim_, !reverse_);
      return exp(add(x, log_weight));
    };
    return {sub(part(g[0]), part(neg(g[0])))};
  }
  void release() override {
    x_.reset();
    y_.reset();
  }

 private:
  SavedTensor x_, y_;
  int dim_;
  bool reverse_;
};

Tensor scan(ScanOp op, const Tensor& x, int dim, bool reverse) {
  const DType dtype = op == ScanOp::cumsum ? widened(x.dtype()) : x.dtype();
  Tensor out = make_tensor(x.shape(), dtype, x.device());
  backend(x.device()).scan(op, x, dim, reverse, out);
  if (is_floating(dtype) && autograd::needs_grad({&x})) {
    std::shared_ptr<Node> node;
    if (op == ScanOp::cumsum)
      node = std::make_shared<CumsumBackward>(dim, reverse);
    else
      node = std::make_shared<LogcumsumexpBackward>(x, out, dim, reverse);
    autograd::record(node, {&x}, {&out});
  }
  return out;
}

// max / min / argmax / argmin along one dim, in keepdim form.
ValuesIndices arg_reduce_keepdim(ArgReduceOp op, const char* name, const Tensor& x, int d) {
  check_nonempty(x, one_dim_mask(x, d), name);
  const Shape keep = keepdim_shape(x.shape(), one_dim_mask(x, d));
  ValuesIndices r{make_tensor(keep, x.dtype(), x.device()), make_tensor(keep, DType::i64, x.device())};
  backend(x.device()).arg_reduce(op, x, d, r.values, r.indices);
  return r;
}

ValuesIndices extremum_along(ArgReduceOp op, const char* name, const Tensor& x, int64_t dim, bool keepdim) {
  const int d = one_dim(x, dim, name);
  const uint32_t mask = one_dim_mask(x, d);
  const ValuesIndices keep = arg_reduce_keepdim(op, name, x, d);
  ValuesIndices r{shaped(keep.values, x.shape(), mask, keepdim), shaped(keep.indices, x.shape(), mask, keepdim)};
  if (is_floating(x.dtype()) && autograd::needs_grad({&x}))
    autograd::record(std::make_shared<SelectedBackward>(name, x.shape(), d, keep.indices), {&x}, {&r.values});
  return r;
}

Tensor arg_along(ArgReduceOp op, const char* name, const Tensor& x, int64_t dim, bool keepdim) {
  const int d = one_dim(x, dim, name);
  return shaped(arg_reduce_keepdim(op, name, x, d).indices, x.shape(), one_dim_mask(x, d), keepdim);
}

Tensor arg_flat(ArgReduceOp op, const char* name, const Tensor& x) {
  SUBTB_CHECK(x.numel() > 0, name, ": cannot reduce ", describe(x), ", which is empty (the reduction has no identity)");
  const Tensor flat = reshape(x.detach(), Shape{x.numel()});
  return reshape(arg_reduce_keepdim(op, name, flat, 0).indices, Shape{});
}

// amax / amin.
Tensor extremum(ReduceOp op, const char* name, const Tensor& x, const DimList& dims, bool keepdim) {
  const uint32_t mask = reduced_dims(x, dims, name);
  check_nonempty(x, mask, name);
  const Tensor keep = reduce_keepdim(op, x, mask, x.dtype());
  Tensor out = shaped(keep, x.shape(), mask, keepdim);
  if (is_floating(x.dtype()) && autograd::needs_grad({&x}))
    autograd::record(std::make_shared<ExtremumBackward>(name, x, keep, mask), {&x}, {&out});
  return out;
}

Tensor logical(ReduceOp op, const char* name, const Tensor& x, const DimList& dims, bool keepdim) {
  const uint32_t mask = reduced_dims(x, dims, name);
  return shaped(reduce_keepdim(op, x, mask, DType::b8), x.shape(), mask, keepdim);
}

Tensor variance(const char* name, const Tensor& x, const DimList& dims, int64_t correction, bool keepdim,
                bool take_sqrt) {
  detail::check_floating(name, x);
  SUBTB_CHECK(correction >= 0, name, ": correction must be >= 0, got ", correction, " for ", describe(x));
  const uint32_t mask = reduced_dims(x, dims, name);
  Tensor keep = make_tensor(keepdim_shape(x.shape(), mask), x.dtype(), x.device());
  backend(x.device()).var(x, mask, correction, keep);
  if (take_sqrt) keep = sqrt(keep);
  Tensor out = shaped(keep, x.shape(), mask, keepdim);
  if (autograd::needs_grad({&x}))
    autograd::record(std::make_shared<VarBackward>(x, take_sqrt ? keep : Tensor(), mask, correction), {&x}, {&out});
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const DimList& dims, bool keepdim) {
  const uint32_t mask = reduced_dims(x, dims, "sum");
  const Tensor keep = reduce_keepdim(ReduceOp::sum, x, mask, widened(x.dtype()));
  Tensor out = shaped(keep, x.shape(), mask, keepdim);
  if (is_floating(x.dtype()) && autograd::needs_grad({&x}))
    autograd::record(std::make_shared<SumBackward>(x.shape(), keep.shape()), {&x}, {&out});
  return out;
}

Tensor mean(const Tensor& x, const DimList& dims, bool keepdim) {
  detail::check_floating("mean", x);
  const uint32_t mask = reduced_dims(x, dims, "mean");
  const Tensor keep = reduce_keepdim(ReduceOp::mean, x, mask, x.dtype());
  Tensor out = shaped(keep, x.shape(), mask, keepdim);
  if (autograd::needs_grad({&x}))
    autograd::record(std::make_shared<MeanBackward>(x.shape(), keep.shape(), reduced_numel(x.shape(), mask)), {&x},
                     {&out});
  return out;
}

Tensor var(const Tensor& x, const DimList& dims, int64_t correction, bool keepdim) {
  return variance("var", x, dims, correction, keepdim, /*take_sqrt=*/false);
}

Tensor std(const Tensor& x, const DimList& dims, int64_t correction, bool keepdim) {
  return variance("std", x, dims, correction, keepdim, /*take_sqrt=*/true);
}

Tensor prod(const Tensor& x, const DimList& dims, bool keepdim) {
  const uint32_t mask = reduced_dims(x, dims, "prod");
  Tensor out = shaped(reduce_keepdim(ReduceOp::prod, x, mask, widened(x.dtype())), x.shape(), mask, keepdim);
  if (is_floating(x.dtype()) && autograd::needs_grad({&x}))
    autograd::record(std::make_shared<ProdBackward>(x, mask), {&x}, {&out});
  return out;
}

Tensor amax(const Tensor& x, const DimList& dims, bool keepdim) {
  return extremum(ReduceOp::max, "amax", x, dims, keepdim);
}
Tensor amin(const Tensor& x, const DimList& dims, bool keepdim) {
  return extremum(ReduceOp::min, "amin", x, dims, keepdim);
}

Tensor logsumexp(const Tensor& x, const DimList& dims, bool keepdim) {
  detail::check_floating("logsumexp", x);
  const uint32_t mask = reduced_dims(x, dims, "logsumexp");
  const Tensor keep = reduce_keepdim(ReduceOp::logsumexp, x, mask, x.dtype());
  Tensor out = shaped(keep, x.shape(), mask, keepdim);
  if (autograd::needs_grad({&x})) autograd::record(std::make_shared<LogsumexpBackward>(x, keep), {&x}, {&out});
  return out;
}

Tensor all(const Tensor& x, const DimList& dims, bool keepdim) {
  return logical(ReduceOp::all, "all", x, dims, keepdim);
}
Tensor any(const Tensor& x, const DimList& dims, bool keepdim) {
  return logical(ReduceOp::any, "any", x, dims, keepdim);
}

ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along(ArgReduceOp::max, "max", x, dim, keepdim);
}
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along(ArgReduceOp::min, "min", x, dim, keepdim);
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return arg_along(ArgReduceOp::max, "argmax", x, dim, keepdim);
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return arg_along(ArgReduceOp::min, "argmin", x, dim, keepdim);
}
Tensor argmax(const Tensor& x) { return arg_flat(ArgReduceOp::max, "argmax", x); }
Tensor argmin(const Tensor& x) { return arg_flat(ArgReduceOp::min, "argmin", x); }

Tensor cumsum(const Tensor& x, int64_t dim) { return scan(ScanOp::cumsum, x, one_dim(x, dim, "cumsum"), false); }

Tensor logcumsumexp(const Tensor& x, int64_t dim) {
  detail::check_floating("logcumsumexp", x);
  return scan(ScanOp::logcumsumexp, x, one_dim(x, dim, "logcumsumexp"), false);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int lead = x.dim() - shape.size();
  SUBTB_CHECK(lead >= 0, "sum_to: cannot reduce ", describe(x), " to the larger shape ", shape);
  DimList dims;
  for (int i = 0; i < x.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
    } else if (shape[i - lead] == 1 && x.shape()[i] != 1) {
      dims.push_back(i);
    } else {
      SUBTB_CHECK(shape[i - lead] == x.shape()[i], "sum_to: ", describe(x), " does not broadcast from ", shape);
    }
  }
  Tensor s = dims.empty() ? x : sum(x, dims, /*keepdim=*/true);
  return reshape(s, shape);
}

}  // namespace subtb

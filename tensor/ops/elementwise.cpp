// Elementwise front ends and their vjps.
#include "tensor/ops/elementwise.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

DType binary_result_dtype(BinaryOp op, DType in) {
  switch (op) {
    case BinaryOp::eq: case BinaryOp::ne: case BinaryOp::lt: case BinaryOp::le: case BinaryOp::gt:
    case BinaryOp::ge: case BinaryOp::logical_and: case BinaryOp::logical_or: case BinaryOp::logical_xor:
      return DType::b8;
    default:
      return in;
  }
}

// Broadcasts, checks, allocates and runs a binary kernel (no autograd).
Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  detail::check_same_device(name, a, b);
  detail::check_same_dtype(name, a, b);
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = make_tensor(shape, binary_result_dtype(op, a.dtype()), a.device());
  backend(a.device()).binary(op, expand(a, shape), expand(b, shape), out);
  return out;
}

// ----- vjps of the arithmetic ops. Gradients are summed back over broadcast dims.

class AddBackward final : public Node {
 public:
  AddBackward(Shape a, Shape b, double sign_b) : a_(a), b_(b), sign_b_(sign_b) {}
  const char* name() const override { return sign_b_ > 0 ? "add" : "sub"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor& go = g[0];
    Tensor gb = next[1].valid() ? sum_to(sign_b_ > 0 ? go : neg(go), b_) : Tensor();
    return {next[0].valid() ? sum_to(go, a_) : Tensor(), gb};
  }

 private:
  Shape a_, b_;
  double sign_b_;
};

class MulBackward final : public Node {
 public:
  MulBackward(const Tensor& a, const Tensor& b) : a_(a), b_(b), sa_(a.shape()), sb_(b.shape()) {}
  const char* name() const override { return "mul"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor ga = next[0].valid() ? sum_to(mul(g[0], b_.unpack(name())), sa_) : Tensor();
    Tensor gb = next[1].valid() ? sum_to(mul(g[0], a_.unpack(name())), sb_) : Tensor();
    return {ga, gb};
  }
  void release() override {
    a_.reset();
    b_.reset();
  }

 private:
  SavedTensor a_, b_;
  Shape sa_, sb_;
};

class DivBackward final : public Node {
 public:
  DivBackward(const Tensor& a, const Tensor& b) : a_(a), b_(b), sa_(a.shape()), sb_(b.shape()) {}
  const char* name() const override { return "div"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor b = b_.unpack(name());
    Tensor ga = next[0].valid() ? sum_to(div(g[0], b), sa_) : Tensor();
    Tensor gb;
    if (next[1].valid()) {  // d(a/b)/db = -a / b^2
      gb = sum_to(neg(div(mul(g[0], a_.unpack(name())), mul(b, b))), sb_);
    }
    return {ga, gb};
  }
  void release() override {
    a_.reset();
    b_.reset();
  }

 private:
  SavedTensor a_, b_;
  Shape sa_, sb_;
};

class NegBackward final : public Node {
 public:
  const char* name() const override { return "neg"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {neg(g[0])}; }
};

class CastBackward final : public Node {
 public:
  explicit CastBackward(DType from) : from_(from) {}
  const char* name() const override { return "cast"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {cast(g[0], from_)}; }

 private:
  DType from_;
};

}  // namespace

// ----- arithmetic

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::add, "add", a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<AddBackward>(a.shape(), b.shape(), 1.0), {&a, &b}, {&out});
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::sub, "sub", a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<AddBackward>(a.shape(), b.shape(), -1.0), {&a, &b}, {&out});
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::mul, "mul", a, b);
  if (autograd::needs_grad({&a, &b})) autograd::record(std::make_shared<MulBackward>(a, b), {&a, &b}, {&out});
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::div, "div", a, b);
  if (autograd::needs_grad({&a, &b})) autograd::record(std::make_shared<DivBackward>(a, b), {&a, &b}, {&out});
  return out;
}

Tensor add(const Tensor& a, double b) { return add(a, detail::scalar_like(b, a)); }
Tensor sub(const Tensor& a, double b) { return sub(a, detail::scalar_like(b, a)); }
Tensor mul(const Tensor& a, double b) { return mul(a, detail::scalar_like(b, a)); }
Tensor div(const Tensor& a, double b) { return div(a, detail::scalar_like(b, a)); }
Tensor operator/(double a, const Tensor& b) { return div(detail::scalar_like(a, b), b); }

Tensor neg(const Tensor& x) {
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  backend(x.device()).unary(UnaryOp::neg, x, out, {});
  if (autograd::needs_grad({&x})) autograd::record(std::make_shared<NegBackward>(), {&x}, {&out});
  return out;
}

// ----- comparisons

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::eq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::ne, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::lt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::le, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::gt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::ge, "ge", a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, detail::scalar_like(b, a)); }
Tensor ne(const Tensor& a, double b) { return ne(a, detail::scalar_like(b, a)); }
Tensor lt(const Tensor& a, double b) { return lt(a, detail::scalar_like(b, a)); }
Tensor le(const Tensor& a, double b) { return le(a, detail::scalar_like(b, a)); }
Tensor gt(const Tensor& a, double b) { return gt(a, detail::scalar_like(b, a)); }
Tensor ge(const Tensor& a, double b) { return ge(a, detail::scalar_like(b, a)); }

// ----- dtype conversion

Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = make_tensor(x.shape(), dtype, x.device());
  backend(x.device()).copy(x, out);
  if (is_floating(dtype) && autograd::needs_grad({&x}))
    autograd::record(std::make_shared<CastBackward>(x.dtype()), {&x}, {&out});
  return out;
}

// ----- in place

Tensor& add_(Tensor& x, const Tensor& y, double alpha) {
  SUBTB_CHECK(!(autograd::grad_enabled() && x.requires_grad()), "add_: in-place update of ", describe(x),
              ", which requires grad, while grad mode is on (wrap it in NoGradGuard)");
  NoGradGuard no_grad;
  Tensor update = alpha == 1.0 ? y : mul(y, alpha);
  detail::check_same_dtype("add_", x, update);
  Tensor sum = add(x, update);
  SUBTB_CHECK(sum.shape() == x.shape(), "add_: ", describe(y), " does not broadcast to ", describe(x));
  backend(x.device()).copy(sum, x);
  x.storage()->bump_version();
  return x;
}

Tensor& mul_(Tensor& x, double s) {
  SUBTB_CHECK(!(autograd::grad_enabled() && x.requires_grad()), "mul_: in-place update of ", describe(x),
              ", which requires grad, while grad mode is on (wrap it in NoGradGuard)");
  NoGradGuard no_grad;
  backend(x.device()).copy(mul(x, s), x);
  x.storage()->bump_version();
  return x;
}

}  // namespace subtb

namespace subtb {

namespace {
class CloneBackward final : public autograd::Node {
 public:
  const char* name() const override { return "clone"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0]}; }
};
}  // namespace

Tensor Tensor::clone() const {
  Tensor out = make_tensor(shape(), dtype(), device());
  backend(device()).copy(*this, out);
  if (autograd::needs_grad({this})) autograd::record(std::make_shared<CloneBackward>(), {this}, {&out});
  return out;
}

}  // namespace subtb

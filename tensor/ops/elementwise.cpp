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

// The dtypes an op accepts.
enum class Domain { floating, numeric /* all but bool */, boolean, any };

void check_domain(const char* op, const Tensor& x, Domain domain) {
  switch (domain) {
    case Domain::floating: detail::check_floating(op, x); break;
    case Domain::numeric:
      SUBTB_CHECK(x.dtype() != DType::b8, op, ": expected a numeric tensor, got ", describe(x));
      break;
    case Domain::boolean: detail::check_dtype(op, x, DType::b8, "input"); break;
    case Domain::any: break;
  }
}

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
Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a, const Tensor& b, Domain domain) {
  detail::check_same_device(name, a, b);
  detail::check_same_dtype(name, a, b);
  check_domain(name, a, domain);
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = make_tensor(shape, binary_result_dtype(op, a.dtype()), a.device());
  backend(a.device()).binary(op, expand(a, shape), expand(b, shape), out);
  return out;
}

// The gradient of an activation from its fused kernel: (x or y, grad_out) -> grad_in.
Tensor fused_grad(BinaryOp op, const char* name, const Tensor& saved, const Tensor& g) {
  return binary_forward(op, name, saved, g, Domain::floating);
}

// ----- unary ops: one spec each, so that an op is its kernel, its dtypes and its vjp.

// What a unary vjp reads besides the output gradient.
enum class Saves { nothing, input, output };
// g: the output's gradient; s: the saved input or output (undefined for Saves::nothing).
using UnaryVjp = Tensor (*)(const Tensor& g, const Tensor& s, const UnaryParams& p);

struct UnarySpec {
  UnaryOp op;
  const char* name;
  Domain domain;
  Saves saves = Saves::nothing;
  UnaryVjp vjp = nullptr;  // null: piecewise constant or not differentiable, records nothing
};

class UnaryBackward final : public Node {
 public:
  UnaryBackward(const UnarySpec& spec, UnaryParams params, const Tensor& saved)
      : spec_(spec), params_(params), saved_(saved) {}
  const char* name() const override { return spec_.name; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {spec_.vjp(g[0], spec_.saves == Saves::nothing ? Tensor() : saved_.unpack(name()), params_)};
  }
  void release() override { saved_.reset(); }

 private:
  UnarySpec spec_;
  UnaryParams params_;
  SavedTensor saved_;
};

Tensor unary_op(const Tensor& x, const UnarySpec& spec, UnaryParams params = {}) {
  check_domain(spec.name, x, spec.domain);
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  backend(x.device()).unary(spec.op, x, out, params);
  if (spec.vjp && autograd::needs_grad({&x})) {
    const Tensor saved = spec.saves == Saves::input ? x : spec.saves == Saves::output ? out : Tensor();
    autograd::record(std::make_shared<UnaryBackward>(spec, params, saved), {&x}, {&out});
  }
  return out;
}

// isfinite / isnan / isinf: bool outputs, any dtype.
Tensor classify(UnaryOp op, const Tensor& x) {
  Tensor out = make_tensor(x.shape(), DType::b8, x.device());
  backend(x.device()).unary(op, x, out, {});
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

// d(a^b)/da = b a^(b-1) and d(a^b)/db = a^b log(a), with PyTorch's conventions where the
// formula gives 0 * inf: no gradient to a where b == 0, none to b where a == 0 and b >= 0.
class PowBackward final : public Node {
 public:
  PowBackward(const Tensor& a, const Tensor& b, const Tensor& out)
      : a_(a), b_(b), out_(out), sa_(a.shape()), sb_(b.shape()) {}
  const char* name() const override { return "pow"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor a = a_.unpack(name()), b = b_.unpack(name());
    Tensor ga, gb;
    if (next[0].valid()) ga = sum_to(where(eq(b, 0.0), 0.0, mul(g[0], mul(b, pow(a, sub(b, 1.0))))), sa_);
    if (next[1].valid()) {
      const Tensor log_term = where(logical_and(eq(a, 0.0), ge(b, 0.0)), 0.0, mul(out_.unpack(name()), log(a)));
      gb = sum_to(mul(g[0], log_term), sb_);
    }
    return {ga, gb};
  }
  void release() override {
    a_.reset();
    b_.reset();
    out_.reset();
  }

 private:
  SavedTensor a_, b_, out_;
  Shape sa_, sb_;
};

// maximum / minimum: the gradient goes to the winning operand, split evenly on ties (as
// in PyTorch), so that maximum(x, x) has gradient 1 in total.
class MaxMinBackward final : public Node {
 public:
  MaxMinBackward(const Tensor& a, const Tensor& b, bool is_max)
      : a_(a), b_(b), sa_(a.shape()), sb_(b.shape()), is_max_(is_max) {}
  const char* name() const override { return is_max_ ? "maximum" : "minimum"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor a = a_.unpack(name()), b = b_.unpack(name());
    const Tensor a_wins = cast(is_max_ ? gt(a, b) : lt(a, b), g[0].dtype());
    const Tensor share_a = mul(g[0], where(eq(a, b), 0.5, a_wins));  // a's share of g
    Tensor ga = next[0].valid() ? sum_to(share_a, sa_) : Tensor();
    Tensor gb = next[1].valid() ? sum_to(sub(g[0], share_a), sb_) : Tensor();
    return {ga, gb};
  }
  void release() override {
    a_.reset();
    b_.reset();
  }

 private:
  SavedTensor a_, b_;
  Shape sa_, sb_;
  bool is_max_;
};

class WhereBackward final : public Node {
 public:
  WhereBackward(const Tensor& cond, Shape a, Shape b) : cond_(cond), sa_(a), sb_(b) {}
  const char* name() const override { return "where"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor cond = cond_.unpack(name());
    Tensor ga = next[1].valid() ? sum_to(where(cond, g[0], 0.0), sa_) : Tensor();
    Tensor gb = next[2].valid() ? sum_to(where(cond, 0.0, g[0]), sb_) : Tensor();
    return {Tensor(), ga, gb};
  }
  void release() override { cond_.reset(); }

 private:
  SavedTensor cond_;
  Shape sa_, sb_;
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
  Tensor out = binary_forward(BinaryOp::add, "add", a, b, Domain::numeric);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<AddBackward>(a.shape(), b.shape(), 1.0), {&a, &b}, {&out});
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::sub, "sub", a, b, Domain::numeric);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<AddBackward>(a.shape(), b.shape(), -1.0), {&a, &b}, {&out});
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::mul, "mul", a, b, Domain::numeric);
  if (autograd::needs_grad({&a, &b})) autograd::record(std::make_shared<MulBackward>(a, b), {&a, &b}, {&out});
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::div, "div", a, b, Domain::numeric);
  if (autograd::needs_grad({&a, &b})) autograd::record(std::make_shared<DivBackward>(a, b), {&a, &b}, {&out});
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::pow, "pow", a, b, Domain::floating);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<PowBackward>(a, b, out), {&a, &b}, {&out});
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::maximum, "maximum", a, b, Domain::any);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<MaxMinBackward>(a, b, true), {&a, &b}, {&out});
  return out;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::minimum, "minimum", a, b, Domain::any);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<MaxMinBackward>(a, b, false), {&a, &b}, {&out});
  return out;
}

Tensor pow(const Tensor& a, double exponent) {
  return unary_op(a,
                  {UnaryOp::pow_scalar, "pow", Domain::floating, Saves::input,
                   [](const Tensor& g, const Tensor& x, const UnaryParams& p) {
                     if (p.a == 0.0) return zeros_like(g);  // x^0 = 1, even at x = 0
                     return mul(g, mul(pow(x, p.a - 1.0), p.a));
                   }},
                  {.a = exponent});
}

Tensor add(const Tensor& a, double b) { return add(a, detail::scalar_like(b, a)); }
Tensor sub(const Tensor& a, double b) { return sub(a, detail::scalar_like(b, a)); }
Tensor mul(const Tensor& a, double b) { return mul(a, detail::scalar_like(b, a)); }
Tensor div(const Tensor& a, double b) { return div(a, detail::scalar_like(b, a)); }
Tensor operator/(double a, const Tensor& b) { return div(detail::scalar_like(a, b), b); }

// ----- unary math. Each vjp reads the input (x) or the output (y), whichever is cheaper.

Tensor neg(const Tensor& x) {
  return unary_op(x, {UnaryOp::neg, "neg", Domain::numeric, Saves::nothing,
                      [](const Tensor& g, const Tensor&, const UnaryParams&) { return neg(g); }});
}

Tensor exp(const Tensor& x) {
  return unary_op(x, {UnaryOp::exp, "exp", Domain::floating, Saves::output,
                      [](const Tensor& g, const Tensor& y, const UnaryParams&) { return mul(g, y); }});
}

Tensor log(const Tensor& x) {
  return unary_op(x, {UnaryOp::log, "log", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) { return div(g, x); }});
}

Tensor log1p(const Tensor& x) {
  return unary_op(x, {UnaryOp::log1p, "log1p", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) { return div(g, add(x, 1.0)); }});
}

Tensor expm1(const Tensor& x) {
  return unary_op(x, {UnaryOp::expm1, "expm1", Domain::floating, Saves::output,
                      [](const Tensor& g, const Tensor& y, const UnaryParams&) { return mul(g, add(y, 1.0)); }});
}

Tensor sqrt(const Tensor& x) {
  return unary_op(x, {UnaryOp::sqrt, "sqrt", Domain::floating, Saves::output,
                      [](const Tensor& g, const Tensor& y, const UnaryParams&) { return div(g, mul(y, 2.0)); }});
}

Tensor rsqrt(const Tensor& x) {  // d/dx x^(-1/2) = -y^3 / 2
  return unary_op(x, {UnaryOp::rsqrt, "rsqrt", Domain::floating, Saves::output,
                      [](const Tensor& g, const Tensor& y, const UnaryParams&) {
                        return mul(g, mul(mul(y, square(y)), -0.5));
                      }});
}

Tensor abs(const Tensor& x) {  // abs'(0) = sign(0) = 0
  return unary_op(x, {UnaryOp::abs, "abs", Domain::numeric, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) { return mul(g, sign(x)); }});
}

Tensor sign(const Tensor& x) { return unary_op(x, {UnaryOp::sign, "sign", Domain::numeric}); }

Tensor square(const Tensor& x) {
  return unary_op(x, {UnaryOp::square, "square", Domain::numeric, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) { return mul(g, mul(x, 2.0)); }});
}

Tensor reciprocal(const Tensor& x) {  // d/dx 1/x = -y^2
  return unary_op(x, {UnaryOp::reciprocal, "reciprocal", Domain::floating, Saves::output,
                      [](const Tensor& g, const Tensor& y, const UnaryParams&) { return mul(g, neg(square(y))); }});
}

Tensor sin(const Tensor& x) {
  return unary_op(x, {UnaryOp::sin, "sin", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) { return mul(g, cos(x)); }});
}

Tensor cos(const Tensor& x) {
  return unary_op(x, {UnaryOp::cos, "cos", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) { return mul(g, neg(sin(x))); }});
}

// ----- activations. Backward is one fused kernel each (BinaryOp::*_grad).

Tensor relu(const Tensor& x) {  // relu'(0) = 0
  return unary_op(x, {UnaryOp::relu, "relu", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) {
                        return fused_grad(BinaryOp::relu_grad, "relu", x, g);
                      }});
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {  // the negative slope at 0, like relu'(0) = 0
  return unary_op(x,
                  {UnaryOp::leaky_relu, "leaky_relu", Domain::floating, Saves::input,
                   [](const Tensor& g, const Tensor& x, const UnaryParams& p) {
                     return where(gt(x, 0.0), g, mul(g, p.a));
                   }},
                  {.a = negative_slope});
}

Tensor gelu(const Tensor& x, GeluApprox approximate) {
  if (approximate == GeluApprox::tanh) {
    return unary_op(x, {UnaryOp::gelu_tanh, "gelu", Domain::floating, Saves::input,
                        [](const Tensor& g, const Tensor& x, const UnaryParams&) {
                          return fused_grad(BinaryOp::gelu_tanh_grad, "gelu", x, g);
                        }});
  }
  return unary_op(x, {UnaryOp::gelu_erf, "gelu", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) {
                        return fused_grad(BinaryOp::gelu_erf_grad, "gelu", x, g);
                      }});
}

Tensor silu(const Tensor& x) {
  return unary_op(x, {UnaryOp::silu, "silu", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) {
                        return fused_grad(BinaryOp::silu_grad, "silu", x, g);
                      }});
}

Tensor sigmoid(const Tensor& x) {
  return unary_op(x, {UnaryOp::sigmoid, "sigmoid", Domain::floating, Saves::output,
                      [](const Tensor& g, const Tensor& y, const UnaryParams&) {
                        return fused_grad(BinaryOp::sigmoid_grad_from_output, "sigmoid", y, g);
                      }});
}

Tensor tanh(const Tensor& x) {
  return unary_op(x, {UnaryOp::tanh, "tanh", Domain::floating, Saves::output,
                      [](const Tensor& g, const Tensor& y, const UnaryParams&) {
                        return fused_grad(BinaryOp::tanh_grad_from_output, "tanh", y, g);
                      }});
}

Tensor softplus(const Tensor& x) {
  return unary_op(x, {UnaryOp::softplus, "softplus", Domain::floating, Saves::input,
                      [](const Tensor& g, const Tensor& x, const UnaryParams&) {
                        return fused_grad(BinaryOp::softplus_grad, "softplus", x, g);
                      }});
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  return unary_op(x,
                  {UnaryOp::clamp, "clamp", Domain::floating, Saves::input,
                   [](const Tensor& g, const Tensor& x, const UnaryParams& p) {
                     // The gradient passes where lo <= x <= hi; a NaN bound excludes nothing.
                     Tensor inside;
                     if (!std::isnan(p.a)) inside = ge(x, p.a);
                     if (!std::isnan(p.b)) inside = inside.defined() ? logical_and(inside, le(x, p.b)) : le(x, p.b);
                     return inside.defined() ? where(inside, g, 0.0) : g;
                   }},
                  {.a = lo, .b = hi});
}

// ----- comparisons

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::eq, "eq", a, b, Domain::any); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::ne, "ne", a, b, Domain::any); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::lt, "lt", a, b, Domain::any); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::le, "le", a, b, Domain::any); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::gt, "gt", a, b, Domain::any); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::ge, "ge", a, b, Domain::any); }
Tensor eq(const Tensor& a, double b) { return eq(a, detail::scalar_like(b, a)); }
Tensor ne(const Tensor& a, double b) { return ne(a, detail::scalar_like(b, a)); }
Tensor lt(const Tensor& a, double b) { return lt(a, detail::scalar_like(b, a)); }
Tensor le(const Tensor& a, double b) { return le(a, detail::scalar_like(b, a)); }
Tensor gt(const Tensor& a, double b) { return gt(a, detail::scalar_like(b, a)); }
Tensor ge(const Tensor& a, double b) { return ge(a, detail::scalar_like(b, a)); }

// ----- logic (bool in, bool out) and classification (any dtype in, bool out)

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return binary_forward(BinaryOp::logical_and, "logical_and", a, b, Domain::boolean);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return binary_forward(BinaryOp::logical_or, "logical_or", a, b, Domain::boolean);
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return binary_forward(BinaryOp::logical_xor, "logical_xor", a, b, Domain::boolean);
}
Tensor logical_not(const Tensor& x) { return unary_op(x, {UnaryOp::logical_not, "logical_not", Domain::boolean}); }

Tensor isfinite(const Tensor& x) { return classify(UnaryOp::isfinite, x); }
Tensor isnan(const Tensor& x) { return classify(UnaryOp::isnan, x); }
Tensor isinf(const Tensor& x) { return classify(UnaryOp::isinf, x); }

// ----- selection

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_dtype("where", cond, DType::b8, "cond");
  detail::check_same_device("where", cond, a);
  detail::check_same_device("where", a, b);
  detail::check_same_dtype("where", a, b);
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = make_tensor(shape, a.dtype(), a.device());
  backend(a.device()).where(expand(cond, shape), expand(a, shape), expand(b, shape), out);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(std::make_shared<WhereBackward>(cond, a.shape(), b.shape()), {&cond, &a, &b}, {&out});
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, detail::scalar_like(b, a)); }
Tensor where(const Tensor& cond, double a, const Tensor& b) { return where(cond, detail::scalar_like(a, b), b); }

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

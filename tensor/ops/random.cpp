#include "tensor/ops/random.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

// Reserves the counter blocks a draw of `out` needs and runs the kernel.
void draw(RandomOp op, const Tensor& out, Generator* gen, double a, double b, const Tensor& p = Tensor()) {
  Generator& g = gen ? *gen : default_generator();
  const uint64_t per_block = out.dtype() == DType::f64 ? 2 : 4;
  const uint64_t n = static_cast<uint64_t>(out.numel());
  const PhiloxDraw d{g.seed(), g.advance((n + per_block - 1) / per_block)};
  if (n > 0) backend(out.device()).random(op, out, d, a, b, p);
}

}  // namespace

Tensor rand(const Shape& shape, DType dtype, Device device, Generator* gen, double low, double high) {
  SUBTB_CHECK(is_floating(dtype), "rand: dtype must be floating, got ", dtype);
  SUBTB_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, "rand: invalid range [", low, ", ", high,
              ")");
  Tensor out = make_tensor(shape, dtype, device);
  draw(RandomOp::uniform, out, gen, low, high);
  return out;
}

Tensor randn(const Shape& shape, DType dtype, Device device, Generator* gen, double mean, double std) {
  SUBTB_CHECK(is_floating(dtype), "randn: dtype must be floating, got ", dtype);
  SUBTB_CHECK(std::isfinite(mean) && std::isfinite(std) && std >= 0, "randn: invalid mean ", mean, " or std ", std);
  Tensor out = make_tensor(shape, dtype, device);
  draw(RandomOp::normal, out, gen, mean, std);
  return out;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device, Generator* gen) {
  SUBTB_CHECK(is_integral(dtype), "randint: dtype must be i32 or i64, got ", dtype);
  SUBTB_CHECK(low < high, "randint: empty range [", low, ", ", high, ")");
  SUBTB_CHECK(static_cast<uint64_t>(high - low) <= (uint64_t{1} << 32), "randint: range [", low, ", ", high,
              ") is wider than 2^32");
  Tensor out = make_tensor(shape, dtype, device);
  draw(RandomOp::randint, out, gen, static_cast<double>(low), static_cast<double>(high));
  return out;
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  detail::check_floating("bernoulli", p);
  Tensor out = make_tensor(p.shape(), p.dtype(), p.device());
  // The kernel reads probability i at position i.
  draw(RandomOp::bernoulli, out, gen, 0, 0, p.contiguous());
  return out;
}

Tensor categorical(const Tensor& logits, Generator* gen) {
  detail::check_floating("categorical", logits);
  SUBTB_CHECK(logits.dim() > 0 && logits.shape().back() > 0, "categorical: logits must be [..., C] with C > 0, got ",
              describe(logits));
  NoGradGuard no_grad;
  // Gumbel-max: argmax(logits + G) with G standard Gumbel noise is a draw from
  // softmax(logits), and a -inf logit stays -inf, so masked categories are never drawn.
  // 16-bit logits are widened first, so that the noise keeps its resolution.
  const DType dtype = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor l = logits.to(dtype);
  // One synchronising check covers every bad row; the message is worked out only then.
  const Tensor row_max = amax(l, {-1});
  if (!logical_and(all(isfinite(row_max)), logical_not(any(isnan(l)))).item()) {
    SUBTB_CHECK(!any(isnan(l)).item(), "categorical: logits ", describe(logits), " contain NaN");
    SUBTB_CHECK(!any(eq(row_max, -INFINITY)).item(), "categorical: a row of logits ", describe(logits),
                " has every category at -inf, so there is nothing to draw");
    SUBTB_THROW("categorical: logits ", describe(logits), " contain +inf");
  }
  Tensor noise = make_tensor(l.shape(), dtype, l.device());
  draw(RandomOp::gumbel, noise, gen, 0, 0);
  return argmax(add(l, noise), -1);
}

}  // namespace subtb

#include "tensor/ops/random.h"

#include <cmath>

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
  draw(RandomOp::bernoulli, out, gen, 0, 0, p);
  return out;
}

}  // namespace subtb

#include "nn/rope.h"

#include <cmath>
#include <vector>

#include "tensor/ops.h"

namespace subtb::nn {

RotaryEmbedding::RotaryEmbedding(int64_t head_dim, int64_t max_positions, double theta)
    : head_dim_(head_dim), max_positions_(max_positions), theta_(theta) {
  SUBTB_CHECK(head_dim > 0 && head_dim % 2 == 0, "RotaryEmbedding: head_dim must be positive and even, got ", head_dim);
  SUBTB_CHECK(max_positions > 0, "RotaryEmbedding: max_positions must be positive, got ", max_positions);
  SUBTB_CHECK(theta > 1.0, "RotaryEmbedding: theta must exceed 1, got ", theta);
  const int64_t half = head_dim / 2;
  std::vector<double> c(static_cast<size_t>(max_positions * half)), s(c.size());
  for (int64_t i = 0; i < half; ++i) {
    const double inv_freq = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    for (int64_t p = 0; p < max_positions; ++p) {
      c[p * half + i] = std::cos(static_cast<double>(p) * inv_freq);
      s[p * half + i] = std::sin(static_cast<double>(p) * inv_freq);
    }
  }
  cos64_ = from_vector(c, Shape{max_positions, half});
  sin64_ = from_vector(s, Shape{max_positions, half});
}

const Tensor& RotaryEmbedding::table(bool sine, DType dtype, Device device) const {
  Tensor& t = sine ? sin_ : cos_;
  if (!t.defined() || t.dtype() != dtype || t.device() != device) t = (sine ? sin64_ : cos64_).to(dtype).to(device);
  return t;
}

Tensor RotaryEmbedding::apply(const Tensor& x, const Tensor& positions) const {
  SUBTB_CHECK(x.dim() == 4 && x.shape()[3] == head_dim_, "RotaryEmbedding: x ", describe(x), " is not [B, T, H, ",
              head_dim_, "]");
  SUBTB_CHECK(positions.dtype() == DType::i64 && positions.dim() == 2 && positions.shape()[0] == x.shape()[0] &&
                  positions.shape()[1] == x.shape()[1],
              "RotaryEmbedding: positions ", describe(positions), " are not i64 [B, T] for x ", describe(x));
  const int64_t B = x.shape()[0], T = x.shape()[1], half = head_dim_ / 2;
  // index_select bounds-checks every position against the table.
  const Tensor flat = positions.reshape(Shape{B * T});
  const Tensor c = index_select(table(false, x.dtype(), x.device()), 0, flat).reshape(Shape{B, T, 1, half});
  const Tensor s = index_select(table(true, x.dtype(), x.device()), 0, flat).reshape(Shape{B, T, 1, half});
  const Tensor x1 = x.narrow(3, 0, half), x2 = x.narrow(3, half, half);
  return cat({x1 * c - x2 * s, x2 * c + x1 * s}, 3);
}

}  // namespace subtb::nn

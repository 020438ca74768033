#pragma once
// Rotary position embeddings (RoPE), in the LLaMA / Hugging Face convention: the head dim
// D is split in halves (x1, x2) = (x[..., :D/2], x[..., D/2:]) and pair i is rotated by
// the angle pos * theta^(-2i/D):
//   out = [x1 cos - x2 sin, x2 cos + x1 sin].
// Because a rotation by pos_q and one by pos_k meet in the dot product as a rotation by
// pos_q - pos_k, attention scores depend only on relative positions.
#include <cstdint>

#include "tensor/tensor.h"

namespace subtb::nn {

class RotaryEmbedding {
 public:
  // head_dim must be even; positions must lie in [0, max_positions).
  RotaryEmbedding(int64_t head_dim, int64_t max_positions, double theta = 10000.0);

  // x: [B, T, H, D] (any strides), positions: [B, T] i64 -> [B, T, H, D] rotated. The
  // angles are computed in f64 and rounded once to x's dtype.
  Tensor apply(const Tensor& x, const Tensor& positions) const;

  int64_t head_dim() const { return head_dim_; }
  int64_t max_positions() const { return max_positions_; }
  double theta() const { return theta_; }

 private:
  // cos and sin of every (position, pair) angle: [max_positions, D/2], in `dtype` on
  // `device`, made on first use there and kept.
  const Tensor& table(bool sine, DType dtype, Device device) const;

  int64_t head_dim_, max_positions_;
  double theta_;
  Tensor cos64_, sin64_;  // f64 on the CPU, the source of every converted table
  mutable Tensor cos_, sin_;
};

}  // namespace subtb::nn

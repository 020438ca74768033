#pragma once
// 2-d convolution (cross-correlation, as in every deep-learning framework), NCHW.
//
// x: [N, C, H, W], weight: [O, C, KH, KW], bias: [O] or undefined -> [N, O, OH, OW] with
//   OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) / stride[0] + 1
// (and OW likewise from W, KW and the second entries), where
//   out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j] *
//                     x[n, c, y * stride[0] - padding[0] + i * dilation[0],
//                             x * stride[1] - padding[1] + j * dilation[1]]
// and x reads as 0 outside the image (zero padding). Differentiable in x, weight and
// bias. A ViT's patch embedding is the case stride = kernel size, padding 0.
#include <array>
#include <cstdint>

#include "tensor/tensor.h"

namespace subtb {

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};    // >= 1
  std::array<int64_t, 2> padding{0, 0};   // >= 0
  std::array<int64_t, 2> dilation{1, 1};  // >= 1
};

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& options = {});

}  // namespace subtb

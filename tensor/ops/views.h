#pragma once
// Views share the input's storage (no copy) and are differentiable. reshape copies
// only when the strides cannot express the new shape; view never copies and throws
// instead.
#include "tensor/tensor.h"

namespace subtb {

// One extent of `shape` may be -1 (inferred).
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor squeeze(const Tensor& x, int64_t dim);  // no-op when that dim is not 1
Tensor squeeze(const Tensor& x);               // every size-1 dim
Tensor unsqueeze(const Tensor& x, int64_t dim);
// Broadcasts size-1 dims (and new leading dims) to `shape` with stride 0; -1 keeps a dim.
Tensor expand(const Tensor& x, const Shape& shape);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
// Python-style slice [start:end:step] along dim (negative start/end count from the end,
// out-of-range bounds clamp, step > 0).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes);

}  // namespace subtb

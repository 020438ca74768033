#pragma once
#include "tensor/tensor.h"

namespace subtb {

// NumPy matmul semantics: 1-d operands are promoted (and the added dim removed again),
// batch dims broadcast. f32/f64 through BLAS on the CPU.
Tensor matmul(const Tensor& a, const Tensor& b);
// a: [N], b: [M] -> [N, M].
Tensor outer(const Tensor& a, const Tensor& b);

}  // namespace subtb

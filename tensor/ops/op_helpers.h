#pragma once
// Argument checks shared by the op front ends, each throwing a message that names the op
// and what it was given.
#include <optional>

#include "tensor/tensor.h"

namespace subtb::detail {

inline void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  SUBTB_CHECK(a.device() == b.device(), op, ": tensors on different devices: ", describe(a), " and ",
              describe(b));
}

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  SUBTB_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ: ", describe(a), " and ", describe(b),
              " (convert one explicitly with .to(dtype))");
}

inline void check_floating(const char* op, const Tensor& x) {
  SUBTB_CHECK(is_floating(x.dtype()), op, ": expected a floating tensor (f32, f64, bf16, f16), got ",
              describe(x));
}

inline void check_dtype(const char* op, const Tensor& x, DType expected, const char* what) {
  SUBTB_CHECK(x.dtype() == expected, op, ": ", what, " must be ", expected, ", got ", describe(x));
}

// A 0-d tensor of `like`'s dtype and device holding `value` (for tensor-scalar ops).
Tensor scalar_like(double value, const Tensor& like);

// The first entry of `index` (i64, row-major order) outside [0, size), if any, for the
// bounds checks of the indexing ops. Reads the indices on the host, so a device tensor
// costs a copy and a synchronisation.
std::optional<int64_t> first_out_of_range(const Tensor& index, int64_t size);

}  // namespace subtb::detail

#include "tensor/shape.h"

#include <sstream>

namespace subtb {

std::string Shape::to_string() const {
  std::ostringstream os;
  os << '[';
  for (int i = 0; i < n_; ++i) os << (i ? ", " : "") << d_[i];
  os << ']';
  return os.str();
}

Strides contiguous_strides(const Shape& shape) {
  Strides s = Shape::filled(shape.size(), 1);
  int64_t acc = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return s;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.size(), b.size());
  Shape out = Shape::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    const int ia = a.size() - n + i, ib = b.size() - n + i;
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    SUBTB_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
                " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int normalize_dim(int64_t dim, int ndim, const char* op) {
  const int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  SUBTB_CHECK(dim >= lo && dim <= hi, op, ": dim ", dim, " is out of range for a tensor with ", ndim,
              " dimensions (expected ", lo, " to ", hi, ")");
  return static_cast<int>(dim < 0 ? dim + std::max(ndim, 1) : dim);
}

uint32_t dim_mask(std::span<const int64_t> dims, int ndim, const char* op) {
  if (dims.empty()) return ndim == 0 ? 0u : (1u << ndim) - 1u;
  uint32_t mask = 0;
  for (int64_t d : dims) {
    const int nd = normalize_dim(d, ndim, op);
    if (ndim == 0) continue;
    SUBTB_CHECK(!(mask & (1u << nd)), op, ": dim ", d, " appears more than once");
    mask |= 1u << nd;
  }
  return mask;
}

}  // namespace subtb

#pragma once
// Reductions over any set of dims (an empty list means all dims), with keepdim.
#include "tensor/tensor.h"

namespace subtb {

using DimList = Shape;  // a short list of dims; negative values count from the end

Tensor sum(const Tensor& x, const DimList& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const DimList& dims = {}, bool keepdim = false);
// correction 1 = Bessel's (unbiased, the default as in PyTorch), 0 = population.
Tensor var(const Tensor& x, const DimList& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const DimList& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor prod(const Tensor& x, const DimList& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const DimList& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const DimList& dims = {}, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const DimList& dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, const DimList& dims = {}, bool keepdim = false);
Tensor any(const Tensor& x, const DimList& dims = {}, bool keepdim = false);

// Values and (i64) indices of the max/min along one dim; the first index wins ties.
struct ValuesIndices {
  Tensor values, indices;
};
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
// Over all elements (flattened index).
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);

// Inclusive scans along `dim`.
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor logcumsumexp(const Tensor& x, int64_t dim);

// Sums a broadcast gradient back to `shape` (the inverse of broadcasting): used by vjps.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace subtb

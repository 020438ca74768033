#pragma once
// Gathering, scattering, joining and padding. Index tensors are i64; every index is
// bounds-checked and a bad one throws naming the op, the index and the size.
#include <vector>

#include "tensor/tensor.h"

namespace subtb {

// out[i][j] = x[index[i][j]][j] for dim 0 (and so on); index has x's ndim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of `x` with src added at the positions `index` names along `dim`.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// index: 1-d; selects slices of x along dim.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of `x` with src's slices added at index (1-d) along dim.
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// x where mask is false, value where true (mask broadcasts to x).
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Pieces of `size` along dim (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
// `chunks` near-equal pieces (as torch.chunk: ceil(n / chunks) each).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

// Constant padding. `pads` lists (before, after) pairs starting from the LAST dim, as in
// torch.nn.functional.pad; negative pads crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);

// Lower / upper triangle of the last two dims (diagonal offset k), the rest zeroed.
Tensor tril(const Tensor& x, int64_t k = 0);
Tensor triu(const Tensor& x, int64_t k = 0);

}  // namespace subtb

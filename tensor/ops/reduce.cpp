// Reduction front ends and their vjps.
#include "tensor/ops/reduce.h"

#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;

// x's shape with the masked dims set to 1 (keepdim), and with them removed.
Shape keepdim_shape(const Shape& s, uint32_t mask) {
  Shape out = s;
  for (int i = 0; i < s.size(); ++i)
    if (mask & (1u << i)) out[i] = 1;
  return out;
}
Shape dropdim_shape(const Shape& s, uint32_t mask) {
  Shape out;
  for (int i = 0; i < s.size(); ++i)
    if (!(mask & (1u << i))) out.push_back(s[i]);
  return out;
}

// Gradient of sum: broadcast back over the reduced dims.
class SumBackward final : public Node {
 public:
  SumBackward(Shape in, Shape keep) : in_(in), keep_(keep) {}
  const char* name() const override { return "sum"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {expand(reshape(g[0], keep_), in_).contiguous()};
  }

 private:
  Shape in_, keep_;
};

}  // namespace

Tensor sum(const Tensor& x, const DimList& dims, bool keepdim) {
  const uint32_t mask = dim_mask(std::span<const int64_t>(dims.begin(), dims.size()), x.dim(), "sum");
  const Shape keep = keepdim_shape(x.shape(), mask);
  // Sums of integers and bools are i64, as in PyTorch.
  const DType dtype = is_floating(x.dtype()) ? x.dtype() : DType::i64;
  Tensor out = make_tensor(keep, dtype, x.device());
  backend(x.device()).reduce(ReduceOp::sum, x, mask, out);
  if (!keepdim) out = make_view(out, dropdim_shape(x.shape(), mask), contiguous_strides(dropdim_shape(x.shape(), mask)), 0);
  if (autograd::needs_grad({&x})) autograd::record(std::make_shared<SumBackward>(x.shape(), keep), {&x}, {&out});
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int lead = x.dim() - shape.size();
  SUBTB_CHECK(lead >= 0, "sum_to: cannot reduce ", describe(x), " to the larger shape ", shape);
  DimList dims;
  for (int i = 0; i < x.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
    } else if (shape[i - lead] == 1 && x.shape()[i] != 1) {
      dims.push_back(i);
    } else {
      SUBTB_CHECK(shape[i - lead] == x.shape()[i], "sum_to: ", describe(x), " does not broadcast from ", shape);
    }
  }
  Tensor s = dims.empty() ? x : sum(x, dims, /*keepdim=*/true);
  return reshape(s, shape);
}

}  // namespace subtb

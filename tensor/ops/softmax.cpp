// softmax and log_softmax front ends and their vjp.
#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

// The kernels see a 0-d tensor as one row of one element.
Tensor as_rows(const Tensor& t) { return t.dim() == 0 ? make_view(t, Shape{1}, Strides{1}, t.offset()) : t; }

// Backward from the forward output y alone: y * (g - sum(g * y)) for softmax,
// g - exp(y) * sum(g) for log_softmax.
class SoftmaxBackward final : public Node {
 public:
  SoftmaxBackward(const Tensor& y, int dim, bool log) : y_(y), dim_(dim), log_(log) {}
  const char* name() const override { return log_ ? "log_softmax" : "softmax"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    if (!g[0].defined()) return {};
    const Tensor y = y_.unpack(name());
    Tensor grad_x = make_tensor(y.shape(), y.dtype(), y.device());
    backend(y.device()).softmax_backward(as_rows(y), as_rows(g[0]), dim_, log_, as_rows(grad_x));
    return {grad_x};
  }
  void release() override { y_.reset(); }

 private:
  SavedTensor y_;
  int dim_;
  bool log_;
};

Tensor softmax_forward(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  detail::check_floating(op, x);
  const int d = normalize_dim(dim, x.dim(), op);
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  backend(x.device()).softmax(as_rows(x), d, log, as_rows(out));
  if (autograd::needs_grad({&x})) autograd::record(std::make_shared<SoftmaxBackward>(out, d, log), {&x}, {&out});
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_forward(x, dim, /*log=*/false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_forward(x, dim, /*log=*/true); }

}  // namespace subtb

// layer_norm and rms_norm front ends and their vjps. Forward saves the per-row
// statistics (mean and 1/std, in f32, or f64 for f64 inputs) so that backward is one
// kernel that never recomputes them.
#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

// Checks x ([..., D], at least 1-d) and an optional [D] parameter of x's dtype and device.
void check_norm_args(const char* op, const Tensor& x, const Tensor& param, const char* what) {
  if (!param.defined()) return;
  detail::check_same_device(op, x, param);
  detail::check_same_dtype(op, x, param);
  SUBTB_CHECK(param.shape() == Shape{x.shape().back()}, op, ": ", what, " ", describe(param),
              " does not match the last dim of x ", describe(x), " (expected [", x.shape().back(), "])");
}

void check_norm_input(const char* op, const Tensor& x) {
  detail::check_floating(op, x);
  SUBTB_CHECK(x.dim() >= 1, op, ": expected x with at least one dim to normalise over, got ", describe(x));
}

// One statistic per row: x's shape without the last dim, f32 (f64 for f64 x).
Tensor row_stat(const Tensor& x) {
  Shape rows = x.shape();
  rows.erase(rows.size() - 1);
  return make_tensor(rows, x.dtype() == DType::f64 ? DType::f64 : DType::f32, x.device());
}

Tensor grad_like(bool wanted, const Tensor& t) {
  return wanted ? make_tensor(t.shape(), t.dtype(), t.device()) : Tensor();
}

class LayerNormBackward final : public Node {
 public:
  LayerNormBackward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mean, const Tensor& rstd)
      : x_(x), weight_(weight), bias_shape_(bias.defined() ? bias.shape() : Shape{}), mean_(mean), rstd_(rstd) {}
  const char* name() const override { return "layer_norm"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    if (!g[0].defined()) return {};
    const Tensor x = x_.unpack(name()), weight = weight_.unpack(name());
    Tensor grad_x = grad_like(next[0].valid(), x);
    Tensor grad_weight = grad_like(next[1].valid(), weight);
    Tensor grad_bias = next[2].valid() ? make_tensor(bias_shape_, x.dtype(), x.device()) : Tensor();
    backend(x.device())
        .layer_norm_backward(g[0], x, weight, mean_.unpack(name()), rstd_.unpack(name()), grad_x, grad_weight,
                             grad_bias);
    return {grad_x, grad_weight, grad_bias};
  }
  void release() override {
    x_.reset();
    weight_.reset();
    mean_.reset();
    rstd_.reset();
  }

 private:
  SavedTensor x_, weight_;
  Shape bias_shape_;
  SavedTensor mean_, rstd_;
};

class RmsNormBackward final : public Node {
 public:
  RmsNormBackward(const Tensor& x, const Tensor& weight, const Tensor& rstd) : x_(x), weight_(weight), rstd_(rstd) {}
  const char* name() const override { return "rms_norm"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    if (!g[0].defined()) return {};
    const Tensor x = x_.unpack(name()), weight = weight_.unpack(name());
    Tensor grad_x = grad_like(next[0].valid(), x);
    Tensor grad_weight = grad_like(next[1].valid(), weight);
    backend(x.device()).rms_norm_backward(g[0], x, weight, rstd_.unpack(name()), grad_x, grad_weight);
    return {grad_x, grad_weight};
  }
  void release() override {
    x_.reset();
    weight_.reset();
    rstd_.reset();
  }

 private:
  SavedTensor x_, weight_, rstd_;
};

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_norm_input("layer_norm", x);
  check_norm_args("layer_norm", x, weight, "weight");
  check_norm_args("layer_norm", x, bias, "bias");
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  Tensor mean = row_stat(x), rstd = row_stat(x);
  backend(x.device()).layer_norm(x, weight, bias, eps, out, mean, rstd);
  if (autograd::needs_grad({&x, &weight, &bias}))
    autograd::record(std::make_shared<LayerNormBackward>(x, weight, bias, mean, rstd), {&x, &weight, &bias}, {&out});
  return out;
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  check_norm_input("rms_norm", x);
  check_norm_args("rms_norm", x, weight, "weight");
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  Tensor rstd = row_stat(x);
  backend(x.device()).rms_norm(x, weight, eps, out, rstd);
  if (autograd::needs_grad({&x, &weight}))
    autograd::record(std::make_shared<RmsNormBackward>(x, weight, rstd), {&x, &weight}, {&out});
  return out;
}

}  // namespace subtb

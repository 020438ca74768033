// conv2d front end and its vjp. The kernels take contiguous tensors: a strided input is
// copied here (a differentiable copy, so gradients still reach the view's base), which
// costs little next to the convolution and keeps every backend's kernel to one layout.
#include "tensor/ops/conv.h"

#include <string>

#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

std::string pair(const std::array<int64_t, 2>& p) { return str("(", p[0], ", ", p[1], ")"); }

Conv2dParams to_params(const Conv2dOptions& o) {
  Conv2dParams p;
  for (int i = 0; i < 2; ++i) {
    p.stride[i] = o.stride[i];
    p.padding[i] = o.padding[i];
    p.dilation[i] = o.dilation[i];
  }
  return p;
}

void check_conv_args(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  detail::check_floating("conv2d", x);
  detail::check_same_device("conv2d", x, weight);
  detail::check_same_dtype("conv2d", x, weight);
  SUBTB_CHECK(x.dim() == 4, "conv2d: expected x of shape [N, C, H, W], got ", describe(x));
  SUBTB_CHECK(weight.dim() == 4, "conv2d: expected weight of shape [O, C, KH, KW], got ", describe(weight));
  SUBTB_CHECK(weight.numel() > 0, "conv2d: weight ", describe(weight), " has an empty dim");
  SUBTB_CHECK(weight.shape()[1] == x.shape()[1], "conv2d: weight ", describe(weight), " expects ", weight.shape()[1],
              " input channels but x ", describe(x), " has ", x.shape()[1]);
  if (bias.defined()) {
    detail::check_same_device("conv2d", x, bias);
    detail::check_same_dtype("conv2d", x, bias);
    SUBTB_CHECK(bias.shape() == Shape{weight.shape()[0]}, "conv2d: bias ", describe(bias),
                " does not match the filters of weight ", describe(weight), " (expected [", weight.shape()[0], "])");
  }
  for (int i = 0; i < 2; ++i) {
    SUBTB_CHECK(o.stride[i] >= 1 && o.padding[i] >= 0 && o.dilation[i] >= 1, "conv2d: invalid stride ", pair(o.stride),
                ", padding ", pair(o.padding), " or dilation ", pair(o.dilation),
                " (stride and dilation must be >= 1, padding >= 0)");
  }
}

// The output's extent along one spatial dim, or a non-positive number when the
// (padded) input is smaller than the (dilated) kernel.
int64_t out_extent(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  const int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

class Conv2dBackward final : public Node {
 public:
  Conv2dBackward(const Tensor& x, const Tensor& weight, bool has_bias, const Conv2dParams& params)
      : x_(weight.requires_grad() ? x : Tensor()),
        weight_(x.requires_grad() ? weight : Tensor()),
        x_shape_(x.shape()),
        weight_shape_(weight.shape()),
        has_bias_(has_bias),
        params_(params) {}
  const char* name() const override { return "conv2d"; }

  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    if (!grads[0].defined()) return {};
    const Tensor g = grads[0].contiguous();
    Backend& be = backend(g.device());
    Tensor grad_x, grad_weight, grad_bias;
    if (next[0].valid()) {
      grad_x = make_tensor(x_shape_, g.dtype(), g.device());
      be.conv2d_backward_input(g, weight_.unpack(name()), params_, grad_x);
    }
    const bool want_weight = next[1].valid(), want_bias = has_bias_ && next[2].valid();
    if (want_weight) grad_weight = make_tensor(weight_shape_, g.dtype(), g.device());
    if (want_bias) grad_bias = make_tensor({weight_shape_[0]}, g.dtype(), g.device());
    if (want_weight || want_bias) {
      // The bias gradient alone needs only grad_out; x is not saved for it.
      be.conv2d_backward_weight(g, want_weight ? x_.unpack(name()) : Tensor(), params_, grad_weight, grad_bias);
    }
    if (!has_bias_) return {grad_x, grad_weight};
    return {grad_x, grad_weight, grad_bias};
  }
  void release() override {
    x_.reset();
    weight_.reset();
  }

 private:
  SavedTensor x_, weight_;  // each kept only when the other's gradient needs it
  Shape x_shape_, weight_shape_;
  bool has_bias_;
  Conv2dParams params_;
};

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight_in, const Tensor& bias_in, const Conv2dOptions& options) {
  check_conv_args(input, weight_in, bias_in, options);
  const Shape& xs = input.shape();
  const Shape& ws = weight_in.shape();
  const int64_t oh = out_extent(xs[2], ws[2], options.stride[0], options.padding[0], options.dilation[0]);
  const int64_t ow = out_extent(xs[3], ws[3], options.stride[1], options.padding[1], options.dilation[1]);
  SUBTB_CHECK(oh >= 1 && ow >= 1, "conv2d: x ", describe(input), " with padding ", pair(options.padding),
              " is smaller than the kernel of weight ", describe(weight_in), " with dilation ", pair(options.dilation),
              " (output would be ", oh, " x ", ow, ")");

  const Tensor x = input.contiguous(), weight = weight_in.contiguous();
  const Tensor bias = bias_in.defined() ? bias_in.contiguous() : bias_in;
  const Conv2dParams params = to_params(options);
  Tensor out = make_tensor({xs[0], ws[0], oh, ow}, x.dtype(), x.device());
  backend(x.device()).conv2d(x, weight, bias, params, out);
  if (bias.defined()) {
    if (autograd::needs_grad({&x, &weight, &bias})) {
      autograd::record(std::make_shared<Conv2dBackward>(x, weight, true, params), {&x, &weight, &bias}, {&out});
    }
  } else if (autograd::needs_grad({&x, &weight})) {
    autograd::record(std::make_shared<Conv2dBackward>(x, weight, false, params), {&x, &weight}, {&out});
  }
  return out;
}

}  // namespace subtb

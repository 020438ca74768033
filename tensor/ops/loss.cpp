// cross_entropy and nll_loss front ends and their vjps. Both are single primitives
// (one kernel forward, one backward), reductions included: a mean divides by the number
// of targets that are not ignore_index, counted here on the host while the targets are
// range-checked. When every target is ignored (or there are none), the mean is 0 and so
// is its gradient.
#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

// The checks shared by both losses: input [N, C] with target [N], or [C] with [].
// Returns the number of targets that are not ignore_index; throws naming `op`, the bad
// target and C when one is outside [0, C).
int64_t check_class_targets(const char* op, const Tensor& input, const Tensor& target, int64_t ignore_index) {
  detail::check_floating(op, input);
  detail::check_same_device(op, input, target);
  detail::check_dtype(op, target, DType::i64, "target (class indices)");
  SUBTB_CHECK(input.dim() == 1 || input.dim() == 2, op, ": expected input of shape [N, C] or [C], got ",
              describe(input));
  Shape expected = input.shape();
  expected.erase(expected.size() - 1);
  SUBTB_CHECK(target.shape() == expected, op, ": target ", describe(target), " does not match input ", describe(input),
              " (expected target shape ", expected, ")");
  const int64_t classes = input.shape().back();
  const Tensor host = target.to(kCPU);
  const int64_t* t = host.data<int64_t>();
  const int64_t n = host.numel(), stride = host.dim() == 0 ? 0 : host.strides()[0];
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = t[i * stride];
    if (v == ignore_index) continue;
    SUBTB_CHECK(v >= 0 && v < classes, op, ": target ", v, " at position ", i, " is out of range for ", classes,
                " classes (expected [0, ", classes, ") or ignore_index ", ignore_index, ")");
    ++count;
  }
  return count;
}

// The kernels take rows: [C] input and [] target are one row.
Tensor as_rows(const Tensor& t, int rank) {
  if (t.dim() == rank) return t;
  Shape shape = t.shape();
  Strides strides = t.strides();
  shape.insert(0, 1);
  strides.insert(0, 0);
  return make_view(t, shape, strides, t.offset());
}

double reduction_scale(Reduction reduction, int64_t count) {
  if (reduction != Reduction::mean) return 1.0;
  return count > 0 ? 1.0 / static_cast<double>(count) : 0.0;
}

// The loss's shape: target's for Reduction::none, [] otherwise. (With one row, [] for
// none and a sum with scale 1 are the same to the kernels.)
Shape loss_shape(const Tensor& target, Reduction reduction) {
  return reduction == Reduction::none ? target.shape() : Shape{};
}

class CrossEntropyBackward final : public Node {
 public:
  CrossEntropyBackward(const Tensor& logits, const Tensor& target, const Tensor& lse, CrossEntropyParams params)
      : logits_(logits), target_(target), lse_(lse), params_(params) {}
  const char* name() const override { return "cross_entropy"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    if (!g[0].defined()) return {};
    const Tensor logits = logits_.unpack(name());
    Tensor grad = make_tensor(logits.shape(), logits.dtype(), logits.device());
    backend(logits.device())
        .cross_entropy_backward(as_rows(logits, 2), as_rows(target_.unpack(name()), 1), lse_.unpack(name()), g[0],
                                params_, as_rows(grad, 2));
    return {grad};
  }
  void release() override {
    logits_.reset();
    target_.reset();
    lse_.reset();
  }

 private:
  SavedTensor logits_, target_, lse_;
  CrossEntropyParams params_;
};

class NllLossBackward final : public Node {
 public:
  NllLossBackward(const Tensor& log_probs, const Tensor& target, CrossEntropyParams params)
      : shape_(log_probs.shape()),
        dtype_(log_probs.dtype()),
        device_(log_probs.device()),
        target_(target),
        params_(params) {}
  const char* name() const override { return "nll_loss"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    if (!g[0].defined()) return {};
    Tensor grad = make_tensor(shape_, dtype_, device_);
    backend(device_).nll_loss_backward(g[0], as_rows(target_.unpack(name()), 1), params_, as_rows(grad, 2));
    return {grad};
  }
  void release() override { target_.reset(); }

 private:
  Shape shape_;
  DType dtype_;
  Device device_;
  SavedTensor target_;
  CrossEntropyParams params_;
};

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  SUBTB_CHECK(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0,
              "cross_entropy: label_smoothing must be in [0, 1], got ", options.label_smoothing);
  const int64_t count = check_class_targets("cross_entropy", logits, target, options.ignore_index);
  const CrossEntropyParams params{options.ignore_index, options.label_smoothing,
                                  reduction_scale(options.reduction, count)};
  const Tensor rows = as_rows(logits, 2);
  const DType acc = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor lse = make_tensor(Shape{rows.shape()[0]}, acc, logits.device());
  Tensor out = make_tensor(loss_shape(target, options.reduction), logits.dtype(), logits.device());
  backend(logits.device()).cross_entropy(rows, as_rows(target, 1), params, out, lse);
  if (autograd::needs_grad({&logits}))
    autograd::record(std::make_shared<CrossEntropyBackward>(logits, target, lse, params), {&logits}, {&out});
  return out;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index, Reduction reduction) {
  const int64_t count = check_class_targets("nll_loss", log_probs, target, ignore_index);
  const CrossEntropyParams params{ignore_index, 0.0, reduction_scale(reduction, count)};
  Tensor out = make_tensor(loss_shape(target, reduction), log_probs.dtype(), log_probs.device());
  backend(log_probs.device()).nll_loss(as_rows(log_probs, 2), as_rows(target, 1), params, out);
  if (autograd::needs_grad({&log_probs}))
    autograd::record(std::make_shared<NllLossBackward>(log_probs, target, params), {&log_probs}, {&out});
  return out;
}

}  // namespace subtb

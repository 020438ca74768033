#include "gflownet/subtb.h"

#include "gflownet/subtb_weights.h"

#include <cmath>
#include <vector>

#include "autograd/node.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb::gflownet {

namespace {

constexpr const char* kOp = "subtb_loss";

// The gradients are computed with the loss (they cost one more O(L) sweep) and kept
// until backward, which only scales each row by the upstream gradient.
class SubTBBackward final : public autograd::Node {
 public:
  SubTBBackward(Tensor grad_pf, Tensor grad_pb, Tensor grad_flow)
      : grad_pf_(std::move(grad_pf)), grad_pb_(std::move(grad_pb)), grad_flow_(std::move(grad_flow)) {}
  const char* name() const override { return kOp; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor seed = g[0].unsqueeze(1);  // [B, 1]
    return {next[0].valid() ? mul(grad_pf_, seed) : Tensor(), next[1].valid() ? mul(grad_pb_, seed) : Tensor(),
            next[2].valid() ? mul(grad_flow_, seed) : Tensor()};
  }
  void release() override {
    grad_pf_ = grad_pb_ = grad_flow_ = Tensor();
  }

 private:
  Tensor grad_pf_, grad_pb_, grad_flow_;
};

struct Checked {
  int64_t B = 0, L = 0;
  std::vector<int64_t> lengths;  // on the host, for the reductions' counts
};

Checked check_inputs(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                     const Tensor& log_reward, const SubTBOptions& options) {
  detail::check_floating(kOp, log_pf);
  SUBTB_CHECK(log_pf.dim() == 2, kOp, ": log_pf must be [B, L], got ", describe(log_pf));
  Checked c{log_pf.shape()[0], log_pf.shape()[1], {}};
  SUBTB_CHECK(log_pb.shape() == log_pf.shape(), kOp, ": log_pb ", describe(log_pb), " must match log_pf ",
              describe(log_pf));
  SUBTB_CHECK(log_flow.shape() == (Shape{c.B, c.L + 1}), kOp, ": log_flow must be [B, L + 1] = [", c.B, ", ",
              c.L + 1, "], got ", describe(log_flow));
  SUBTB_CHECK(lengths.shape() == (Shape{c.B}) && lengths.dtype() == DType::i64, kOp, ": lengths must be i64[",
              c.B, "], got ", describe(lengths));
  for (const Tensor* t : {&log_pb, &log_flow}) {
    detail::check_same_dtype(kOp, log_pf, *t);
    detail::check_same_device(kOp, log_pf, *t);
  }
  detail::check_same_device(kOp, log_pf, lengths);
  if (log_reward.defined()) {
    SUBTB_CHECK(log_reward.shape() == log_flow.shape(), kOp, ": log_reward ", describe(log_reward),
                " must match log_flow ", describe(log_flow));
    detail::check_same_dtype(kOp, log_pf, log_reward);
    detail::check_same_device(kOp, log_pf, log_reward);
  }
  SUBTB_CHECK(std::isfinite(options.lambda) && options.lambda >= 0, kOp, ": lambda must be finite and >= 0, got ",
              options.lambda);
  c.lengths = lengths.to(kCPU).contiguous().to_vector<int64_t>();
  for (int64_t b = 0; b < c.B; ++b) {
    SUBTB_CHECK(c.lengths[b] >= 0 && c.lengths[b] <= c.L, kOp, ": lengths[", b, "] = ", c.lengths[b],
                " is outside [0, ", c.L, "]");
  }
  return c;
}

// The kernel parameters of a weighting, including the per-length coefficients of the
// batch-level `geometric` mixture (which depend on how many sub-trajectories of each
// length the batch holds).
SubTBParams kernel_params(const SubTBOptions& o, const Checked& c, Device device) {
  SubTBParams p;
  p.lambda = o.lambda;
  switch (o.weighting) {
    case SubTBWeighting::geometric_within: break;
    case SubTBWeighting::equal_within: p.lambda = 1.0; break;
    case SubTBWeighting::equal: p.lambda = 1.0; p.normalize_within = false; break;
    case SubTBWeighting::db: p.lambda = 0.0; p.normalize_within = false; break;
    case SubTBWeighting::tb: p.mode = SubTBParams::Mode::full_only; break;
    case SubTBWeighting::geometric: {
      p.mode = SubTBParams::Mode::per_length;
      p.normalize_within = false;
      const std::vector<double> coef = internal::geometric_length_coefficients(o.lambda, c.lengths, c.L);
      p.coefficients = from_vector<double>(coef, device);
      break;
    }
  }
  return p;
}

Tensor trajectory_losses(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                         const Tensor& log_reward, const SubTBParams& params, const Checked& c) {
  const Tensor pf = log_pf.contiguous(), pb = log_pb.contiguous(), fl = log_flow.contiguous();
  const Tensor lr = log_reward.defined() ? log_reward.contiguous() : Tensor();
  const Tensor len = lengths.contiguous();
  Tensor losses = make_tensor(Shape{c.B}, log_pf.dtype(), log_pf.device());
  const bool grad = autograd::needs_grad({&log_pf, &log_pb, &log_flow});
  Tensor gpf, gpb, gfl;
  if (grad) {
    gpf = empty_like(pf);
    gpb = empty_like(pb);
    gfl = empty_like(fl);
  }
  backend(log_pf.device()).subtb_loss(pf.detach(), pb.detach(), fl.detach(), lr.defined() ? lr.detach() : lr, len,
                                      params, losses, gpf, gpb, gfl);
  if (grad) {
    autograd::record(std::make_shared<SubTBBackward>(gpf, gpb, gfl), {&log_pf, &log_pb, &log_flow}, {&losses});
  }
  return losses;
}

}  // namespace

namespace internal {

std::vector<double> geometric_length_coefficients(double lambda, const std::vector<int64_t>& lengths, int64_t L) {
  int64_t l_max = 0;
  for (int64_t n : lengths) l_max = std::max(l_max, n);
  std::vector<double> coef(static_cast<size_t>(std::max<int64_t>(L, 1)), 0.0);
  for (int64_t k = 1; k <= l_max; ++k) {
    int64_t count = 0;  // sub-trajectories of length k in the batch
    for (int64_t n : lengths) count += std::max<int64_t>(0, n - k + 1);
    const double mix = lambda == 1.0 ? 1.0 / static_cast<double>(l_max)
                                     : (1.0 - lambda) * std::pow(lambda, static_cast<double>(k - 1)) /
                                           (1.0 - std::pow(lambda, static_cast<double>(l_max)));
    coef[static_cast<size_t>(k - 1)] = count > 0 ? mix / static_cast<double>(count) : 0.0;
  }
  return coef;
}

double batch_denominator(SubTBWeighting weighting, const std::vector<int64_t>& lengths) {
  double d = 0;
  for (int64_t n : lengths) {
    switch (weighting) {
      case SubTBWeighting::geometric_within:
      case SubTBWeighting::equal_within:
      case SubTBWeighting::tb: d += n > 0 ? 1 : 0; break;
      case SubTBWeighting::equal: d += static_cast<double>(n * (n + 1) / 2); break;
      case SubTBWeighting::db: d += static_cast<double>(n); break;
      case SubTBWeighting::geometric: d = 1; break;
    }
  }
  // A batch of padding rows only has nothing to fit: its loss is 0 (with zero gradient).
  return std::max(d, 1.0);
}

}  // namespace internal

std::string_view to_string(SubTBWeighting w) {
  switch (w) {
    case SubTBWeighting::geometric_within: return "geometric_within";
    case SubTBWeighting::equal_within: return "equal_within";
    case SubTBWeighting::equal: return "equal";
    case SubTBWeighting::geometric: return "geometric";
    case SubTBWeighting::tb: return "tb";
    case SubTBWeighting::db: return "db";
  }
  return "?";
}

SubTBWeighting parse_subtb_weighting(std::string_view name) {
  for (SubTBWeighting w : {SubTBWeighting::geometric_within, SubTBWeighting::equal_within, SubTBWeighting::equal,
                           SubTBWeighting::geometric, SubTBWeighting::tb, SubTBWeighting::db}) {
    if (to_string(w) == name) return w;
  }
  SUBTB_THROW("subtb weighting: unknown '", name,
              "' (expected geometric_within, equal_within, equal, geometric, tb or db)");
}

Tensor subtb_trajectory_losses(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow,
                               const Tensor& lengths, const SubTBOptions& options, const Tensor& log_reward) {
  const Checked c = check_inputs(log_pf, log_pb, log_flow, lengths, log_reward, options);
  return trajectory_losses(log_pf, log_pb, log_flow, lengths, log_reward,
                           kernel_params(options, c, log_pf.device()), c);
}

Tensor subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                  const SubTBOptions& options, const Tensor& log_reward) {
  const Checked c = check_inputs(log_pf, log_pb, log_flow, lengths, log_reward, options);
  const Tensor rows = trajectory_losses(log_pf, log_pb, log_flow, lengths, log_reward,
                                        kernel_params(options, c, log_pf.device()), c);
  return div(sum(rows), internal::batch_denominator(options.weighting, c.lengths));
}

}  // namespace subtb::gflownet

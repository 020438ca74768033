#include "nn/clip_grad.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace subtb::nn {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  SUBTB_CHECK(max_norm >= 0 && !std::isnan(max_norm), "clip_grad_norm: invalid max_norm ", max_norm);
  SUBTB_CHECK(norm_type > 0 && !std::isnan(norm_type), "clip_grad_norm: norm_type must be positive, got ", norm_type);
  NoGradGuard no_grad;
  const bool max_abs = std::isinf(norm_type);
  // One partial per gradient (max |g|, or sum |g|^p), reduced together so that the whole
  // norm costs one synchronisation (partials on several devices meet on the host).
  std::vector<Tensor> partials;
  bool one_device = true;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined() || g.numel() == 0) continue;
    one_device = one_device && (partials.empty() || partials[0].device() == g.device());
    const Tensor a = abs(g.to(DType::f64));
    if (max_abs) partials.push_back(amax(a));
    else if (norm_type == 2.0) partials.push_back(sum(square(a)));
    else if (norm_type == 1.0) partials.push_back(sum(a));
    else partials.push_back(sum(pow(a, norm_type)));
  }
  if (partials.empty()) return 0.0;
  if (!one_device)
    for (Tensor& t : partials) t = t.to(kCPU);
  const Tensor all_partials = stack(partials);
  const double total = max_abs ? amax(all_partials).item() : std::pow(sum(all_partials).item(), 1.0 / norm_type);

  if (!std::isfinite(total)) {
    if (!error_if_nonfinite) return total;
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor g = params[i].grad();
      if (g.defined() && !all(isfinite(g)).item())
        SUBTB_THROW("clip_grad_norm: the total gradient norm is ", total, ": the gradient of parameter ", i, " (",
                    describe(g), ") holds NaN or inf (pass error_if_nonfinite = false to skip such steps)");
    }
    SUBTB_THROW("clip_grad_norm: the total gradient norm is ", total, " (finite gradients whose norm overflows)");
  }
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) mul_(g, coef);
    }
  }
  return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
  SUBTB_CHECK(clip_value >= 0 && !std::isnan(clip_value), "clip_grad_value: invalid clip_value ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace subtb::nn

#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace subtb::autograd {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  // f64 CPU leaves for the floating inputs.
  std::vector<Tensor> x;
  std::vector<bool> checked;
  for (const Tensor& t : inputs) {
    const bool fl = t.defined() && is_floating(t.dtype());
    checked.push_back(fl);
    if (fl) {
      Tensor leaf = t.detach().to(kCPU).to(DType::f64).clone();
      leaf.requires_grad_(true);
      x.push_back(leaf);
    } else {
      x.push_back(t);
    }
  }

  Tensor y = f(x);
  SUBTB_CHECK(y.dtype() == DType::f64, "gradcheck: f returned ", describe(y),
              "; with f64 inputs it must return f64");
  const int64_t n_out = y.numel();

  // Seeds: the unit vectors (full Jacobian) or random projections.
  std::vector<Tensor> seeds;
  if (n_out <= 32) {
    for (int64_t j = 0; j < n_out; ++j) {
      std::vector<double> e(static_cast<size_t>(n_out), 0.0);
      e[static_cast<size_t>(j)] = 1.0;
      seeds.push_back(from_vector<double>(e, y.shape()));
    }
  } else {
    Generator gen(options.seed);
    for (int k = 0; k < 4; ++k) seeds.push_back(randn(y.shape(), DType::f64, kCPU, &gen));
  }

  std::vector<Tensor> diff_inputs;
  for (size_t i = 0; i < x.size(); ++i)
    if (checked[i]) diff_inputs.push_back(x[i]);

  GradcheckResult result;
  result.max_abs_error.assign(inputs.size(), 0.0);
  result.max_rel_error.assign(inputs.size(), 0.0);
  std::ostringstream report;

  for (size_t s = 0; s < seeds.size(); ++s) {
    std::vector<Tensor> analytic;
    if (y.requires_grad()) {
      analytic = grad({y}, {seeds[s]}, diff_inputs, /*retain_graph=*/true);
    } else {
      analytic.resize(diff_inputs.size());
    }
    const std::vector<double> seed = seeds[s].to_vector<double>();

    size_t k = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!checked[i]) continue;
      const Tensor& xi = x[i];
      Tensor gi = analytic[k++];
      std::vector<double> a = gi.defined() ? gi.contiguous().to_vector<double>()
                                           : std::vector<double>(static_cast<size_t>(xi.numel()), 0.0);
      double* data = xi.data<double>();  // the leaf is contiguous (a fresh clone)
      for (int64_t e = 0; e < xi.numel(); ++e) {
        const double orig = data[e];
        double fp, fm;
        {
          NoGradGuard ng;
          data[e] = orig + options.eps;
          const std::vector<double> yp = f(x).contiguous().to_vector<double>();
          data[e] = orig - options.eps;
          const std::vector<double> ym = f(x).contiguous().to_vector<double>();
          data[e] = orig;
          fp = fm = 0.0;
          for (size_t j = 0; j < seed.size(); ++j) {
            fp += seed[j] * yp[j];
            fm += seed[j] * ym[j];
          }
        }
        const double numeric = (fp - fm) / (2 * options.eps);
        const double abs_err = std::abs(a[static_cast<size_t>(e)] - numeric);
        const double rel_err = abs_err / std::max(std::abs(numeric), 1e-12);
        const bool bad = !(abs_err <= options.atol + options.rtol * std::abs(numeric));
        // NaN (from either side) must show in the report, not vanish in a comparison.
        if (std::isnan(abs_err) || abs_err > result.max_abs_error[i]) result.max_abs_error[i] = abs_err;
        if (std::isnan(rel_err) || (rel_err > result.max_rel_error[i] && abs_err > options.atol))
          result.max_rel_error[i] = rel_err;
        if (bad && result.ok) {
          report << "first mismatch: input " << i << " element " << e << " seed " << s << ": analytic "
                 << a[static_cast<size_t>(e)] << " vs numeric " << numeric << "\n";
        }
        if (bad) result.ok = false;
      }
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!checked[i]) continue;
    report << "input " << i << " " << describe(inputs[i]) << ": max abs error " << result.max_abs_error[i]
           << ", max rel error " << result.max_rel_error[i] << "\n";
  }
  result.report = report.str();
  return result;
}

}  // namespace subtb::autograd

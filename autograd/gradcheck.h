#pragma once
// gradcheck: compares the gradients backward computes with central finite differences,
// in f64 on the CPU.
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace subtb::autograd {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-6;  // pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-4;
  uint64_t seed = 0;   // for the random projections of large outputs
};

struct GradcheckResult {
  bool ok = true;
  std::vector<double> max_abs_error;  // per input (0 for inputs that are not checked)
  std::vector<double> max_rel_error;
  std::string report;                 // one line per input, and the worst element
};

// f maps the inputs to one output tensor. Floating inputs are converted to f64 CPU
// leaves and checked; other inputs (indices, masks) are passed through unchanged. For
// outputs of up to 32 elements the whole Jacobian is compared; beyond that, 4 random
// projections of it.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace subtb::autograd

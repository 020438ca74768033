#pragma once
// Gradient clipping over a set of parameters; parameters without a gradient are skipped.
#include <limits>
#include <vector>

#include "tensor/tensor.h"

namespace subtb::nn {

// Scales the gradients together so that their total norm is at most max_norm, with
// PyTorch's coefficient max_norm / (total + 1e-6), applied only when below 1. norm_type
// is any p > 0, or infinity for the largest magnitude. Returns the total norm before
// clipping, accumulated in f64.
//
// A non-finite total (some gradient holds NaN or inf) throws naming the first such
// parameter; with error_if_nonfinite = false the gradients are left untouched instead
// and the non-finite norm is returned, for the caller to skip the step.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                      bool error_if_nonfinite = true);

inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

}  // namespace subtb::nn

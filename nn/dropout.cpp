#include "nn/dropout.h"

#include "tensor/ops.h"

namespace subtb::nn {

Dropout::Dropout(double p, Generator* gen) : p(p), gen_(gen) {
  SUBTB_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), gen_); }

}  // namespace subtb::nn

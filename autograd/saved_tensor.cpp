#include "autograd/saved_tensor.h"

namespace subtb::autograd {

Tensor SavedTensor::unpack(const char* op) const {
  SUBTB_CHECK(!released_, op,
              ": backward through this part of the graph a second time, but its saved tensors were freed "
              "after the first backward (pass retain_graph = true to the first backward)");
  if (!data_.defined()) return data_;
  const uint64_t now = data_.storage()->version();
  SUBTB_CHECK(now == version_, op, ": a tensor saved for backward (", describe(data_),
              ") was modified by an in-place operation after it was saved (version ", version_, ", now ",
              now, "); the gradient would be wrong. Clone it before modifying it in place.");
  return data_;
}

}  // namespace subtb::autograd

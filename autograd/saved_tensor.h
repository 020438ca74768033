#pragma once
// A tensor a vjp keeps for backward. It holds the data without history (so an op that
// saves its own output makes no reference cycle) and the storage version at the time
// of saving: if anything writes the storage in place before backward, unpack() throws
// instead of letting backward compute a silently wrong gradient.
#include <string>

#include "tensor/tensor.h"

namespace subtb::autograd {

class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t)
      : data_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.storage()->version() : 0) {}

  bool defined() const { return data_.defined(); }
  // The saved tensor; throws naming `op` if it was modified in place or released.
  Tensor unpack(const char* op) const;
  void reset() {
    data_ = Tensor();
    released_ = true;
  }

 private:
  Tensor data_;
  uint64_t version_ = 0;
  bool released_ = false;
};

}  // namespace subtb::autograd

#pragma once
#include "nn/module.h"

namespace subtb::nn {

// Eval mode for a scope: the module's previous mode comes back when the scope ends, also
// when an exception leaves it.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(Module& m) : module_(m), was_training_(m.is_training()) { m.eval(); }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  Module& module_;
  bool was_training_;
};

}  // namespace subtb::nn

#pragma once
// Grad mode: whether ops record history. Thread-local, like PyTorch's.
namespace subtb::autograd {

bool grad_enabled();
void set_grad_enabled(bool enabled);

}  // namespace subtb::autograd

namespace subtb {

// RAII scope in which ops record no history: `{ NoGradGuard g; ... }`.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(autograd::grad_enabled()) { autograd::set_grad_enabled(false); }
  ~NoGradGuard() { autograd::set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace subtb

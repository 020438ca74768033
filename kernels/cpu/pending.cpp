// CPU kernels not written yet: each throws until its family's file defines it.
#include "kernels/cpu/cpu_backend.h"

namespace subtb::cpu {

void CpuBackend::var(const Tensor&, uint32_t, int64_t, const Tensor&) { not_implemented("var"); }
void CpuBackend::arg_reduce(ArgReduceOp, const Tensor&, int, const Tensor&, const Tensor&) {
  not_implemented("arg_reduce");
}
void CpuBackend::scan(ScanOp, const Tensor&, int, const Tensor&) { not_implemented("scan"); }
void CpuBackend::softmax(const Tensor&, int, bool, const Tensor&) { not_implemented("softmax"); }
void CpuBackend::softmax_backward(const Tensor&, const Tensor&, int, bool, const Tensor&) {
  not_implemented("softmax_backward");
}
void CpuBackend::layer_norm(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&, const Tensor&,
                            const Tensor&) {
  not_implemented("layer_norm");
}
void CpuBackend::layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                     const Tensor&, const Tensor&, const Tensor&) {
  not_implemented("layer_norm_backward");
}
void CpuBackend::rms_norm(const Tensor&, const Tensor&, double, const Tensor&, const Tensor&) {
  not_implemented("rms_norm");
}
void CpuBackend::rms_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                   const Tensor&) {
  not_implemented("rms_norm_backward");
}
void CpuBackend::gather(const Tensor&, int, const Tensor&, const Tensor&) { not_implemented("gather"); }
void CpuBackend::scatter_add(const Tensor&, int, const Tensor&, const Tensor&) { not_implemented("scatter_add"); }
void CpuBackend::index_select(const Tensor&, int, const Tensor&, const Tensor&) {
  not_implemented("index_select");
}
void CpuBackend::index_add(const Tensor&, int, const Tensor&, const Tensor&) { not_implemented("index_add"); }

}  // namespace subtb::cpu

#include "kernels/backend.h"

#include "kernels/cpu/cpu_backend.h"

namespace subtb {

#ifdef SUBTB_WITH_CUDA
namespace cuda {
Backend* get_backend(int index);  // kernels/cuda/cuda_backend.cu
}
#else
int cuda_device_count() { return 0; }
#endif

Backend& backend(Device device) {
  if (device.is_cpu()) return cpu::cpu_backend();
#ifdef SUBTB_WITH_CUDA
  return *cuda::get_backend(device.index);
#else
  SUBTB_THROW("device ", device, ": this build of subtb has no CUDA backend (configure with nvcc available)");
#endif
}

void Backend::not_implemented(const char* kernel) const {
  SUBTB_THROW(kernel, ": not implemented on ", device());
}

void Backend::copy(const Tensor&, const Tensor&) { not_implemented("copy"); }
void Backend::copy_to_host(const Tensor&, void*) { not_implemented("copy_to_host"); }
void Backend::copy_from_host(const void*, const Tensor&) { not_implemented("copy_from_host"); }
void Backend::fill(const Tensor&, double) { not_implemented("fill"); }
void Backend::iota(const Tensor&, double, double) { not_implemented("iota"); }
void Backend::unary(UnaryOp, const Tensor&, const Tensor&, UnaryParams) { not_implemented("unary"); }
void Backend::binary(BinaryOp, const Tensor&, const Tensor&, const Tensor&) { not_implemented("binary"); }
void Backend::where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { not_implemented("where"); }
void Backend::reduce(ReduceOp, const Tensor&, uint32_t, const Tensor&) { not_implemented("reduce"); }
void Backend::var(const Tensor&, uint32_t, int64_t, const Tensor&) { not_implemented("var"); }
void Backend::arg_reduce(ArgReduceOp, const Tensor&, int, const Tensor&, const Tensor&) {
  not_implemented("arg_reduce");
}
void Backend::scan(ScanOp, const Tensor&, int, bool, const Tensor&) { not_implemented("scan"); }
void Backend::matmul(const Tensor&, const Tensor&, const Tensor&) { not_implemented("matmul"); }
void Backend::softmax(const Tensor&, int, bool, const Tensor&) { not_implemented("softmax"); }
void Backend::softmax_backward(const Tensor&, const Tensor&, int, bool, const Tensor&) {
  not_implemented("softmax_backward");
}
void Backend::layer_norm(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&, const Tensor&,
                         const Tensor&) {
  not_implemented("layer_norm");
}
void Backend::layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const Tensor&, const Tensor&, const Tensor&) {
  not_implemented("layer_norm_backward");
}
void Backend::rms_norm(const Tensor&, const Tensor&, double, const Tensor&, const Tensor&) {
  not_implemented("rms_norm");
}
void Backend::rms_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                const Tensor&) {
  not_implemented("rms_norm_backward");
}
void Backend::cross_entropy(const Tensor&, const Tensor&, const CrossEntropyParams&, const Tensor&, const Tensor&) {
  not_implemented("cross_entropy");
}
void Backend::cross_entropy_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                     const CrossEntropyParams&, const Tensor&) {
  not_implemented("cross_entropy_backward");
}
void Backend::nll_loss(const Tensor&, const Tensor&, const CrossEntropyParams&, const Tensor&) {
  not_implemented("nll_loss");
}
void Backend::nll_loss_backward(const Tensor&, const Tensor&, const CrossEntropyParams&, const Tensor&) {
  not_implemented("nll_loss_backward");
}
void Backend::gather(const Tensor&, int, const Tensor&, const Tensor&) { not_implemented("gather"); }
void Backend::scatter_add(const Tensor&, int, const Tensor&, const Tensor&) { not_implemented("scatter_add"); }
void Backend::index_select(const Tensor&, int, const Tensor&, const Tensor&) { not_implemented("index_select"); }
void Backend::index_add(const Tensor&, int, const Tensor&, const Tensor&) { not_implemented("index_add"); }
void Backend::segmented_scan(ScanOp, const Tensor&, const Tensor&, const Tensor&) {
  not_implemented("segmented_scan");
}
void Backend::segmented_scan_backward(ScanOp, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                      const Tensor&) {
  not_implemented("segmented_scan_backward");
}
void Backend::attention(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                        const AttentionParams&, const Tensor&, const Tensor&) {
  not_implemented("attention");
}
void Backend::attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                 const Tensor&, const Tensor&, const Tensor&, const AttentionParams&, const Tensor&,
                                 const Tensor&, const Tensor&) {
  not_implemented("attention_backward");
}
void Backend::subtb_loss(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const SubTBParams&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  not_implemented("subtb_loss");
}
void Backend::conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&, const Tensor&) {
  not_implemented("conv2d");
}
void Backend::conv2d_backward_input(const Tensor&, const Tensor&, const Conv2dParams&, const Tensor&) {
  not_implemented("conv2d_backward_input");
}
void Backend::conv2d_backward_weight(const Tensor&, const Tensor&, const Conv2dParams&, const Tensor&,
                                     const Tensor&) {
  not_implemented("conv2d_backward_weight");
}
void Backend::adam_update(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const AdamParams&) {
  not_implemented("adam_update");
}
void Backend::random(RandomOp, const Tensor&, PhiloxDraw, double, double, const Tensor&) {
  not_implemented("random");
}

}  // namespace subtb

#pragma once
// The CUDA backend. Device plumbing (memory, transfers) is in cuda_backend.cu; each
// kernel family is defined in its own kernels/cuda/*.cu. Families not yet written fall
// back to the Backend defaults, which throw "<kernel>: not implemented on cuda:N".
#include "kernels/backend.h"

namespace subtb::cuda {

// Makes `index` the current device for a scope, restoring the previous one after.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0, target_ = 0;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index) : index_(index) {}
  Device device() const override { return cuda_device(index_); }
  int index() const { return index_; }

  // cuda_backend.cu
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void synchronize() override;
  void copy_to_host(const Tensor& src, void* host_ptr) override;
  void copy_from_host(const void* host_ptr, const Tensor& dst) override;

  // segmented_scan.cu
  void segmented_scan(ScanOp op, const Tensor& x, const Tensor& lengths, const Tensor& out) override;
  void segmented_scan_backward(ScanOp op, const Tensor& x, const Tensor& out, const Tensor& grad_out,
                               const Tensor& lengths, const Tensor& grad_x) override;

  // subtb.cu
  void subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& log_reward,
                  const Tensor& lengths, const SubTBParams& params, const Tensor& losses, const Tensor& grad_pf,
                  const Tensor& grad_pb, const Tensor& grad_flow) override;

 private:
  int index_;
};

Backend* get_backend(int index);

// Threads per block for the one-row-per-thread kernels.
inline constexpr int kRowThreads = 128;
inline int row_blocks(int64_t rows) { return static_cast<int>((rows + kRowThreads - 1) / kRowThreads); }

}  // namespace subtb::cuda

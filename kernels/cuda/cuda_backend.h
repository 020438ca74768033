#pragma once
// The CUDA backend. Device plumbing (the stream, cuBLAS, memory) is in cuda_backend.cu;
// each kernel family is defined in its own kernels/cuda/*.cu. Families not yet written
// fall back to the Backend defaults, which throw "<kernel>: not implemented on cuda:N".
//
// Every kernel, copy and cuBLAS call of a device is queued on that device's one stream
// (stream()), so work runs in the order the ops were called and a freed block can be
// reused by the next op at once; reading a value to the host waits for the stream.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <mutex>

#include "kernels/backend.h"
#include "kernels/cuda/caching_allocator.h"

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
  explicit CudaBackend(int index);
  Device device() const override { return cuda_device(index_); }
  int index() const { return index_; }

  // cuda_backend.cu
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void synchronize() override;
  cudaStream_t stream() const { return stream_; }
  int sm_count() const { return sm_count_; }
  CachingAllocator& allocator() { return allocator_; }
  // The device's cuBLAS handle, bound to stream() with its workspace (made on first use).
  cublasHandle_t cublas();
  // A pinned host buffer of at least `nbytes` for small transfers, free to write: this
  // waits for the last transfer queued through it. Hold staging_mutex() while using it,
  // and call staging_queued() after queuing a copy that reads it.
  void* staging(size_t nbytes);
  void staging_queued();
  std::mutex& staging_mutex() { return staging_mutex_; }

  // memory.cu
  void copy(const Tensor& src, const Tensor& dst) override;
  void copy_to_host(const Tensor& src, void* host_ptr) override;
  void copy_from_host(const void* host_ptr, const Tensor& dst) override;
  void fill(const Tensor& dst, double value) override;
  void iota(const Tensor& dst, double start, double step) override;

  // elementwise.cu
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams params) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;

  // reduce.cu, scan.cu
  void reduce(ReduceOp op, const Tensor& x, uint32_t dims, const Tensor& out) override;
  void var(const Tensor& x, uint32_t dims, int64_t correction, const Tensor& out) override;
  void arg_reduce(ArgReduceOp op, const Tensor& x, int dim, const Tensor& values, const Tensor& indices) override;
  void scan(ScanOp op, const Tensor& x, int dim, bool reverse, const Tensor& out) override;

  // matmul.cu
  void matmul(const Tensor& a, const Tensor& b, const Tensor& out) override;

  // softmax.cu, norm.cu, loss.cu
  void softmax(const Tensor& x, int dim, bool log, const Tensor& out) override;
  void softmax_backward(const Tensor& y, const Tensor& grad_y, int dim, bool log, const Tensor& grad_x) override;
  void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
                  const Tensor& mean, const Tensor& rstd) override;
  void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                           const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                           const Tensor& grad_bias) override;
  void rms_norm(const Tensor& x, const Tensor& weight, double eps, const Tensor& out, const Tensor& rstd) override;
  void rms_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                         const Tensor& grad_x, const Tensor& grad_weight) override;
  void cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyParams& params, const Tensor& loss,
                     const Tensor& lse) override;
  void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& grad_loss,
                              const CrossEntropyParams& params, const Tensor& grad_logits) override;
  void nll_loss(const Tensor& log_probs, const Tensor& target, const CrossEntropyParams& params,
                const Tensor& loss) override;
  void nll_loss_backward(const Tensor& grad_loss, const Tensor& target, const CrossEntropyParams& params,
                         const Tensor& grad_log_probs) override;

  // indexing.cu
  void gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) override;
  void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) override;
  void index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) override;
  void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) override;

  // adam.cu, random.cu
  void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                   const AdamParams& params) override;
  void random(RandomOp op, const Tensor& out, PhiloxDraw draw, double a, double b, const Tensor& p) override;

  // segmented_scan.cu
  void segmented_scan(ScanOp op, const Tensor& x, const Tensor& lengths, const Tensor& out) override;
  void segmented_scan_backward(ScanOp op, const Tensor& x, const Tensor& out, const Tensor& grad_out,
                               const Tensor& lengths, const Tensor& grad_x) override;

  // subtb.cu
  void subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& log_reward,
                  const Tensor& lengths, const SubTBParams& params, const Tensor& losses, const Tensor& grad_pf,
                  const Tensor& grad_pb, const Tensor& grad_flow) override;

#ifdef SUBTB_WITH_CUDNN
  // conv.cu (cuDNN; without it conv2d throws "not implemented on cuda:N")
  void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
              const Tensor& out) override;
  void conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& params,
                             const Tensor& grad_x) override;
  void conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& params,
                              const Tensor& grad_weight, const Tensor& grad_bias) override;
#endif

  // attention/attention.cu
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& key_mask,
                 const AttentionParams& params, const Tensor& out, const Tensor& lse) override;
  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& grad_out,
                          const Tensor& lse, const Tensor& key_lengths, const Tensor& key_mask,
                          const AttentionParams& params, const Tensor& grad_q, const Tensor& grad_k,
                          const Tensor& grad_v) override;

 private:
  int index_;
  cudaStream_t stream_ = nullptr;
  int sm_count_ = 1;
  CachingAllocator allocator_;
  std::once_flag cublas_once_;
  cublasHandle_t cublas_ = nullptr;
  std::mutex staging_mutex_;
  void* staging_ = nullptr;
  size_t staging_bytes_ = 0;
  cudaEvent_t staging_free_ = nullptr;
};

Backend* get_backend(int index);

// Threads per block for the one-row-per-thread kernels.
inline constexpr int kRowThreads = 128;
inline int row_blocks(int64_t rows) { return static_cast<int>((rows + kRowThreads - 1) / kRowThreads); }

}  // namespace subtb::cuda

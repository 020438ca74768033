#pragma once
// The CPU backend: OpenMP across cores, loops the compiler vectorises, OpenBLAS for
// matmul. Each kernel family is defined in its own file of kernels/cpu/.
#include "kernels/backend.h"

namespace subtb::cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return kCPU; }

  // memory.cpp
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void copy(const Tensor& src, const Tensor& dst) override;
  void copy_to_host(const Tensor& src, void* host_ptr) override;
  void copy_from_host(const void* host_ptr, const Tensor& dst) override;
  void fill(const Tensor& dst, double value) override;
  void iota(const Tensor& dst, double start, double step) override;

  // elementwise.cpp
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams params) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;

  // reduce.cpp, scan.cpp
  void reduce(ReduceOp op, const Tensor& x, uint32_t dims, const Tensor& out) override;
  void var(const Tensor& x, uint32_t dims, int64_t correction, const Tensor& out) override;
  void arg_reduce(ArgReduceOp op, const Tensor& x, int dim, const Tensor& values,
                  const Tensor& indices) override;
  void scan(ScanOp op, const Tensor& x, int dim, bool reverse, const Tensor& out) override;

  // matmul.cpp
  void matmul(const Tensor& a, const Tensor& b, const Tensor& out) override;

  // softmax.cpp, norm.cpp
  void softmax(const Tensor& x, int dim, bool log, const Tensor& out) override;
  void softmax_backward(const Tensor& y, const Tensor& grad_y, int dim, bool log,
                        const Tensor& grad_x) override;
  void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                  const Tensor& out, const Tensor& mean, const Tensor& rstd) override;
  void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                           const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                           const Tensor& grad_weight, const Tensor& grad_bias) override;
  void rms_norm(const Tensor& x, const Tensor& weight, double eps, const Tensor& out,
                const Tensor& rstd) override;
  void rms_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                         const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight) override;

  // loss.cpp
  void cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyParams& params,
                     const Tensor& loss, const Tensor& lse) override;
  void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                              const Tensor& grad_loss, const CrossEntropyParams& params,
                              const Tensor& grad_logits) override;
  void nll_loss(const Tensor& log_probs, const Tensor& target, const CrossEntropyParams& params,
                const Tensor& loss) override;
  void nll_loss_backward(const Tensor& grad_loss, const Tensor& target, const CrossEntropyParams& params,
                         const Tensor& grad_log_probs) override;

  // indexing.cpp
  void gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) override;
  void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) override;
  void index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) override;
  void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) override;

  // segmented_scan.cpp
  void segmented_scan(ScanOp op, const Tensor& x, const Tensor& lengths, const Tensor& out) override;
  void segmented_scan_backward(ScanOp op, const Tensor& x, const Tensor& out, const Tensor& grad_out,
                               const Tensor& lengths, const Tensor& grad_x) override;

  // subtb.cpp
  void subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& log_reward,
                  const Tensor& lengths, const SubTBParams& params, const Tensor& losses, const Tensor& grad_pf,
                  const Tensor& grad_pb, const Tensor& grad_flow) override;

  // attention.cpp, attention_forward.cpp, attention_backward.cpp
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths, const Tensor& key_mask,
                 const AttentionParams& params, const Tensor& out, const Tensor& lse) override;
  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                          const Tensor& grad_out, const Tensor& lse, const Tensor& key_lengths,
                          const Tensor& key_mask, const AttentionParams& params, const Tensor& grad_q,
                          const Tensor& grad_k, const Tensor& grad_v) override;

  // conv.cpp
  void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
              const Tensor& out) override;
  void conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& params,
                             const Tensor& grad_x) override;
  void conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& params,
                              const Tensor& grad_weight, const Tensor& grad_bias) override;

  // adam.cpp
  void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                   const AdamParams& params) override;

  // random.cpp
  void random(RandomOp op, const Tensor& out, PhiloxDraw draw, double a, double b,
              const Tensor& p) override;
};

CpuBackend& cpu_backend();

}  // namespace subtb::cpu

#pragma once
// The kernel interface: every primitive's forward, one virtual per kernel family. The
// CPU backend (kernels/cpu) implements all of them; the CUDA backend (kernels/cuda)
// overrides what it has, and anything it lacks throws an error that names the kernel
// and the device. Op front ends (tensor/ops) check arguments, allocate outputs, call
// one of these, and record the vjp; kernels assume their arguments were checked.
//
// Conventions for every kernel below:
//  - outputs are passed as already-allocated tensors (usually contiguous) and written;
//  - inputs may be arbitrary strided views (broadcast inputs have stride 0);
//  - all tensors live on the backend's device.
#include <cstdint>

#include "tensor/tensor.h"

namespace subtb {

enum class UnaryOp : uint8_t {
  neg, exp, log, log1p, expm1, sqrt, rsqrt, abs, sign, square, reciprocal,
  relu, leaky_relu /* a = slope */, gelu_tanh, gelu_erf, silu, sigmoid, tanh, softplus,
  clamp /* a = lo, b = hi; NaN bounds mean "none" */, pow_scalar /* a = exponent */,
  logical_not, isfinite, isnan, isinf,
  sin, cos, floor, ceil, round,
};

enum class BinaryOp : uint8_t {
  add, sub, mul, div, pow, maximum, minimum,
  eq, ne, lt, le, gt, ge,                 // output bool
  logical_and, logical_or, logical_xor,   // bool inputs and output
  // Gradients of unary activations: (x, grad_out) -> grad_in. Fused so that backward
  // of an activation is one pass instead of a handful of ops.
  relu_grad, gelu_tanh_grad, gelu_erf_grad, silu_grad, sigmoid_grad_from_output,
  tanh_grad_from_output, softplus_grad,
};

enum class ReduceOp : uint8_t { sum, mean, prod, max, min, all, any, logsumexp };
enum class ArgReduceOp : uint8_t { max, min };
enum class ScanOp : uint8_t { cumsum, logcumsumexp };
enum class RandomOp : uint8_t { uniform, normal, randint, bernoulli, gumbel };

// The classification losses' settings (cross_entropy uses all three, nll_loss ignores
// label_smoothing). scale multiplies a reduced loss: 1 for a sum, 1 / (number of
// non-ignored targets) for a mean.
struct CrossEntropyParams {
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  double scale = 1.0;
};

struct UnaryParams {
  double a = 0.0, b = 0.0;
};

// Parameters of a Philox draw: the stream (key = seed) and the first 128-bit counter
// block to use. Element i of a draw uses counter block `offset + i / 4` (or i / 2 for
// f64 draws, which need two 32-bit words per number), so any device can compute any
// element independently and the CPU and CUDA draw identical numbers.
struct PhiloxDraw {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

// How the fused SubTB kernel weights the sub-trajectory s_i..s_j of a row of length n:
//   geometric:  lambda^(j-i-1), divided by the row's total weight when normalize_within
//   per_length: coefficients[j-i-1] (a [L] f64 tensor), the same for every row
//   full_only:  only the whole trajectory (i = 0, j = n), weight 1 (TB)
struct SubTBParams {
  enum class Mode : uint8_t { geometric, per_length, full_only };
  Mode mode = Mode::geometric;
  double lambda = 0.9;
  bool normalize_within = true;
  Tensor coefficients;
};

// The fused attention kernels' settings (tensor/ops/attention.h states the semantics).
struct AttentionParams {
  double scale = 1.0;
  bool causal = false;
  bool deterministic = false;
};

// 2-d convolution geometry (NCHW), each pair as {height, width}; tensor/ops/conv.h states
// the semantics.
struct Conv2dParams {
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  int64_t dilation[2] = {1, 1};
};

// One Adam/AdamW update (PyTorch's formulas), for a parameter that has now taken `step`
// updates (1 on the first). With decoupled_weight_decay (AdamW) the parameter decays by
// lr * weight_decay; otherwise weight_decay * param is added to the gradient (Adam).
struct AdamParams {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;
  int64_t step = 1;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // ----- memory
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  // Waits until every queued kernel on this device has finished.
  virtual void synchronize() {}

  // ----- data movement. dst and src have the same shape; dtypes may differ (conversion).
  virtual void copy(const Tensor& src, const Tensor& dst);
  // Copies between this device and the host: host_ptr is contiguous, the tensor need not be.
  virtual void copy_to_host(const Tensor& src, void* host_ptr);
  virtual void copy_from_host(const void* host_ptr, const Tensor& dst);
  virtual void fill(const Tensor& dst, double value);
  // arange / linspace: dst[i] = start + i * step (dst contiguous, 1-d).
  virtual void iota(const Tensor& dst, double start, double step);

  // ----- elementwise. Inputs are already broadcast (expanded) to out's shape.
  virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams params);
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

  // ----- reductions. `dims` is a bit mask of reduced dims of x; out has x's shape with
  // those dims set to 1 (keepdim form).
  virtual void reduce(ReduceOp op, const Tensor& x, uint32_t dims, const Tensor& out);
  // Variance with `correction` (0: population, 1: Bessel) over the masked dims.
  virtual void var(const Tensor& x, uint32_t dims, int64_t correction, const Tensor& out);
  // Max or min along one dim: values and i64 indices in keepdim form; first index on ties.
  virtual void arg_reduce(ArgReduceOp op, const Tensor& x, int dim, const Tensor& values,
                          const Tensor& indices);
  // Inclusive scan along `dim`, from the last element towards the first when `reverse`
  // (the vjps of scans are reverse scans). logcumsumexp keeps an all -inf prefix at -inf
  // exactly.
  virtual void scan(ScanOp op, const Tensor& x, int dim, bool reverse, const Tensor& out);

  // ----- linear algebra. a: [B, M, K], b: [B, K, N] (batch strides may be 0),
  // out: [B, M, N] contiguous.
  virtual void matmul(const Tensor& a, const Tensor& b, const Tensor& out);

  // ----- fused nn kernels
  // (log_)softmax along `dim`; backward takes the forward output y.
  virtual void softmax(const Tensor& x, int dim, bool log, const Tensor& out);
  virtual void softmax_backward(const Tensor& y, const Tensor& grad_y, int dim, bool log,
                                const Tensor& grad_x);
  // Normalisation over the last dim. x: [..., D], weight/bias: [D] (may be undefined),
  // out: x's shape, mean/rstd: [...] contiguous, f32 (f64 for f64 x; rms_norm has no
  // mean). Backward writes the gradients that are defined and skips undefined ones.
  virtual void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                          const Tensor& out, const Tensor& mean, const Tensor& rstd);
  virtual void layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                   const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                                   const Tensor& grad_weight, const Tensor& grad_bias);
  virtual void rms_norm(const Tensor& x, const Tensor& weight, double eps, const Tensor& out,
                        const Tensor& rstd);
  virtual void rms_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                 const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight);
  // Softmax cross-entropy over the last dim. logits: [N, C]; target: [N] i64, each in
  // [0, C) or equal to ignore_index (checked by the front end); lse: [N] row log-sum-exp
  // saved for backward, f32 (f64 for f64 logits). loss: [N] per-row losses (0 where
  // ignored) or [] holding `scale` times their sum.
  virtual void cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyParams& params,
                             const Tensor& loss, const Tensor& lse);
  // grad_logits: [N, C] = scale * grad_loss (per row, or the one value for [] loss) *
  // (softmax(logits) - q) with q the smoothed one-hot target; 0 on ignored rows.
  virtual void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                                      const Tensor& grad_loss, const CrossEntropyParams& params,
                                      const Tensor& grad_logits);
  // log_probs: [N, C]; loss: [N] (-log_probs[n, target[n]], 0 where ignored) or [] holding
  // `scale` times their sum. Backward writes grad_log_probs: [N, C], zero but for
  // -scale * grad_loss at each non-ignored target.
  virtual void nll_loss(const Tensor& log_probs, const Tensor& target, const CrossEntropyParams& params,
                        const Tensor& loss);
  virtual void nll_loss_backward(const Tensor& grad_loss, const Tensor& target, const CrossEntropyParams& params,
                                 const Tensor& grad_log_probs);

  // ----- indexing (index tensors are i64 and already bounds-checked by the front end)
  virtual void gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out);
  // out[..., index[i], ...] += src[..., i, ...] along `dim` for scatter_add (index has
  // src's shape) and index_add (index is 1-d over src's `dim`).
  virtual void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
  virtual void index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out);
  virtual void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);

  // ----- segmented scans over a padded batch. x, out: [B, L] contiguous; lengths: [B]
  // i64 in [0, L]. Row b is scanned over its first lengths[b] entries; past them out
  // holds the scan's identity (0 for cumsum, -inf for logcumsumexp) and the backward
  // writes zeros. logcumsumexp keeps an all -inf prefix at exactly -inf and gives it a
  // zero gradient, never NaN.
  virtual void segmented_scan(ScanOp op, const Tensor& x, const Tensor& lengths, const Tensor& out);
  virtual void segmented_scan_backward(ScanOp op, const Tensor& x, const Tensor& out, const Tensor& grad_out,
                                       const Tensor& lengths, const Tensor& grad_x);

  // ----- GFlowNet objectives
  // The fused SubTB(lambda) loss over a padded batch (gflownet/subtb.h explains the
  // objective and the prefix-sum identity). log_pf, log_pb: [B, L]; log_flow: [B, L+1]
  // with log_flow[b, lengths[b]] = log R(x_b); log_reward: [B, L+1] intermediate
  // log-rewards added to log_flow before the terminal (FL), or undefined; lengths: [B]
  // i64 in [0, L]. Entries past a row's length are never read. Writes losses [B] and,
  // where defined, the gradients of losses[b] (seed 1 per row) with respect to log_pf,
  // log_pb and log_flow (same shapes as those inputs, zero past each row's length).
  // O(B * L) time and memory for the geometric weightings; per-length coefficients cost
  // O(B * L^2) time and still no L x L buffer.
  virtual void subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow,
                          const Tensor& log_reward, const Tensor& lengths, const SubTBParams& params,
                          const Tensor& losses, const Tensor& grad_pf, const Tensor& grad_pb,
                          const Tensor& grad_flow);

  // ----- attention (tensor/ops/attention.h). q: [B, Hq, Tq, D], k, v: [B, Hkv, Tk, D]
  // with a contiguous last dim and any other strides; key_lengths: [B] i64 and key_mask:
  // [B, Tk] bool, each possibly undefined. out: [B, Hq, Tq, D] contiguous; lse: [B, Hq, Tq]
  // contiguous row log-sum-exp of the scaled, masked scores, f32 (f64 for f64 inputs),
  // -inf where a query sees no key (its out row is 0). Backward recomputes the
  // probabilities from lse and writes grad_q/k/v (contiguous, the inputs' shapes; any of
  // them may be undefined when not wanted).
  virtual void attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                         const Tensor& key_mask, const AttentionParams& params, const Tensor& out,
                         const Tensor& lse);
  virtual void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                  const Tensor& grad_out, const Tensor& lse, const Tensor& key_lengths,
                                  const Tensor& key_mask, const AttentionParams& params, const Tensor& grad_q,
                                  const Tensor& grad_k, const Tensor& grad_v);

  // ----- convolution (tensor/ops/conv.h). x: [N, C, H, W], weight: [O, C, KH, KW] and
  // bias: [O] (or undefined), all contiguous; out: [N, O, OH, OW] contiguous. Backward takes a
  // contiguous grad_out (out's shape) and overwrites grad_x (x's shape), grad_weight and
  // grad_bias (contiguous; the last two may each be undefined when not wanted, and x is
  // undefined when grad_weight is).
  virtual void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                      const Tensor& out);
  virtual void conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& params,
                                     const Tensor& grad_x);
  virtual void conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& params,
                                      const Tensor& grad_weight, const Tensor& grad_bias);

  // ----- optimizers
  // Updates param, exp_avg and exp_avg_sq in place from grad (all four of one shape and
  // dtype, any strides; 16-bit floats compute in f32).
  virtual void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                           const Tensor& exp_avg_sq, const AdamParams& params);

  // ----- random numbers (Philox 4x32-10, layout in tensor/philox.h). out is contiguous.
  // a, b: uniform [a, b), normal (mean a, std b), randint [a, b), gumbel (standard
  // Gumbel noise -log(-log(u))); bernoulli reads probabilities from `p` (out's shape).
  virtual void random(RandomOp op, const Tensor& out, PhiloxDraw draw, double a, double b,
                      const Tensor& p);

 protected:
  [[noreturn]] void not_implemented(const char* kernel) const;
};

// The backend of a device. Throws when the device's backend is not compiled in or the
// device does not exist.
Backend& backend(Device device);

// Number of CUDA devices usable by this build: 0 without the CUDA backend or a GPU.
int cuda_device_count();

}  // namespace subtb

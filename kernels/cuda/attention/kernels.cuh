#pragma once
// The launchers of the CUDA attention kernels and the arguments they take. attention.cu
// checks the tensors and picks a family; each family lives in its own file:
//   flash_forward.cu, flash_backward.cu  tensor cores (mma.sync), bf16/f16, D in {32, 64, 96, 128}
//   tiled.cu                              CUDA cores, any dtype and D (f32, f64 and the fallback)
#include <cuda_runtime.h>

#include "kernels/cuda/attention/common.cuh"

namespace subtb::cuda::attention {

// T: the element type of q, k, v, out and the gradients; L: that of lse (f32, f64 for f64).
template <class T, class L>
struct ForwardArgs {
  Problem problem;
  Heads<const T> q, k, v;
  T* out = nullptr;  // [B, Hq, Tq, D] contiguous
  L* lse = nullptr;  // [B, Hq, Tq]
  double scale = 1.0;
};

template <class T, class L>
struct BackwardArgs {
  Problem problem;
  Heads<const T> q, k, v, out, grad_out;
  const L* lse = nullptr;
  const L* delta = nullptr;  // [B, Hq, Tq]: rowsum(grad_out * out), from launch_row_dot
  // Outputs, contiguous in the shapes of q, k, v; null when not wanted.
  T* grad_q = nullptr;
  T* grad_k = nullptr;
  T* grad_v = nullptr;
  // Non-deterministic dQ: an f32 [B, Hq, Tq, D] buffer, zeroed, that the key-tile CTAs
  // add into with atomics (launch_flash_convert_dq then rounds it into grad_q). Null in
  // deterministic mode, where launch_flash_backward_dq computes grad_q on its own.
  float* dq_accum = nullptr;
  double scale = 1.0;
};

// delta[bh, i] = sum_d grad_out[b, h, i, d] * out[b, h, i, d], accumulated in L.
template <class T, class L>
void launch_row_dot(const BackwardArgs<T, L>& args, L* delta, cudaStream_t stream);

// Tensor-core kernels (sm_80+). T: __nv_bfloat16 or __half; every pointer 16-byte
// aligned and every row stride a multiple of 8 elements (choose_family in attention.cu checks).
template <class T>
void launch_flash_forward(const ForwardArgs<T, float>& args, cudaStream_t stream);
// dK and dV (and dQ through dq_accum when set), one CTA per key tile.
template <class T>
void launch_flash_backward_kv(const BackwardArgs<T, float>& args, cudaStream_t stream);
// dQ without atomics, one CTA per query tile.
template <class T>
void launch_flash_backward_dq(const BackwardArgs<T, float>& args, cudaStream_t stream);
template <class T>
void launch_flash_convert_dq(const BackwardArgs<T, float>& args, cudaStream_t stream);
inline bool flash_head_dim_supported(int dim) { return dim == 32 || dim == 64 || dim == 96 || dim == 128; }

// CUDA-core kernels, any D (shared memory permitting). T: float, double, __nv_bfloat16
// or __half; C = L: the compute type (double for double, float otherwise).
template <class T, class L>
void launch_tiled_forward(const ForwardArgs<T, L>& args, cudaStream_t stream);
template <class T, class L>
void launch_tiled_backward(const BackwardArgs<T, L>& args, cudaStream_t stream);

}  // namespace subtb::cuda::attention

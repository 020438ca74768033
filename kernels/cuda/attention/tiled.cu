// Attention on CUDA cores: the f32 and f64 path (f64 for gradcheck), and the fallback
// of bf16/f16 where the tensor-core kernels do not apply. Plain and exact rather than
// fast: every value is computed in C (f64 for f64, f32 otherwise) from tiles of 16 query
// rows and 16 key rows in shared memory, one CTA of 128 threads per tile of rows.
//
// Forward: per key tile, the 16 x 16 scores, then an online softmax per row (running
// max m and sum l; the accumulator rescaled by exp(m_old - m_new)), then acc += P V.
// Backward, without atomics (deterministic by construction):
//   dq kernel, per query tile:  dS = P * (dO V^T - delta),  dQ = scale * sum over key tiles dS K;
//   kv kernel, per key tile:    dV = sum P^T dO,  dK = scale * sum dS^T Q over the query
//                               tiles of every query head of the group, in order.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "kernels/cuda/attention/kernels.cuh"
#include "kernels/cuda/cuda_check.h"

namespace subtb::cuda::attention {

namespace {

constexpr int kRows = 16;  // query rows of a tile
constexpr int kCols = 16;  // key rows of a tile
constexpr int kThreads = 128;

template <class C, class T>
__device__ __forceinline__ C to_compute(T x) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return static_cast<C>(__bfloat162float(x));
  } else if constexpr (std::is_same_v<T, __half>) {
    return static_cast<C>(__half2float(x));
  } else {
    return static_cast<C>(x);
  }
}

template <class T, class C>
__device__ __forceinline__ T from_compute(C x) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(x));
  } else if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(static_cast<float>(x));
  } else {
    return static_cast<T>(x);
  }
}

// Copies `rows` rows of D values starting at row `row0` of one head into a [rows][D]
// shared array, as C; rows at or past `limit` become zeros.
template <class C, class T>
__device__ void load_rows(C* dst, const T* head, int64_t row_stride, int row0, int rows, int limit, int dim) {
  for (int e = threadIdx.x; e < rows * dim; e += kThreads) {
    const int r = e / dim, d = e % dim;
    dst[e] = row0 + r < limit ? to_compute<C>(head[(row0 + r) * row_stride + d]) : C(0);
  }
}

template <class C>
__device__ __forceinline__ C dot(const C* a, const C* b, int n) {
  C s = 0;
  for (int d = 0; d < n; ++d) s += a[d] * b[d];
  return s;
}

template <class T, class L>
__global__ void __launch_bounds__(kThreads) tiled_forward_kernel(const ForwardArgs<T, L> args) {
  using C = L;
  const Problem& pr = args.problem;
  const int dim = pr.dim;
  const int bh = grid_head();
  if (bh >= pr.batch * pr.heads_q) return;
  const int b = bh / pr.heads_q, h = bh % pr.heads_q, hk = h / pr.group();
  const int m0 = static_cast<int>(pr.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * kRows;

  extern __shared__ __align__(16) unsigned char smem[];
  C* s_q = reinterpret_cast<C*>(smem);  // [kRows][D]
  C* s_k = s_q + kRows * dim;           // [kCols][D]
  C* s_v = s_k + kCols * dim;           // [kCols][D]
  C* s_acc = s_v + kCols * dim;         // [kRows][D]
  C* s_p = s_acc + kRows * dim;         // [kRows][kCols]
  C* s_max = s_p + kRows * kCols;       // [kRows] running max of the scaled scores
  C* s_sum = s_max + kRows;             // [kRows] running sum of exp(score - max)
  C* s_rescale = s_sum + kRows;         // [kRows] exp(old max - new max) of the last tile

  load_rows(s_q, args.q.row(b, h, 0), args.q.st, m0, kRows, pr.tq, dim);
  for (int e = threadIdx.x; e < kRows * dim; e += kThreads) s_acc[e] = 0;
  if (threadIdx.x < kRows) {
    s_max[threadIdx.x] = neg_inf<C>;
    s_sum[threadIdx.x] = 0;
  }
  const C scale = static_cast<C>(args.scale);
  const int key_end = pr.visible_end(b, m0, kRows);
  for (int n0 = 0; n0 < key_end; n0 += kCols) {
    __syncthreads();  // the previous tile is consumed
    load_rows(s_k, args.k.row(b, hk, 0), args.k.st, n0, kCols, pr.tk, dim);
    load_rows(s_v, args.v.row(b, hk, 0), args.v.st, n0, kCols, pr.tk, dim);
    __syncthreads();
    for (int e = threadIdx.x; e < kRows * kCols; e += kThreads) {
      const int r = e / kCols, c = e % kCols, i = m0 + r, j = n0 + c;
      s_p[e] = i < pr.tq && pr.visible(b, i, j) ? scale * dot(s_q + r * dim, s_k + c * dim, dim) : neg_inf<C>;
    }
    __syncthreads();
    if (threadIdx.x < kRows) {
      const int r = threadIdx.x;
      C mx = s_max[r];
      for (int c = 0; c < kCols; ++c) mx = fmax(mx, s_p[r * kCols + c]);
      // Nothing visible yet: subtract 0, not -inf, so that exp gives 0 and not NaN.
      const C base = mx == neg_inf<C> ? C(0) : mx;
      C sum = 0;
      for (int c = 0; c < kCols; ++c) {
        const C p = exp(s_p[r * kCols + c] - base);
        s_p[r * kCols + c] = p;
        sum += p;
      }
      s_rescale[r] = exp(s_max[r] - base);
      s_sum[r] = s_sum[r] * s_rescale[r] + sum;
      s_max[r] = mx;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < kRows * dim; e += kThreads) {
      const int r = e / dim, d = e % dim;
      C acc = s_acc[e] * s_rescale[r];
      for (int c = 0; c < kCols; ++c) acc += s_p[r * kCols + c] * s_v[c * dim + d];
      s_acc[e] = acc;
    }
  }
  __syncthreads();
  T* out = args.out + static_cast<int64_t>(bh) * pr.tq * dim;
  for (int e = threadIdx.x; e < kRows * dim; e += kThreads) {
    const int r = e / dim, i = m0 + r;
    if (i < pr.tq)
      out[static_cast<int64_t>(i) * dim + e % dim] = from_compute<T>(s_sum[r] > 0 ? s_acc[e] / s_sum[r] : C(0));
  }
  if (threadIdx.x < kRows && m0 + static_cast<int>(threadIdx.x) < pr.tq) {
    const int r = threadIdx.x;
    args.lse[static_cast<int64_t>(bh) * pr.tq + m0 + r] = s_sum[r] > 0 ? s_max[r] + log(s_sum[r]) : neg_inf<C>;
  }
}

template <class T, class L>
__global__ void __launch_bounds__(kThreads) tiled_backward_dq_kernel(const BackwardArgs<T, L> args) {
  using C = L;
  const Problem& pr = args.problem;
  const int dim = pr.dim;
  const int bh = grid_head();
  if (bh >= pr.batch * pr.heads_q) return;
  const int b = bh / pr.heads_q, h = bh % pr.heads_q, hk = h / pr.group();
  const int m0 = static_cast<int>(pr.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * kRows;

  extern __shared__ __align__(16) unsigned char smem[];
  C* s_q = reinterpret_cast<C*>(smem);  // [kRows][D]
  C* s_do = s_q + kRows * dim;          // [kRows][D]
  C* s_k = s_do + kRows * dim;          // [kCols][D]
  C* s_v = s_k + kCols * dim;           // [kCols][D]
  C* s_acc = s_v + kCols * dim;         // [kRows][D]
  C* s_ds = s_acc + kRows * dim;        // [kRows][kCols]
  C* s_lse = s_ds + kRows * kCols;      // [kRows]
  C* s_delta = s_lse + kRows;           // [kRows]

  load_rows(s_q, args.q.row(b, h, 0), args.q.st, m0, kRows, pr.tq, dim);
  load_rows(s_do, args.grad_out.row(b, h, 0), args.grad_out.st, m0, kRows, pr.tq, dim);
  for (int e = threadIdx.x; e < kRows * dim; e += kThreads) s_acc[e] = 0;
  if (threadIdx.x < kRows) {
    const int i = m0 + threadIdx.x;
    s_lse[threadIdx.x] = i < pr.tq ? args.lse[static_cast<int64_t>(bh) * pr.tq + i] : neg_inf<C>;
    s_delta[threadIdx.x] = i < pr.tq ? args.delta[static_cast<int64_t>(bh) * pr.tq + i] : C(0);
  }
  const C scale = static_cast<C>(args.scale);
  const int key_end = pr.visible_end(b, m0, kRows);
  for (int n0 = 0; n0 < key_end; n0 += kCols) {
    __syncthreads();
    load_rows(s_k, args.k.row(b, hk, 0), args.k.st, n0, kCols, pr.tk, dim);
    load_rows(s_v, args.v.row(b, hk, 0), args.v.st, n0, kCols, pr.tk, dim);
    __syncthreads();
    for (int e = threadIdx.x; e < kRows * kCols; e += kThreads) {
      const int r = e / kCols, c = e % kCols, i = m0 + r, j = n0 + c;
      C ds = 0;
      // A row with lse -inf sees no key, so visible() is false for all of its j.
      if (i < pr.tq && pr.visible(b, i, j)) {
        const C p = exp(scale * dot(s_q + r * dim, s_k + c * dim, dim) - s_lse[r]);
        ds = p * (dot(s_do + r * dim, s_v + c * dim, dim) - s_delta[r]);
      }
      s_ds[e] = ds;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < kRows * dim; e += kThreads) {
      const int r = e / dim, d = e % dim;
      C acc = s_acc[e];
      for (int c = 0; c < kCols; ++c) acc += s_ds[r * kCols + c] * s_k[c * dim + d];
      s_acc[e] = acc;
    }
  }
  __syncthreads();
  T* grad_q = args.grad_q + static_cast<int64_t>(bh) * pr.tq * dim;
  for (int e = threadIdx.x; e < kRows * dim; e += kThreads) {
    const int i = m0 + e / dim;
    if (i < pr.tq) grad_q[static_cast<int64_t>(i) * dim + e % dim] = from_compute<T>(scale * s_acc[e]);
  }
}

template <class T, class L>
__global__ void __launch_bounds__(kThreads) tiled_backward_kv_kernel(const BackwardArgs<T, L> args) {
  using C = L;
  const Problem& pr = args.problem;
  const int dim = pr.dim;
  const int bhk = grid_head();
  if (bhk >= pr.batch * pr.heads_kv) return;
  const int b = bhk / pr.heads_kv, hk = bhk % pr.heads_kv, group = pr.group();
  const int n0 = static_cast<int>(blockIdx.x) * kCols;

  extern __shared__ __align__(16) unsigned char smem[];
  C* s_k = reinterpret_cast<C*>(smem);  // [kCols][D]
  C* s_v = s_k + kCols * dim;           // [kCols][D]
  C* s_dk = s_v + kCols * dim;          // [kCols][D]
  C* s_dv = s_dk + kCols * dim;         // [kCols][D]
  C* s_q = s_dv + kCols * dim;          // [kRows][D]
  C* s_do = s_q + kRows * dim;          // [kRows][D]
  C* s_p = s_do + kRows * dim;          // [kRows][kCols]
  C* s_ds = s_p + kRows * kCols;        // [kRows][kCols]
  C* s_lse = s_ds + kRows * kCols;      // [kRows]
  C* s_delta = s_lse + kRows;           // [kRows]

  load_rows(s_k, args.k.row(b, hk, 0), args.k.st, n0, kCols, pr.tk, dim);
  load_rows(s_v, args.v.row(b, hk, 0), args.v.st, n0, kCols, pr.tk, dim);
  for (int e = threadIdx.x; e < kCols * dim; e += kThreads) s_dk[e] = s_dv[e] = 0;
  const C scale = static_cast<C>(args.scale);
  // The first query that can see a key of this tile (causal), and none past the key end.
  const int m_first = pr.causal ? max(0, n0 - (pr.tk - pr.tq)) : 0;
  const int m_end = n0 < pr.key_end(b) ? pr.tq : 0;
  for (int hi = 0; hi < group; ++hi) {
    const int h = hk * group + hi;
    const int64_t bh = static_cast<int64_t>(b) * pr.heads_q + h;
    for (int m0 = m_first - m_first % kRows; m0 < m_end; m0 += kRows) {
      __syncthreads();  // the previous query tile is consumed
      load_rows(s_q, args.q.row(b, h, 0), args.q.st, m0, kRows, pr.tq, dim);
      load_rows(s_do, args.grad_out.row(b, h, 0), args.grad_out.st, m0, kRows, pr.tq, dim);
      if (threadIdx.x < kRows) {
        const int i = m0 + threadIdx.x;
        s_lse[threadIdx.x] = i < pr.tq ? args.lse[bh * pr.tq + i] : neg_inf<C>;
        s_delta[threadIdx.x] = i < pr.tq ? args.delta[bh * pr.tq + i] : C(0);
      }
      __syncthreads();
      for (int e = threadIdx.x; e < kRows * kCols; e += kThreads) {
        const int r = e / kCols, c = e % kCols, i = m0 + r, j = n0 + c;
        C p = 0, ds = 0;
        if (i < pr.tq && pr.visible(b, i, j)) {
          p = exp(scale * dot(s_q + r * dim, s_k + c * dim, dim) - s_lse[r]);
          ds = p * (dot(s_do + r * dim, s_v + c * dim, dim) - s_delta[r]);
        }
        s_p[e] = p;
        s_ds[e] = ds;
      }
      __syncthreads();
      for (int e = threadIdx.x; e < kCols * dim; e += kThreads) {
        const int c = e / dim, d = e % dim;
        C dv = s_dv[e], dk = s_dk[e];
        for (int r = 0; r < kRows; ++r) {
          dv += s_p[r * kCols + c] * s_do[r * dim + d];
          dk += s_ds[r * kCols + c] * s_q[r * dim + d];
        }
        s_dv[e] = dv;
        s_dk[e] = dk;
      }
    }
  }
  __syncthreads();
  const int64_t head_offset = static_cast<int64_t>(bhk) * pr.tk * dim;
  for (int e = threadIdx.x; e < kCols * dim; e += kThreads) {
    const int j = n0 + e / dim;
    if (j >= pr.tk) continue;
    const int64_t at = head_offset + static_cast<int64_t>(j) * dim + e % dim;
    if (args.grad_k != nullptr) args.grad_k[at] = from_compute<T>(scale * s_dk[e]);
    if (args.grad_v != nullptr) args.grad_v[at] = from_compute<T>(s_dv[e]);
  }
}

// One warp per row of [B, Hq, Tq]: delta = sum_d dO * O.
template <class T, class L>
__global__ void row_dot_kernel(const BackwardArgs<T, L> args, L* delta) {
  const Problem& pr = args.problem;
  const int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= static_cast<int64_t>(pr.batch) * pr.heads_q * pr.tq) return;
  const int i = static_cast<int>(row % pr.tq);
  const int bh = static_cast<int>(row / pr.tq);
  const int b = bh / pr.heads_q, h = bh % pr.heads_q;
  const T* o = args.out.row(b, h, i);
  const T* g = args.grad_out.row(b, h, i);
  L s = 0;
  for (int d = lane; d < pr.dim; d += 32) s += to_compute<L>(o[d]) * to_compute<L>(g[d]);
  for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
  if (lane == 0) delta[row] = s;
}

// Opts the kernel in to `bytes` of dynamic shared memory, or throws when the device
// has less per block.
template <class Kernel>
void reserve_shared(const char* op, Kernel kernel, size_t bytes, int dim) {
  int device = 0, limit = 0;
  SUBTB_CUDA_CHECK(cudaGetDevice(&device));
  SUBTB_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  SUBTB_CHECK(bytes <= static_cast<size_t>(limit), op, ": head dim ", dim, " needs ", bytes,
              " bytes of shared memory per block, the device has ", limit);
  SUBTB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

}  // namespace

template <class T, class L>
void launch_row_dot(const BackwardArgs<T, L>& args, L* delta, cudaStream_t stream) {
  const Problem& pr = args.problem;
  const int64_t rows = static_cast<int64_t>(pr.batch) * pr.heads_q * pr.tq;
  constexpr int kRowsPerBlock = 8;
  row_dot_kernel<T, L>
      <<<static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0, stream>>>(args,
                                                                                                             delta);
  check_launch("attention_backward (rowsum of dO * O)", stream);
}

template <class T, class L>
void launch_tiled_forward(const ForwardArgs<T, L>& args, cudaStream_t stream) {
  const Problem& pr = args.problem;
  const size_t smem = sizeof(L) * ((2 * kRows + 2 * kCols) * pr.dim + kRows * kCols + 3 * kRows);
  const auto kernel = tiled_forward_kernel<T, L>;
  const dim3 grid = tiles_by_heads(ceil_div(pr.tq, kRows), pr.batch * pr.heads_q);
  if (empty_grid(grid)) return;
  reserve_shared("attention", kernel, smem, pr.dim);
  kernel<<<grid, kThreads, smem, stream>>>(args);
  check_launch("attention (tiled forward)", stream);
}

template <class T, class L>
void launch_tiled_backward(const BackwardArgs<T, L>& args, cudaStream_t stream) {
  const Problem& pr = args.problem;
  const dim3 dq_grid = tiles_by_heads(ceil_div(pr.tq, kRows), pr.batch * pr.heads_q);
  if (args.grad_q != nullptr && !empty_grid(dq_grid)) {
    const size_t smem = sizeof(L) * ((3 * kRows + 2 * kCols) * pr.dim + kRows * kCols + 2 * kRows);
    const auto kernel = tiled_backward_dq_kernel<T, L>;
    reserve_shared("attention_backward", kernel, smem, pr.dim);
    kernel<<<dq_grid, kThreads, smem, stream>>>(args);
    check_launch("attention_backward (tiled dQ)", stream);
  }
  const dim3 kv_grid = tiles_by_heads(ceil_div(pr.tk, kCols), pr.batch * pr.heads_kv);
  if ((args.grad_k != nullptr || args.grad_v != nullptr) && !empty_grid(kv_grid)) {
    const size_t smem = sizeof(L) * ((4 * kCols + 2 * kRows) * pr.dim + 2 * kRows * kCols + 2 * kRows);
    const auto kernel = tiled_backward_kv_kernel<T, L>;
    reserve_shared("attention_backward", kernel, smem, pr.dim);
    kernel<<<kv_grid, kThreads, smem, stream>>>(args);
    check_launch("attention_backward (tiled dK, dV)", stream);
  }
}

#define SUBTB_INSTANTIATE(T, L)                                                     \
  template void launch_row_dot<T, L>(const BackwardArgs<T, L>&, L*, cudaStream_t);  \
  template void launch_tiled_forward<T, L>(const ForwardArgs<T, L>&, cudaStream_t); \
  template void launch_tiled_backward<T, L>(const BackwardArgs<T, L>&, cudaStream_t);
SUBTB_INSTANTIATE(float, float)
SUBTB_INSTANTIATE(double, double)
SUBTB_INSTANTIATE(__nv_bfloat16, float)
SUBTB_INSTANTIATE(__half, float)
#undef SUBTB_INSTANTIATE

}  // namespace subtb::cuda::attention

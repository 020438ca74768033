// FlashAttention-2 backward on tensor cores (mma.sync m16n8k16, sm_80 and up).
//
// With P = softmax(scale * Q K^T) recomputed as exp(scale * S - lse) from the forward's
// lse, and delta_i = sum_d dO[i, d] O[i, d] (launch_row_dot):
//   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - delta),  dK = scale * dS^T Q,  dQ = scale * dS K.
//
// flash_backward_kv_kernel: one CTA per 64-key tile of one (batch, key/value head). Its
// 4 warps own 16 keys each and keep their dK and dV (16 x D, f32) in registers while
// the CTA walks, for each query head of the group in order, the query tiles that can
// see the keys; Q, dO, lse and delta stream through shared memory, double buffered.
// The warps compute the transposed products (keys as rows: S^T = K Q^T, dP^T = V dO^T)
// so that P^T and dS^T come out as the A fragments of dV += P^T dO and dK += dS^T Q.
// Summing the group's heads inside the CTA, in order, makes dK and dV of grouped-query
// attention deterministic with no extra memory. dQ needs the sum over all key tiles:
// here it is added into an f32 buffer with atomics (dS goes through shared memory,
// transposed, to become the A operand of dS K), then rounded by flash_convert_dq.
//
// flash_backward_dq_kernel: deterministic dQ, one CTA per 64-query tile, shaped like the
// forward: each warp owns 16 query rows and accumulates their dQ over the key tiles.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/attention/flash_tiles.cuh"
#include "kernels/cuda/attention/kernels.cuh"
#include "kernels/cuda/cuda_check.h"

namespace subtb::cuda::attention {

namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr int kM = kFlashTile;    // query rows of a tile
constexpr int kN = kFlashTile;    // key rows of a tile
constexpr int kDsPitch = kM + 8;  // the dS^T tile [kN][kM], padded like the others

// lse in base 2 for P = exp2(scale_log2 * s - lse2). A query that sees no key (lse =
// -inf) maps to +inf, making every one of its probabilities exp2(-inf) = 0.
__device__ __forceinline__ float lse_base2(float lse) { return lse == neg_inf<float> ? pos_inf<float> : lse * kLog2e; }

template <class T, int kD>
constexpr int kv_smem_bytes() {
  // K, V, Q x 2, dO x 2, dS^T, lse x 2, delta x 2
  return 6 * tile_bytes<T, kD>() + kN * kDsPitch * static_cast<int>(sizeof(T)) +
         4 * kM * static_cast<int>(sizeof(float));
}

template <class T, int kD>
__global__ void __launch_bounds__(kFlashThreads) flash_backward_kv_kernel(const BackwardArgs<T, float> args) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kP = kPitch<kD>;
  const Problem& pr = args.problem;
  const int bhk = grid_head();
  if (bhk >= pr.batch * pr.heads_kv) return;
  const int b = bhk / pr.heads_kv, hk = bhk % pr.heads_kv, group = pr.group();
  const int n0 = static_cast<int>(blockIdx.x) * kN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;

  extern __shared__ __align__(16) unsigned char smem[];
  T* s_k = reinterpret_cast<T*>(smem);
  T* s_v = s_k + kN * kP;
  T* s_q = s_v + kN * kP;                                         // [2][kM][kP]
  T* s_do = s_q + 2 * kM * kP;                                    // [2][kM][kP]
  T* s_ds = s_do + 2 * kM * kP;                                   // [kN][kDsPitch]
  float* s_lse = reinterpret_cast<float*>(s_ds + kN * kDsPitch);  // [2][kM]
  float* s_delta = s_lse + 2 * kM;                                // [2][kM]

  // The query tiles that can see a key of this tile: none past the key end; with
  // causal, none before query n0 - (Tk - Tq).
  const bool keys_visible = n0 < pr.key_end(b);
  const int m_begin = pr.causal ? max(0, n0 - (pr.tk - pr.tq)) / kM : 0;
  const int m_tiles = keys_visible ? max(0, ceil_div(pr.tq, kM) - m_begin) : 0;
  const int steps = group * m_tiles;  // (head of the group, query tile) pairs, in order

  // Starts the loads of step `step` into buffer `buf`.
  const auto prefetch = [&](int step, int buf) {
    const int h = hk * group + step / m_tiles, m0 = (m_begin + step % m_tiles) * kM;
    load_tile_async<kD>(s_q + buf * kM * kP, args.q.row(b, h, 0), args.q.st, m0, pr.tq);
    load_tile_async<kD>(s_do + buf * kM * kP, args.grad_out.row(b, h, 0), args.grad_out.st, m0, pr.tq);
    cp_async_commit();
    if (threadIdx.x < kM) {
      const int i = m0 + static_cast<int>(threadIdx.x);
      const int64_t row = (static_cast<int64_t>(b) * pr.heads_q + h) * pr.tq + i;
      s_lse[buf * kM + threadIdx.x] = i < pr.tq ? lse_base2(args.lse[row]) : pos_inf<float>;
      s_delta[buf * kM + threadIdx.x] = i < pr.tq ? args.delta[row] : 0.f;
    }
  };

  float dk[kD / 8][4] = {}, dv[kD / 8][4] = {};
  if (steps > 0) {
    load_tile_async<kD>(s_k, args.k.row(b, hk, 0), args.k.st, n0, pr.tk);
    load_tile_async<kD>(s_v, args.v.row(b, hk, 0), args.v.st, n0, pr.tk);
    prefetch(0, 0);  // commits K, V and the first Q, dO as one group
  }
  const float scale_log2 = static_cast<float>(args.scale) * kLog2e;
  const int key0 = n0 + warp * 16;  // this warp's first key

  for (int step = 0; step < steps; ++step) {
    const int buf = step % 2;
    const int h = hk * group + step / m_tiles, m0 = (m_begin + step % m_tiles) * kM;
    if (step + 1 < steps) {
      prefetch(step + 1, 1 - buf);  // that buffer was last read before the previous barrier
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* q_tile = s_q + buf * kM * kP;
    const T* do_tile = s_do + buf * kM * kP;
    const float* lse2 = s_lse + buf * kM;
    const float* delta = s_delta + buf * kM;

    // P^T = exp2(scale_log2 * K Q^T - lse2): rows keys, columns queries.
    float pt[kM / 8][4] = {};
    {
      uint32_t k_frag[kD / 16][4];
      load_a<kD, kP>(k_frag, s_k + warp * 16 * kP, lane);
      mma_a_bt<T, kD, kM, kP>(pt, k_frag, q_tile, lane);
    }
    const bool masked = pr.tile_needs_mask(b, m0, n0, kN);
#pragma unroll
    for (int nt = 0; nt < kM / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = nt * 8 + 2 * t + e % 2;
        const bool hidden = masked && !pr.visible(b, m0 + col, key0 + g + 8 * (e / 2));
        pt[nt][e] = hidden ? 0.f : exp2f(pt[nt][e] * scale_log2 - lse2[col]);
      }
    }
    {
      uint32_t p_frag[kM / 16][4];
      c_to_a<T, kM / 8>(pt, p_frag);
      mma_a_b<T, kM, kD, kP>(dv, p_frag, do_tile, lane);
    }

    // dS^T = P^T * (V dO^T - delta)
    float dpt[kM / 8][4] = {};
    {
      uint32_t v_frag[kD / 16][4];
      load_a<kD, kP>(v_frag, s_v + warp * 16 * kP, lane);
      mma_a_bt<T, kD, kM, kP>(dpt, v_frag, do_tile, lane);
    }
#pragma unroll
    for (int nt = 0; nt < kM / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) pt[nt][e] *= dpt[nt][e] - delta[nt * 8 + 2 * t + e % 2];
    }
    uint32_t ds_frag[kM / 16][4];
    c_to_a<T, kM / 8>(pt, ds_frag);
    mma_a_b<T, kM, kD, kP>(dk, ds_frag, q_tile, lane);

    if (args.dq_accum != nullptr) {
      // dS^T to shared memory, so that each warp can read 16 query rows of dS.
#pragma unroll
      for (int nt = 0; nt < kM / 8; ++nt) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          *reinterpret_cast<uint32_t*>(s_ds + (warp * 16 + g + 8 * half) * kDsPitch + nt * 8 + 2 * t) =
              pack2<T>(pt[nt][2 * half], pt[nt][2 * half + 1]);
        }
      }
      __syncthreads();
      // dQ[m0 + warp*16 .. +16) += scale * dS K, dS read transposed from dS^T.
      uint32_t a[kN / 16][4];
#pragma unroll
      for (int kk = 0; kk < kN / 16; ++kk)
        ldmatrix_x4_trans(a[kk], s_ds + (kk * 16 + trans_a_row(lane)) * kDsPitch + warp * 16 + trans_a_col(lane));
      float* dq_head = args.dq_accum + (static_cast<int64_t>(b) * pr.heads_q + h) * pr.tq * kD;
      const float scale = static_cast<float>(args.scale);
#pragma unroll
      for (int nn = 0; nn < kD / 16; ++nn) {
        float acc[2][4] = {};
#pragma unroll
        for (int kk = 0; kk < kN / 16; ++kk) {
          uint32_t f[4];
          ldmatrix_x4_trans(f, s_k + (kk * 16 + trans_b_row(lane)) * kP + nn * 16 + trans_b_col(lane));
          mma_16816<T>(acc[0], a[kk], f[0], f[1]);
          mma_16816<T>(acc[1], a[kk], f[2], f[3]);
        }
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int row = m0 + warp * 16 + g + 8 * (e / 2);
          if (row >= pr.tq) continue;
#pragma unroll
          for (int j = 0; j < 2; ++j)
            atomicAdd(dq_head + static_cast<int64_t>(row) * kD + nn * 16 + j * 8 + 2 * t + e % 2, acc[j][e] * scale);
        }
      }
    }
    __syncthreads();  // the buffers of this step are refilled by the next prefetch
  }

  // Keys past the visible end get exact zeros (their P is 0 for every query).
  const int64_t head_row0 = static_cast<int64_t>(bhk) * pr.tk;
  const float dk_factor[2] = {static_cast<float>(args.scale), static_cast<float>(args.scale)};
  const float dv_factor[2] = {1.f, 1.f};
  if (args.grad_k != nullptr) store_rows<T, kD>(args.grad_k + head_row0 * kD, key0, pr.tk, dk, dk_factor, lane);
  if (args.grad_v != nullptr) store_rows<T, kD>(args.grad_v + head_row0 * kD, key0, pr.tk, dv, dv_factor, lane);
#else
  __trap();  // choose_family() in attention.cu keeps pre-Ampere devices off this path
#endif
}

template <class T, int kD>
constexpr int dq_smem_bytes() {
  return 6 * tile_bytes<T, kD>();  // Q, dO, K x 2, V x 2
}

template <class T, int kD>
__global__ void __launch_bounds__(kFlashThreads) flash_backward_dq_kernel(const BackwardArgs<T, float> args) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kP = kPitch<kD>;
  const Problem& pr = args.problem;
  const int bh = grid_head();
  if (bh >= pr.batch * pr.heads_q) return;
  const int b = bh / pr.heads_q, h = bh % pr.heads_q, hk = h / pr.group();
  const int m_tile = static_cast<int>(pr.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x);
  const int m0 = m_tile * kM;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;

  extern __shared__ __align__(16) unsigned char smem[];
  T* s_q = reinterpret_cast<T*>(smem);
  T* s_do = s_q + kM * kP;
  T* s_k = s_do + kM * kP;     // [2][kN][kP]
  T* s_v = s_k + 2 * kN * kP;  // [2][kN][kP]

  const int n_tiles = ceil_div(pr.visible_end(b, m0, kM), kN);
  const T* k_head = args.k.row(b, hk, 0);
  const T* v_head = args.v.row(b, hk, 0);

  float lse2[2], delta[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = m0 + warp * 16 + g + 8 * half;
    lse2[half] = row < pr.tq ? lse_base2(args.lse[static_cast<int64_t>(bh) * pr.tq + row]) : pos_inf<float>;
    delta[half] = row < pr.tq ? args.delta[static_cast<int64_t>(bh) * pr.tq + row] : 0.f;
  }

  float dq[kD / 8][4] = {};
  if (n_tiles > 0) {
    load_tile_async<kD>(s_q, args.q.row(b, h, 0), args.q.st, m0, pr.tq);
    load_tile_async<kD>(s_do, args.grad_out.row(b, h, 0), args.grad_out.st, m0, pr.tq);
    load_tile_async<kD>(s_k, k_head, args.k.st, 0, pr.tk);
    load_tile_async<kD>(s_v, v_head, args.v.st, 0, pr.tk);
    cp_async_commit();
  }
  const float scale_log2 = static_cast<float>(args.scale) * kLog2e;

  for (int n = 0; n < n_tiles; ++n) {
    const int buf = n % 2, n0 = n * kN;
    if (n + 1 < n_tiles) {
      load_tile_async<kD>(s_k + (1 - buf) * kN * kP, k_head, args.k.st, n0 + kN, pr.tk);
      load_tile_async<kD>(s_v + (1 - buf) * kN * kP, v_head, args.v.st, n0 + kN, pr.tk);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* k_tile = s_k + buf * kN * kP;
    const T* v_tile = s_v + buf * kN * kP;

    float p[kN / 8][4] = {};
    {
      uint32_t q_frag[kD / 16][4];
      load_a<kD, kP>(q_frag, s_q + warp * 16 * kP, lane);
      mma_a_bt<T, kD, kN, kP>(p, q_frag, k_tile, lane);
    }
    const bool masked = pr.tile_needs_mask(b, m0, n0, kN);
#pragma unroll
    for (int nt = 0; nt < kN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const bool hidden = masked && !pr.visible(b, m0 + warp * 16 + g + 8 * (e / 2), n0 + nt * 8 + 2 * t + e % 2);
        p[nt][e] = hidden ? 0.f : exp2f(p[nt][e] * scale_log2 - lse2[e / 2]);
      }
    }
    float dp[kN / 8][4] = {};
    {
      uint32_t do_frag[kD / 16][4];
      load_a<kD, kP>(do_frag, s_do + warp * 16 * kP, lane);
      mma_a_bt<T, kD, kN, kP>(dp, do_frag, v_tile, lane);
    }
#pragma unroll
    for (int nt = 0; nt < kN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) p[nt][e] *= dp[nt][e] - delta[e / 2];
    }
    uint32_t ds_frag[kN / 16][4];
    c_to_a<T, kN / 8>(p, ds_frag);
    mma_a_b<T, kN, kD, kP>(dq, ds_frag, k_tile, lane);
    __syncthreads();  // this buffer is refilled by the next iteration's prefetch
  }

  const float factor[2] = {static_cast<float>(args.scale), static_cast<float>(args.scale)};
  store_rows<T, kD>(args.grad_q + static_cast<int64_t>(bh) * pr.tq * kD, m0 + warp * 16, pr.tq, dq, factor, lane);
#else
  __trap();  // choose_family() in attention.cu keeps pre-Ampere devices off this path
#endif
}

template <class T>
__global__ void convert_dq_kernel(const float* __restrict__ src, T* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = static_cast<T>(src[i]);
}

template <class T, int kD>
void launch_kv(const BackwardArgs<T, float>& args, cudaStream_t stream) {
  constexpr int smem = kv_smem_bytes<T, kD>();
  const auto kernel = flash_backward_kv_kernel<T, kD>;
  SUBTB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const Problem& pr = args.problem;
  const dim3 grid = tiles_by_heads(ceil_div(pr.tk, kN), pr.batch * pr.heads_kv);
  if (empty_grid(grid)) return;
  kernel<<<grid, kFlashThreads, smem, stream>>>(args);
  check_launch("attention_backward (flash dK, dV)", stream);
}

template <class T, int kD>
void launch_dq(const BackwardArgs<T, float>& args, cudaStream_t stream) {
  constexpr int smem = dq_smem_bytes<T, kD>();
  const auto kernel = flash_backward_dq_kernel<T, kD>;
  SUBTB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const Problem& pr = args.problem;
  const dim3 grid = tiles_by_heads(ceil_div(pr.tq, kM), pr.batch * pr.heads_q);
  if (empty_grid(grid)) return;
  kernel<<<grid, kFlashThreads, smem, stream>>>(args);
  check_launch("attention_backward (flash dQ)", stream);
}

}  // namespace

template <class T>
void launch_flash_backward_kv(const BackwardArgs<T, float>& args, cudaStream_t stream) {
  with_head_dim("attention_backward", args.problem.dim, [&]<int kD>() { launch_kv<T, kD>(args, stream); });
}

template <class T>
void launch_flash_backward_dq(const BackwardArgs<T, float>& args, cudaStream_t stream) {
  with_head_dim("attention_backward", args.problem.dim, [&]<int kD>() { launch_dq<T, kD>(args, stream); });
}

template <class T>
void launch_flash_convert_dq(const BackwardArgs<T, float>& args, cudaStream_t stream) {
  const Problem& pr = args.problem;
  const int64_t n = static_cast<int64_t>(pr.batch) * pr.heads_q * pr.tq * pr.dim;
  if (n == 0) return;
  const int threads = 256;
  const int blocks = static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 4096));
  convert_dq_kernel<T><<<blocks, threads, 0, stream>>>(args.dq_accum, args.grad_q, n);
  check_launch("attention_backward (dQ conversion)", stream);
}

#define SUBTB_INSTANTIATE(T)                                                              \
  template void launch_flash_backward_kv<T>(const BackwardArgs<T, float>&, cudaStream_t); \
  template void launch_flash_backward_dq<T>(const BackwardArgs<T, float>&, cudaStream_t); \
  template void launch_flash_convert_dq<T>(const BackwardArgs<T, float>&, cudaStream_t);
SUBTB_INSTANTIATE(__nv_bfloat16)
SUBTB_INSTANTIATE(__half)
#undef SUBTB_INSTANTIATE

}  // namespace subtb::cuda::attention

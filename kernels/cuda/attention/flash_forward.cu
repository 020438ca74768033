// FlashAttention-2 forward on tensor cores (mma.sync m16n8k16, sm_80 and up).
//
// One CTA computes a 64-row query tile of one (batch, query head): each of its 4 warps
// owns 16 query rows, keeps their Q fragments, their output accumulator (16 x D, f32)
// and their running softmax stats (max and sum per row) in registers, and walks the
// visible key tiles of 64 rows, which stream through shared memory with cp.async,
// double buffered: the copy of tile n + 1 runs while tile n is multiplied.
//
// Per key tile, per warp (rows of S are queries, columns keys):
//   S = Q K^T                     (16 x 64, f32 fragments)
//   S *= scale * log2(e), hidden entries -> -inf
//   m' = max(m, rowmax S);  P = exp2(S - m');  l = l * exp2(m - m') + rowsum P
//   O  = O * exp2(m - m') + P V   (P rounded to 16 bits, fed from registers)
// and at the end out = O / l, lse = (m + log2 l) * ln 2. Working in base 2 with the
// scale folded into one multiply makes each probability a single exp2f.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/attention/flash_tiles.cuh"
#include "kernels/cuda/attention/kernels.cuh"
#include "kernels/cuda/cuda_check.h"

namespace subtb::cuda::attention {

namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

template <class T, int kD>
constexpr int forward_smem_bytes() {
  return 5 * tile_bytes<T, kD>();  // Q, K x 2, V x 2
}

template <class T, int kD>
__global__ void __launch_bounds__(kFlashThreads) flash_forward_kernel(const ForwardArgs<T, float> args) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kP = kPitch<kD>;
  constexpr int kN = kFlashTile;  // keys per tile
  const Problem& pr = args.problem;
  const int bh = grid_head();
  if (bh >= pr.batch * pr.heads_q) return;
  const int b = bh / pr.heads_q, h = bh % pr.heads_q, hk = h / pr.group();
  // Causal CTAs with the most key tiles (the last query tiles) go first, so that the
  // short ones fill the tail of the launch.
  const int m_tile = static_cast<int>(pr.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x);
  const int m0 = m_tile * kFlashTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;

  extern __shared__ __align__(16) unsigned char smem[];
  T* s_q = reinterpret_cast<T*>(smem);
  T* s_k = s_q + kFlashTile * kP;  // [2][kN][kP]
  T* s_v = s_k + 2 * kN * kP;      // [2][kN][kP]

  const int key_end = pr.visible_end(b, m0, kFlashTile);
  const int n_tiles = ceil_div(key_end, kN);
  const T* k_head = args.k.row(b, hk, 0);
  const T* v_head = args.v.row(b, hk, 0);

  float o[kD / 8][4] = {};
  float row_max[2] = {neg_inf<float>, neg_inf<float>};
  float row_sum[2] = {0.f, 0.f};  // this lane's partial sums; quad-reduced at the end
  uint32_t q_frag[kD / 16][4];

  if (n_tiles > 0) {
    load_tile_async<kD>(s_q, args.q.row(b, h, 0), args.q.st, m0, pr.tq);
    load_tile_async<kD>(s_k, k_head, args.k.st, 0, pr.tk);
    load_tile_async<kD>(s_v, v_head, args.v.st, 0, pr.tk);
    cp_async_commit();
  }
  const float scale_log2 = static_cast<float>(args.scale) * kLog2e;

  for (int n = 0; n < n_tiles; ++n) {
    const int buf = n % 2, n0 = n * kN;
    if (n + 1 < n_tiles) {
      // The other buffer was last read in iteration n - 1, which ended in a barrier.
      load_tile_async<kD>(s_k + (1 - buf) * kN * kP, k_head, args.k.st, n0 + kN, pr.tk);
      load_tile_async<kD>(s_v + (1 - buf) * kN * kP, v_head, args.v.st, n0 + kN, pr.tk);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (n == 0) load_a<kD, kP>(q_frag, s_q + warp * 16 * kP, lane);
    const T* k_tile = s_k + buf * kN * kP;
    const T* v_tile = s_v + buf * kN * kP;

    float s[kN / 8][4] = {};
    mma_a_bt<T, kD, kN, kP>(s, q_frag, k_tile, lane);

    const bool masked = pr.tile_needs_mask(b, m0, n0, kN);
#pragma unroll
    for (int nt = 0; nt < kN / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nt][e] *= scale_log2;
        if (masked && !pr.visible(b, m0 + warp * 16 + g + 8 * (e / 2), n0 + nt * 8 + 2 * t + e % 2))
          s[nt][e] = neg_inf<float>;
      }
    }

    // Online softmax, rows g (half 0) and g + 8 (half 1) of the warp's slab.
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float mx = row_max[half];
#pragma unroll
      for (int nt = 0; nt < kN / 8; ++nt) mx = fmaxf(mx, fmaxf(s[nt][2 * half], s[nt][2 * half + 1]));
      mx = quad_max(mx);
      // A row with nothing visible yet keeps max -inf; subtracting 0 instead keeps its
      // probabilities exp2(-inf) = 0 rather than NaN.
      const float base = mx == neg_inf<float> ? 0.f : mx;
      const float rescale = exp2f(row_max[half] - base);
      row_max[half] = mx;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < kN / 8; ++nt) {
#pragma unroll
        for (int e = 2 * half; e < 2 * half + 2; ++e) {
          s[nt][e] = exp2f(s[nt][e] - base);
          sum += s[nt][e];
        }
      }
      row_sum[half] = row_sum[half] * rescale + sum;
#pragma unroll
      for (int dt = 0; dt < kD / 8; ++dt) {
        o[dt][2 * half] *= rescale;
        o[dt][2 * half + 1] *= rescale;
      }
    }

    uint32_t p_frag[kN / 16][4];
    c_to_a<T, kN / 8>(s, p_frag);
    mma_a_b<T, kN, kD, kP>(o, p_frag, v_tile, lane);
    __syncthreads();  // this buffer is refilled by the next iteration's prefetch
  }

  float inv[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float sum = quad_sum(row_sum[half]);
    // sum >= 1 when any key is visible (the max contributes exp2(0)); 0 otherwise.
    inv[half] = sum > 0.f ? 1.f / sum : 0.f;
    const int row = m0 + warp * 16 + g + 8 * half;
    if (t == 0 && row < pr.tq)
      args.lse[static_cast<int64_t>(bh) * pr.tq + row] =
          sum > 0.f ? (row_max[half] + log2f(sum)) * kLn2 : neg_inf<float>;
  }
  store_rows<T, kD>(args.out + static_cast<int64_t>(bh) * pr.tq * kD, m0 + warp * 16, pr.tq, o, inv, lane);
#else
  __trap();  // choose_family() in attention.cu keeps pre-Ampere devices off this path
#endif
}

template <class T, int kD>
void launch(const ForwardArgs<T, float>& args, cudaStream_t stream) {
  constexpr int smem = forward_smem_bytes<T, kD>();
  const auto kernel = flash_forward_kernel<T, kD>;
  SUBTB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const Problem& pr = args.problem;
  const dim3 grid = tiles_by_heads(ceil_div(pr.tq, kFlashTile), pr.batch * pr.heads_q);
  if (empty_grid(grid)) return;
  kernel<<<grid, kFlashThreads, smem, stream>>>(args);
  check_launch("attention (flash forward)", stream);
}

}  // namespace

template <class T>
void launch_flash_forward(const ForwardArgs<T, float>& args, cudaStream_t stream) {
  with_head_dim("attention", args.problem.dim, [&]<int kD>() { launch<T, kD>(args, stream); });
}

template void launch_flash_forward<__nv_bfloat16>(const ForwardArgs<__nv_bfloat16, float>&, cudaStream_t);
template void launch_flash_forward<__half>(const ForwardArgs<__half, float>&, cudaStream_t);

}  // namespace subtb::cuda::attention

#pragma once
// Shared-memory tiles of the tensor-core attention kernels: a tile is `kRows` rows of D
// 16-bit values, each row padded by 16 bytes. With the pad, the eight 16-byte rows one
// ldmatrix phase reads start in eight different bank quads for every D in
// {32, 64, 96, 128} (the pitch is an odd multiple of 16 bytes), so no read conflicts.
#include <cuda_runtime.h>

#include "kernels/cuda/attention/common.cuh"
#include "kernels/cuda/attention/mma.cuh"
#include "tensor/error.h"

namespace subtb::cuda::attention {

inline constexpr int kFlashWarps = 4;
inline constexpr int kFlashThreads = 32 * kFlashWarps;
// Rows of a query or key tile: one 16-row mma slab per warp.
inline constexpr int kFlashTile = 16 * kFlashWarps;

// Calls f.template operator()<kD>() for the runtime head dim `dim`.
template <class F>
void with_head_dim(const char* op, int dim, F&& f) {
  switch (dim) {
    case 32:
      return f.template operator()<32>();
    case 64:
      return f.template operator()<64>();
    case 96:
      return f.template operator()<96>();
    case 128:
      return f.template operator()<128>();
  }
  SUBTB_THROW(op, ": the tensor-core kernels have no head dim ", dim, " (32, 64, 96, 128)");
}

template <int kD>
inline constexpr int kPitch = kD + 8;  // elements per shared row

template <class T, int kD>
constexpr int tile_bytes() {
  return static_cast<int>(sizeof(T)) * kFlashTile * kPitch<kD>;
}

// Starts the asynchronous copy of rows [row0, row0 + kFlashTile) of one head of `src`
// into `tile`; rows at or past `rows` become zeros (so that padding never injects NaN
// into a product). All threads of the CTA take part; the caller commits the group.
template <int kD, class T>
__device__ __forceinline__ void load_tile_async(T* tile, const T* head, int64_t row_stride, int row0, int rows) {
  constexpr int kChunks = kD / 8;  // 16-byte chunks per row
  for (int c = threadIdx.x; c < kFlashTile * kChunks; c += kFlashThreads) {
    const int r = c / kChunks, col = (c % kChunks) * 8;
    const bool valid = row0 + r < rows;
    const T* src = valid ? head + (row0 + r) * row_stride + col : head;
    cp_async_16(tile + r * kPitch<kD> + col, src, valid);
  }
}

// rows x cols += A (16 x kK, from registers) * B^T where B is a [n][k] tile in shared
// memory: acc[nt] covers columns nt*8 .. nt*8+7, starting at row `b_row0` of B.
// `a` holds the kK/16 A fragments.
template <class T, int kK, int kN, int kPitchB>
__device__ __forceinline__ void mma_a_bt(float (&acc)[kN / 8][4], const uint32_t (&a)[kK / 16][4], const T* b,
                                         int lane) {
#pragma unroll
  for (int kk = 0; kk < kK / 16; ++kk) {
#pragma unroll
    for (int nn = 0; nn < kN / 16; ++nn) {
      uint32_t f[4];
      ldmatrix_x4(f, b + (nn * 16 + b_row(lane)) * kPitchB + kk * 16 + b_col(lane));
      mma_16816<T>(acc[2 * nn], a[kk], f[0], f[1]);
      mma_16816<T>(acc[2 * nn + 1], a[kk], f[2], f[3]);
    }
  }
}

// acc (16 x kN) += A (16 x kK, registers) * B where B is a [k][n] tile in shared memory.
template <class T, int kK, int kN, int kPitchB>
__device__ __forceinline__ void mma_a_b(float (&acc)[kN / 8][4], const uint32_t (&a)[kK / 16][4], const T* b,
                                        int lane) {
#pragma unroll
  for (int kk = 0; kk < kK / 16; ++kk) {
#pragma unroll
    for (int nn = 0; nn < kN / 16; ++nn) {
      uint32_t f[4];
      ldmatrix_x4_trans(f, b + (kk * 16 + trans_b_row(lane)) * kPitchB + nn * 16 + trans_b_col(lane));
      mma_16816<T>(acc[2 * nn], a[kk], f[0], f[1]);
      mma_16816<T>(acc[2 * nn + 1], a[kk], f[2], f[3]);
    }
  }
}

// The kK/16 A fragments of rows [0, 16) of a row-major [m][k] shared tile.
template <int kK, int kPitchA, class T>
__device__ __forceinline__ void load_a(uint32_t (&a)[kK / 16][4], const T* tile, int lane) {
#pragma unroll
  for (int kk = 0; kk < kK / 16; ++kk) ldmatrix_x4(a[kk], tile + a_row(lane) * kPitchA + kk * 16 + a_col(lane));
}

// Row stats of a warp's C fragments live with the four lanes of a quad (same g): these
// reduce over the quad.
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// Writes a warp's 16 x kD f32 fragments, times `factor`, as T to rows row0 .. row0+15
// (those below `rows`) of a contiguous [.., kD] matrix.
template <class T, int kD>
__device__ __forceinline__ void store_rows(T* dst, int row0, int rows, const float (&acc)[kD / 8][4],
                                           const float (&factor)[2], int lane) {
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = row0 + g + 8 * half;
    if (row >= rows) continue;
    uint32_t* out = reinterpret_cast<uint32_t*>(dst + static_cast<int64_t>(row) * kD);
#pragma unroll
    for (int nt = 0; nt < kD / 8; ++nt) {
      out[(nt * 8 + 2 * t) / 2] = pack2<T>(acc[nt][2 * half] * factor[half], acc[nt][2 * half + 1] * factor[half]);
    }
  }
}

}  // namespace subtb::cuda::attention

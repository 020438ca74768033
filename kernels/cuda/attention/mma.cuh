#pragma once
// The Ampere warp-level primitives of the tensor-core attention kernels (sm_80 and up),
// as inline PTX: cp.async (global -> shared without a register round trip),
// ldmatrix (shared -> the register fragments of mma) and mma.sync m16n8k16 with f32
// accumulators.
//
// Fragment layouts of mma.m16n8k16 (g = lane / 4, t = lane % 4), each register holding
// two 16-bit values, the lower column in the low half:
//   A (16 x 16, row-major)  a0: (g, 2t..2t+1)  a1: (g+8, 2t..)  a2: (g, 2t+8..)  a3: (g+8, 2t+8..)
//   B (16 x 8, k x n)       b0: (k 2t..2t+1, n g)  b1: (k 2t+8..2t+9, n g)
//   C (16 x 8, f32)         c0, c1: (g, 2t..2t+1)  c2, c3: (g+8, 2t..2t+1)
// A C fragment of two adjacent 8-column tiles therefore is, once packed to 16 bits, the
// A fragment of one 16-wide k step: softmax probabilities feed the next product
// without a trip through shared memory.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace subtb::cuda::attention {

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Copies 16 bytes global -> shared asynchronously; writes 16 zero bytes instead when
// !valid (rows past the end of a tensor), reading nothing from `src`.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N committed groups of this thread are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Four 8x8 matrices of 16-bit values; lane l gives the address of row l % 8 of matrix
// l / 8, and register r receives matrix r in the A/B fragment layout above (.trans:
// each matrix transposed on the way).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}

// Where lane `lane` points ldmatrix_x4 within a 16 x 16 block of a row-major [row][col]
// shared array, for the three ways the kernels read one:
//   a_*:       the block as an A fragment (rows = M, cols = K);
//   b_*:       the block as the B fragments of two n tiles, stored [n][k] (rows = N);
//   trans_b_*: with ldmatrix_x4_trans, the block as the B fragments of two n tiles,
//              stored [k][n] (rows = K).
// The registers then are {a0..a3}, or {b0, b1} of n tile 0 and {b0, b1} of n tile 1.
__device__ __forceinline__ int a_row(int lane) { return lane % 16; }
__device__ __forceinline__ int a_col(int lane) { return (lane / 16) * 8; }
__device__ __forceinline__ int b_row(int lane) { return lane % 8 + (lane / 16) * 8; }
__device__ __forceinline__ int b_col(int lane) { return (lane / 8 % 2) * 8; }
__device__ __forceinline__ int trans_b_row(int lane) { return lane % 16; }
__device__ __forceinline__ int trans_b_col(int lane) { return (lane / 16) * 8; }
// With ldmatrix_x4_trans, a block stored [k][m] (the transpose of the A operand) as an
// A fragment.
__device__ __forceinline__ int trans_a_row(int lane) { return lane % 8 + (lane / 16) * 8; }
__device__ __forceinline__ int trans_a_col(int lane) { return (lane / 8 % 2) * 8; }

// d += a * b for one 16 x 8 x 16 tile, 16-bit inputs (T: __nv_bfloat16 or __half).
template <class T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Two floats rounded to T and packed, `lo` in the low half.
template <class T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  uint32_t r;
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    memcpy(&r, &v, 4);
  } else {
    const __half2 v = __floats2half2_rn(lo, hi);
    memcpy(&r, &v, 4);
  }
  return r;
}

template <class T>
__device__ __forceinline__ float to_float(T x) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat162float(x);
  } else {
    return __half2float(x);
  }
}

// The A fragments of the k steps kk of a [16 x 2 * kTiles*8] C fragment array, rounded to T.
template <class T, int kTiles>
__device__ __forceinline__ void c_to_a(const float (&c)[kTiles][4], uint32_t (&a)[kTiles / 2][4]) {
#pragma unroll
  for (int kk = 0; kk < kTiles / 2; ++kk) {
    a[kk][0] = pack2<T>(c[2 * kk][0], c[2 * kk][1]);
    a[kk][1] = pack2<T>(c[2 * kk][2], c[2 * kk][3]);
    a[kk][2] = pack2<T>(c[2 * kk + 1][0], c[2 * kk + 1][1]);
    a[kk][3] = pack2<T>(c[2 * kk + 1][2], c[2 * kk + 1][3]);
  }
}

}  // namespace subtb::cuda::attention

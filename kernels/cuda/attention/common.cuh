#pragma once
// What every CUDA attention kernel shares: the problem's sizes, the strided operands, the
// key-visibility rule of tensor/ops/attention.h, and the grid layout.
//
// Index conventions: b batch, h query head, hk = h / group its key/value head, i a query
// row (0 <= i < Tq), j a key row (0 <= j < Tk). "bh" numbers the (b, h) pairs of q, out
// and lse; "bhk" the (b, hk) pairs of k and v.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace subtb::cuda::attention {

// A strided [B, H, T, D] operand whose last dim is contiguous.
template <class T>
struct Heads {
  T* data = nullptr;
  int64_t sb = 0, sh = 0, st = 0;
  __device__ __forceinline__ T* row(int b, int h, int t) const { return data + b * sb + h * sh + t * st; }
};

struct Problem {
  int batch = 0, heads_q = 0, heads_kv = 0, tq = 0, tk = 0, dim = 0;
  bool causal = false;
  // The masks, each optional (null pointer): key_lengths [B] i64 and key_mask [B, Tk].
  const int64_t* lengths = nullptr;
  int64_t lengths_stride = 0;
  const bool* key_mask = nullptr;
  int64_t mask_sb = 0, mask_sj = 0;

  __host__ __device__ int group() const { return heads_q / heads_kv; }

  // Keys at or past this index are hidden from every query of batch b.
  __device__ __forceinline__ int key_end(int b) const {
    if (lengths == nullptr) return tk;
    const int64_t n = lengths[b * lengths_stride];
    return n < tk ? static_cast<int>(n) : tk;
  }
  // Keys at or past this index are hidden from the queries up to row i_last (causal only):
  // query i sits at key position i + (Tk - Tq), bottom-right aligned.
  __device__ __forceinline__ int causal_end(int i_last) const { return causal ? i_last + 1 + (tk - tq) : tk; }
  // The keys of [0, end) that queries m0 .. m0 + rows - 1 may see, before the key mask.
  __device__ __forceinline__ int visible_end(int b, int m0, int rows) const {
    const int i_last = min(m0 + rows, tq) - 1;
    return max(0, min(key_end(b), causal_end(i_last)));
  }
  __device__ __forceinline__ bool visible(int b, int i, int j) const {
    if (j >= key_end(b)) return false;
    if (causal && j > i + (tk - tq)) return false;
    return key_mask == nullptr || key_mask[b * mask_sb + j * mask_sj];
  }
  // Whether some pair (i, j) of the tile [m0, m0 + rows) x [n0, n0 + cols) can be hidden,
  // so that the tile needs the per-element rule. Queries past Tq need no mask: they are
  // never written.
  __device__ __forceinline__ bool tile_needs_mask(int b, int m0, int n0, int cols) const {
    return key_mask != nullptr || n0 + cols > key_end(b) || (causal && n0 + cols - 1 > m0 + (tk - tq));
  }
};

template <class T>
inline constexpr T neg_inf = -std::numeric_limits<T>::infinity();
template <class T>
inline constexpr T pos_inf = std::numeric_limits<T>::infinity();

// Grids: x walks the row tiles of one head, so that the CTAs resident at once share
// their head's k and v in L2; the heads (up to 2^31) spread over y and z, since y alone
// stops at 65535.
inline constexpr int kMaxGridY = 65535;

inline dim3 tiles_by_heads(int tiles, int heads) {
  return dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(std::min(heads, kMaxGridY)),
              static_cast<unsigned>((heads + kMaxGridY - 1) / kMaxGridY));
}

inline bool empty_grid(dim3 grid) { return grid.x == 0 || grid.y == 0 || grid.z == 0; }

// The head index of this CTA under tiles_by_heads; >= the head count for the spare CTAs
// of the last z slice.
__device__ __forceinline__ int grid_head() { return static_cast<int>(blockIdx.z * gridDim.y + blockIdx.y); }

inline constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace subtb::cuda::attention

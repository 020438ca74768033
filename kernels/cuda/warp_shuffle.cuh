#pragma once
// Warp shuffles of accumulators of any size that is a multiple of 4 bytes (pairs, small
// structs), moved as 32-bit words: what the reduce and scan engines combine across lanes.
#include <cuda_runtime.h>

#include <cstring>

namespace subtb::cuda {

// `a` with each 32-bit word replaced by shuffle(word); every lane of the warp must call it.
template <class V, class Shuffle>
__device__ __forceinline__ V shuffle_words(const V& a, Shuffle shuffle) {
  static_assert(sizeof(V) % 4 == 0, "warp shuffles move 32-bit words");
  constexpr int kWords = sizeof(V) / 4;
  int w[kWords];
  memcpy(w, &a, sizeof(V));
#pragma unroll
  for (int i = 0; i < kWords; ++i) w[i] = shuffle(w[i]);
  V r;
  memcpy(&r, w, sizeof(V));
  return r;
}

// The value of lane + delta (lanes past the warp's end keep their own).
template <class V>
__device__ __forceinline__ V shfl_down(const V& a, int delta) {
  return shuffle_words(a, [delta](int w) { return __shfl_down_sync(0xffffffffu, w, delta); });
}

// The value of lane - delta (lanes below delta keep their own).
template <class V>
__device__ __forceinline__ V shfl_up(const V& a, int delta) {
  return shuffle_words(a, [delta](int w) { return __shfl_up_sync(0xffffffffu, w, delta); });
}

}  // namespace subtb::cuda

#pragma once
// Shared pieces of the CPU attention kernels (attention_forward.cpp,
// attention_backward.cpp): strided head access, the visibility rule of the masks, the
// tile sizes and BLAS on tiles. docs/attention.md walks through the algorithm.
//
// Operands are [B, H, T, D] with a contiguous last dim and rows that do not overlap
// (row stride >= D), so a tile of rows is a BLAS matrix with leading dimension = the row
// stride: the [B, T, H, D] layout viewed through transpose(1, 2) needs no copy.
#include <cblas.h>

#include <algorithm>
#include <cstdint>

#include "tensor/tensor.h"

namespace subtb::cpu::attention {

// Queries per tile, and keys per tile in the forward and in the backward. The forward's
// [64, 256] score tile and [64, D] accumulator stay in L2, and its longer key tiles make
// fewer, larger gemms (about 10% faster than 64 keys); the backward's [64, 64] tiles keep
// the causal triangle's ragged edge small and give more tasks.
inline constexpr int64_t kQueryTile = 64;
inline constexpr int64_t kForwardKeyTile = 256;
inline constexpr int64_t kBackwardKeyTile = 64;

// Backward splits the key tiles of each (batch, key/value head) into this many parts
// (each with its own dQ buffer, added in order at the end) so that there are at least
// kMinBackwardTasks tasks. The count depends on the shapes only, never on the thread
// count, so that backward's sums run in the same order on every machine.
inline constexpr int64_t kMinBackwardTasks = 16;
inline int64_t backward_splits(int64_t batch_kv_heads, int64_t key_tiles) {
  const int64_t wanted = (kMinBackwardTasks + batch_kv_heads - 1) / std::max<int64_t>(batch_kv_heads, 1);
  return std::clamp<int64_t>(wanted, 1, std::max<int64_t>(key_tiles, 1));
}

// Strided [B, H, T, D] operand with a contiguous last dim; data is null for an undefined
// tensor (a gradient that is not wanted).
template <class T>
struct Heads {
  T* data = nullptr;
  int64_t sb = 0, sh = 0, st = 0;
  Heads() = default;
  static Heads of(const Tensor& t) { return t.defined() ? Heads(t) : Heads(); }
  explicit Heads(const Tensor& t)
      : data(static_cast<T*>(t.raw_data())),
        sb(t.strides()[0]),
        sh(t.strides()[1]),
        st(t.shape()[2] > 1 ? t.strides()[2] : t.shape()[3]) {
    SUBTB_CHECK(st <= INT32_MAX, "attention: row stride ", st, " of ", describe(t), " exceeds the BLAS index range");
  }
  T* row(int64_t b, int64_t h, int64_t t) const { return data + b * sb + h * sh + t * st; }
  blasint ld() const { return static_cast<blasint>(st); }
};

// Which keys query i of batch b sees: j < end(b, i) and, with a key mask, mask[b, j].
// end(b, i) grows with i, so the last query of a tile bounds the keys the tile reads.
class Visibility {
 public:
  Visibility(const Tensor& key_lengths, const Tensor& key_mask, int64_t tq, int64_t tk, bool causal);

  int64_t end(int64_t b, int64_t i) const {
    int64_t e = lengths_ ? lengths_[b * lengths_stride_] : tk_;
    if (causal_) e = std::min(e, i + (tk_ - tq_) + 1);  // bottom-right aligned
    return std::clamp<int64_t>(e, 0, tk_);
  }
  bool has_mask() const { return mask_ != nullptr; }
  bool visible(int64_t b, int64_t j) const { return mask_[b * mask_sb_ + j * mask_sj_]; }

 private:
  const int64_t* lengths_ = nullptr;
  int64_t lengths_stride_ = 0;
  const bool* mask_ = nullptr;
  int64_t mask_sb_ = 0, mask_sj_ = 0;
  int64_t tq_, tk_;
  bool causal_;
};

// c = alpha * op(a) op(b) + beta * c, row-major.
inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, blasint lda,
                 const float* b, blasint ldb, float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, blasint lda,
                 const double* b, blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, lda, b, ldb, beta, c, ldc);
}

// The kernels for C = float or double (attention_forward.cpp, attention_backward.cpp).
// Shapes as in Backend::attention; every tensor here is of dtype C except the masks and
// lse, which is C too.
template <class C>
void forward(const Tensor& q, const Tensor& k, const Tensor& v, const Visibility& vis, C scale, const Tensor& out,
             const Tensor& lse);
template <class C>
void backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& grad_out,
              const Tensor& lse, const Visibility& vis, C scale, const Tensor& grad_q, const Tensor& grad_k,
              const Tensor& grad_v);

}  // namespace subtb::cpu::attention

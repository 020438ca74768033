#pragma once
// A key/value cache for incremental decoding: per layer, preallocated key and value
// buffers [B, Hkv, max_len, D] of which the first length() positions are filled.
//
// Padded batches are LEFT-padded: every row's newest token sits in the same column, so
// one forward appends the same number of columns to every row. Which columns hold real
// tokens is recorded per row (valid(): [B, max_len] bool) and becomes the attention's
// key_mask; each row's count of real tokens gives the position (for RoPE) of its next
// token, so a padded row computes what it would unpadded.
//
// The cache serves inference: keys and values are copied in without autograd history.
#include <cstdint>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace subtb::nn {

// The position of each token of a [B, T] batch: the number of real tokens before it in
// its row, plus earlier[b] (real tokens that came before the batch, e.g. in a cache). A
// padding column repeats its row's previous position (0 if none); it is masked anyway.
// valid: [B, T] bool or undefined (all real); earlier: B counts or empty (zeros).
// Returns [B, T] i64 on valid's device (the CPU when valid is undefined).
Tensor token_positions(const Tensor& valid, int64_t B, int64_t T, const std::vector<int64_t>& earlier = {});

class KVCache {
 public:
  KVCache(int64_t n_layers, int64_t batch, int64_t n_kv_heads, int64_t max_len, int64_t head_dim,
          DType dtype = DType::f32, Device device = kCPU);

  int64_t n_layers() const { return static_cast<int64_t>(keys_.size()); }
  int64_t batch() const { return valid_.shape()[0]; }
  int64_t max_len() const { return valid_.shape()[1]; }
  int64_t length() const { return length_; }

  // ----- one forward of T new columns, as a model drives it. new_valid: [B, T] bool
  // (true = a real token), or undefined for all real.
  // The RoPE positions of the new columns ([B, T] i64, see token_positions), counting
  // the real tokens already cached. Call it before extend_mask, which counts the new ones.
  Tensor positions_for(const Tensor& new_valid, int64_t T) const;
  // Records the new columns' validity and returns the key mask over every filled column
  // and the new ones: [B, length() + T] bool.
  Tensor extend_mask(const Tensor& new_valid, int64_t T);
  // Writes the layer's new keys and values ([B, Hkv, T, D]) at columns [length(),
  // length() + T) and returns views of columns [0, length() + T).
  std::pair<Tensor, Tensor> append(int64_t layer, const Tensor& k, const Tensor& v);
  // Ends the forward: length() grows by T.
  void advance(int64_t T);

  // Empties the cache (the buffers are kept).
  void reset();

  const Tensor& valid() const { return valid_; }

 private:
  std::vector<Tensor> keys_, values_;  // per layer [B, Hkv, max_len, D]
  Tensor valid_;                       // [B, max_len] bool
  std::vector<int64_t> real_tokens_;   // per row, in the filled columns
  int64_t length_ = 0;
};

}  // namespace subtb::nn

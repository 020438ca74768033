#pragma once
// Scaled dot-product attention, one fused primitive with autograd.
//
// Layout: q: [B, Hq, Tq, D], k and v: [B, Hkv, Tk, D], out: [B, Hq, Tq, D]. Any strides
// are accepted as long as the last dim is contiguous, so the [B, T, H, D] layout of a
// projection's output, viewed with transpose(1, 2), costs no copy. Hq must be a multiple
// of Hkv (grouped-query attention: query head h reads key/value head h / (Hq / Hkv)).
//
// Masks combine: a key j is visible to query i of batch b when
//   - j < key_lengths[b] (if key_lengths is given), and
//   - key_mask[b, j] is true (if key_mask is given), and
//   - j <= i + (Tk - Tq) (if causal: bottom-right aligned, as when decoding with a KV
//     cache holding Tk - Tq earlier positions).
// A query that sees no key at all gets an output of exactly 0 (never NaN), a log-sum-exp
// of -inf, and zero gradients.
#include <optional>

#include "tensor/tensor.h"

namespace subtb {

struct AttentionOptions {
  bool causal = false;
  std::optional<double> scale;  // defaults to 1 / sqrt(D)
  Tensor key_lengths;           // [B] i64 in [0, Tk], or undefined
  Tensor key_mask;              // [B, Tk] bool, true = the key takes part; or undefined
  // Backward without atomics: dK and dV are reduced in a fixed order (CUDA; the CPU is
  // always deterministic).
  bool deterministic = false;
};

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

// The same attention as a composite of simple ops (matmul, masked softmax, matmul): it
// materialises the [B, Hq, Tq, Tk] scores. It is the oracle of the tests and the
// baseline of bench/attention.
Tensor scaled_dot_product_attention_composite(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionOptions& options = {});

}  // namespace subtb

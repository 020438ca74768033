// CPU attention entry points: dtype dispatch to the tiled f32/f64 kernels
// (attention_forward.cpp, attention_backward.cpp). bf16 and f16 compute in f32 through
// converted copies of the operands (the CPU has no fast 16-bit arithmetic; the copies
// are O(T * D), like the operands), and their lse is f32 as for f32 inputs.
#include "kernels/cpu/attention_tiles.h"
#include "kernels/cpu/cpu_backend.h"

namespace subtb::cpu {

namespace attention {

Visibility::Visibility(const Tensor& key_lengths, const Tensor& key_mask, int64_t tq, int64_t tk, bool causal)
    : tq_(tq), tk_(tk), causal_(causal) {
  if (key_lengths.defined()) {
    lengths_ = key_lengths.data<int64_t>();
    lengths_stride_ = key_lengths.strides()[0];
  }
  if (key_mask.defined()) {
    mask_ = key_mask.data<bool>();
    mask_sb_ = key_mask.strides()[0];
    mask_sj_ = key_mask.strides()[1];
  }
}

}  // namespace attention

namespace {

bool is_16bit(const Tensor& t) { return t.defined() && (t.dtype() == DType::bf16 || t.dtype() == DType::f16); }

// An f32 copy of a 16-bit input; other tensors (and undefined ones) as they are.
Tensor widened(const Tensor& t) {
  if (!is_16bit(t)) return t;
  Tensor wide = make_tensor(t.shape(), DType::f32, kCPU);
  cpu_backend().copy(t, wide);
  return wide;
}

// Where the f32 kernels write a 16-bit output before it is rounded into place.
Tensor widened_output(const Tensor& t) { return is_16bit(t) ? make_tensor(t.shape(), DType::f32, kCPU) : t; }

void round_into(const Tensor& wide, const Tensor& out) {
  if (is_16bit(out)) cpu_backend().copy(wide, out);
}

}  // namespace

void CpuBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                           const Tensor& key_mask, const AttentionParams& params, const Tensor& out,
                           const Tensor& lse) {
  if (out.numel() == 0) return;
  const attention::Visibility vis(key_lengths, key_mask, q.shape()[2], k.shape()[2], params.causal);
  const Tensor wout = widened_output(out);
  if (q.dtype() == DType::f64)
    attention::forward<double>(q, k, v, vis, params.scale, out, lse);
  else
    attention::forward<float>(widened(q), widened(k), widened(v), vis, static_cast<float>(params.scale), wout, lse);
  round_into(wout, out);
}

void CpuBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                    const Tensor& grad_out, const Tensor& lse, const Tensor& key_lengths,
                                    const Tensor& key_mask, const AttentionParams& params, const Tensor& grad_q,
                                    const Tensor& grad_k, const Tensor& grad_v) {
  const attention::Visibility vis(key_lengths, key_mask, q.shape()[2], k.shape()[2], params.causal);
  const Tensor gq = widened_output(grad_q), gk = widened_output(grad_k), gv = widened_output(grad_v);
  if (q.dtype() == DType::f64)
    attention::backward<double>(q, k, v, out, grad_out, lse, vis, params.scale, grad_q, grad_k, grad_v);
  else
    attention::backward<float>(widened(q), widened(k), widened(v), widened(out), widened(grad_out), lse, vis,
                               static_cast<float>(params.scale), gq, gk, gv);
  round_into(gq, grad_q);
  round_into(gk, grad_k);
  round_into(gv, grad_v);
}

}  // namespace subtb::cpu

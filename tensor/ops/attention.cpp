// scaled_dot_product_attention: argument checks, the fused op and its vjp, and the
// composite of simple ops that serves as the tests' oracle and the benchmarks' baseline.
//
// The fused forward saves the row log-sum-exp (lse) of the scaled, masked scores next to
// the output, so that backward recomputes each probability as exp(s - lse) tile by tile
// instead of keeping the [B, Hq, Tq, Tk] matrix alive between the passes.
#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

namespace {

using autograd::Node;
using autograd::SavedTensor;

// Checks q, k, v and the masks of one attention call (tensor/ops/attention.h states the
// contract). Reads key_lengths on the host for the range check.
void check_attention_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                          const AttentionOptions& options) {
  SUBTB_CHECK(q.defined() && k.defined() && v.defined(), op, ": q, k and v must all be defined");
  detail::check_floating(op, q);
  detail::check_same_dtype(op, q, k);
  detail::check_same_dtype(op, q, v);
  detail::check_same_device(op, q, k);
  detail::check_same_device(op, q, v);
  SUBTB_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, op,
              ": expected q [B, Hq, Tq, D], k and v [B, Hkv, Tk, D], got q ", describe(q), ", k ", describe(k), ", v ",
              describe(v));
  SUBTB_CHECK(k.shape() == v.shape(), op, ": k ", describe(k), " and v ", describe(v), " must have the same shape");
  SUBTB_CHECK(q.shape()[0] == k.shape()[0], op, ": batch sizes differ: q ", describe(q), " and k ", describe(k));
  SUBTB_CHECK(q.shape()[3] == k.shape()[3], op, ": head dims differ: q ", describe(q), " and k ", describe(k), " (",
              q.shape()[3], " != ", k.shape()[3], ")");
  SUBTB_CHECK(q.shape()[3] > 0, op, ": the head dim D of q ", describe(q), " must be positive");
  const int64_t hq = q.shape()[1], hkv = k.shape()[1];
  SUBTB_CHECK(hkv > 0 && hq % hkv == 0, op, ": the query heads of q ", describe(q),
              " must be a multiple of the key/value heads of k ", describe(k), " (", hq, " % ", hkv, " != 0)");
  if (options.scale) SUBTB_CHECK(std::isfinite(*options.scale), op, ": scale must be finite, got ", *options.scale);

  const int64_t batch = q.shape()[0], tk = k.shape()[2];
  if (const Tensor& lengths = options.key_lengths; lengths.defined()) {
    detail::check_same_device(op, q, lengths);
    detail::check_dtype(op, lengths, DType::i64, "key_lengths");
    SUBTB_CHECK(lengths.shape() == Shape{batch}, op, ": key_lengths ", describe(lengths), " must be [", batch,
                "] (one length per batch entry of q ", describe(q), ")");
    if (std::optional<int64_t> bad = detail::first_out_of_range(lengths, tk + 1))
      SUBTB_THROW(op, ": key_lengths holds ", *bad, ", outside [0, ", tk, "] (Tk of k ", describe(k), ")");
  }
  if (const Tensor& mask = options.key_mask; mask.defined()) {
    detail::check_same_device(op, q, mask);
    detail::check_dtype(op, mask, DType::b8, "key_mask");
    SUBTB_CHECK(mask.shape() == (Shape{batch, tk}), op, ": key_mask ", describe(mask), " must be [", batch, ", ", tk,
                "] ([B, Tk] of q ", describe(q), " and k ", describe(k), ")");
  }
}

AttentionParams attention_params(const Tensor& q, const AttentionOptions& options) {
  const double scale = options.scale ? *options.scale : 1.0 / std::sqrt(static_cast<double>(q.shape()[3]));
  return AttentionParams{.scale = scale, .causal = options.causal, .deterministic = options.deterministic};
}

// The kernels read rows of D contiguous, non-overlapping elements; other strides are
// free. Anything else (a broadcast gradient, a strided last dim) is copied once.
Tensor with_contiguous_rows(const Tensor& t) {
  const bool rows_ok =
      (t.strides()[3] == 1 || t.shape()[3] <= 1) && (t.shape()[2] <= 1 || t.strides()[2] >= t.shape()[3]);
  return rows_ok ? t : t.contiguous();
}

Tensor grad_like(bool wanted, const Tensor& t) {
  return wanted ? make_tensor(t.shape(), t.dtype(), t.device()) : Tensor();
}

class AttentionBackward final : public Node {
 public:
  AttentionBackward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                    const AttentionOptions& options, const AttentionParams& params)
      : q_(q),
        k_(k),
        v_(v),
        out_(out),
        lse_(lse),
        key_lengths_(options.key_lengths),
        key_mask_(options.key_mask),
        params_(params) {}
  const char* name() const override { return "scaled_dot_product_attention"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    if (!g[0].defined()) return {};
    const Tensor q = q_.unpack(name()), k = k_.unpack(name()), v = v_.unpack(name());
    Tensor grad_q = grad_like(next[0].valid(), q);
    Tensor grad_k = grad_like(next[1].valid(), k);
    Tensor grad_v = grad_like(next[2].valid(), v);
    backend(q.device())
        .attention_backward(q, k, v, out_.unpack(name()), with_contiguous_rows(g[0]), lse_.unpack(name()),
                            key_lengths_.unpack(name()), key_mask_.unpack(name()), params_, grad_q, grad_k, grad_v);
    return {grad_q, grad_k, grad_v};
  }
  void release() override {
    q_.reset();
    k_.reset();
    v_.reset();
    out_.reset();
    lse_.reset();
    key_lengths_.reset();
    key_mask_.reset();
  }

 private:
  SavedTensor q_, k_, v_, out_, lse_, key_lengths_, key_mask_;
  AttentionParams params_;
};

// Which keys each query sees, as a bool tensor that broadcasts against the scores
// [B, Hkv, G, Tq, Tk]; undefined when every key is visible to every query.
Tensor visibility(const Tensor& q, const Tensor& k, const AttentionOptions& options) {
  const int64_t batch = q.shape()[0], tq = q.shape()[2], tk = k.shape()[2];
  Tensor visible;
  const auto combine = [&](const Tensor& m) { visible = visible.defined() ? logical_and(visible, m) : m; };
  const Tensor key_index = arange(tk, DType::i64, q.device());  // [Tk]
  if (options.key_lengths.defined()) combine(lt(key_index, options.key_lengths.reshape({batch, 1})));
  if (options.key_mask.defined()) combine(options.key_mask);
  if (visible.defined()) visible = visible.reshape({batch, 1, 1, 1, tk});
  if (options.causal) {
    // Bottom-right aligned: query i sits at position i + (Tk - Tq) of the keys.
    const Tensor query_pos = add(arange(tq, DType::i64, q.device()), static_cast<double>(tk - tq)).reshape({tq, 1});
    combine(le(key_index, query_pos));  // [Tq, Tk]
  }
  return visible;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                    const AttentionOptions& options) {
  constexpr const char* op = "scaled_dot_product_attention";
  check_attention_args(op, q_in, k_in, v_in, options);
  const Tensor q = with_contiguous_rows(q_in), k = with_contiguous_rows(k_in), v = with_contiguous_rows(v_in);
  const AttentionParams params = attention_params(q, options);
  const Shape& qs = q.shape();
  Tensor out = make_tensor(qs, q.dtype(), q.device());
  Tensor lse = make_tensor({qs[0], qs[1], qs[2]}, q.dtype() == DType::f64 ? DType::f64 : DType::f32, q.device());
  backend(q.device()).attention(q, k, v, options.key_lengths, options.key_mask, params, out, lse);
  if (autograd::needs_grad({&q, &k, &v}))
    autograd::record(std::make_shared<AttentionBackward>(q, k, v, out, lse, options, params), {&q, &k, &v}, {&out});
  return out;
}

Tensor scaled_dot_product_attention_composite(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionOptions& options) {
  check_attention_args("scaled_dot_product_attention_composite", q, k, v, options);
  const double scale = attention_params(q, options).scale;
  const int64_t batch = q.shape()[0], hq = q.shape()[1], tq = q.shape()[2], d = q.shape()[3];
  const int64_t hkv = k.shape()[1], group = hq / hkv;
  // Grouped-query attention without copying k and v: the query heads of one group share
  // a key/value head, so q is split as [B, Hkv, G, Tq, D] and k, v broadcast over G.
  const Tensor q5 = q.reshape({batch, hkv, group, tq, d});
  const Tensor k5 = k.unsqueeze(2), v5 = v.unsqueeze(2);
  Tensor scores = mul(matmul(q5, k5.transpose(-2, -1)), scale);  // [B, Hkv, G, Tq, Tk]
  const Tensor visible = visibility(q, k, options);
  if (!visible.defined()) return matmul(softmax(scores, -1), v5).reshape({batch, hq, tq, d});
  // Hidden keys score -inf. A query that sees no key would then take the softmax of an
  // all -inf row (NaN); its scores are replaced by zeros before the softmax and its
  // probabilities by zeros after, so that its output and gradients are exactly 0.
  scores = where(visible, scores, -std::numeric_limits<double>::infinity());
  scores = where(any(visible, {-1}, true), scores, 0.0);
  const Tensor probs = where(visible, softmax(scores, -1), 0.0);
  return matmul(probs, v5).reshape({batch, hq, tq, d});
}

}  // namespace subtb

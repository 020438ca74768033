#pragma once
// Shared by the attention tests (test_attention.cpp on every device, test_attention_cuda.cpp
// on the GPU's kernels): the test cases' shapes and masks, running a path forward and
// backward, and FlashAttention's accuracy rule,
//   |fused - ref64| <= 2 |composite - ref64| + eps,
// ref64 being the composite of simple ops in f64 on the CPU and `composite` the same
// composite in the fused op's dtype.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "tests/support/test_util.h"

namespace subtb::attention_testing {

struct Case {
  const char* name;
  int64_t batch, hq, hkv, tq, tk, d;
  bool causal = false;
  std::vector<int64_t> key_lengths = {};  // one per batch entry, or empty
  std::vector<int> key_mask = {};         // [B, Tk] of 0/1, or empty
  bool transposed = false;                // q, k, v as [B, T, H, D] views
};

// A [B, H, T, D] input of p's dtype and device, made as [B, T, H, D] and viewed through
// transpose(1, 2) when the case asks for strided heads.
inline Tensor heads_input(const Case& c, int64_t h, int64_t t, testing::DeviceDType p, uint64_t seed) {
  if (!c.transposed) return testing::random_input({c.batch, h, t, c.d}, p, seed, 1.0);
  return testing::random_input({c.batch, t, h, c.d}, p, seed, 1.0).transpose(1, 2);
}

// A case's q, k, v and upstream gradient [B, Hq, Tq, D], seeded 1 to 4.
struct Inputs {
  Tensor q, k, v, g;
};

inline Inputs case_inputs(const Case& c, testing::DeviceDType p) {
  return {heads_input(c, c.hq, c.tq, p, 1), heads_input(c, c.hkv, c.tk, p, 2), heads_input(c, c.hkv, c.tk, p, 3),
          testing::random_input({c.batch, c.hq, c.tq, c.d}, p, 4, 1.0)};
}

inline AttentionOptions options_on(const Case& c, Device device, bool deterministic = false) {
  AttentionOptions o;
  o.causal = c.causal;
  o.deterministic = deterministic;
  if (!c.key_lengths.empty()) o.key_lengths = from_vector<int64_t>(c.key_lengths).to(device);
  if (!c.key_mask.empty()) {
    const std::vector<double> m(c.key_mask.begin(), c.key_mask.end());
    o.key_mask = from_vector<double>(m, {c.batch, c.tk}).to(DType::b8).to(device);
  }
  return o;
}

// The output and gradients of one attention path for upstream gradient g.
struct Result {
  Tensor out, grad_q, grad_k, grad_v;
};

template <class F>
Result run(F attention, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const AttentionOptions& o) {
  Tensor qr = q.detach().requires_grad_(), kr = k.detach().requires_grad_(), vr = v.detach().requires_grad_();
  Tensor out = attention(qr, kr, vr, o);
  out.backward(g);
  return {out.detach(), qr.grad(), kr.grad(), vr.grad()};
}

inline Tensor to_f64(const Tensor& t) { return t.detach().to(kCPU).to(DType::f64); }

// A NaN counts as an infinite difference.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = testing::values(a), y = testing::values(b);
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i)
    m = std::max(m, std::isnan(x[i]) ? std::numeric_limits<double>::infinity() : std::abs(x[i] - y[i]));
  return m;
}

inline double max_abs(const Tensor& a) {
  double m = 0;
  for (double x : testing::values(a)) m = std::max(m, std::abs(x));
  return m;
}

// FlashAttention's rule on the output and the three gradients, eps scaled to the
// reference's magnitude at `dtype`'s tolerance; the fused results must be on `device`.
inline void expect_meets_flash_rule(const Result& fused, const Result& composite, const Result& ref, DType dtype,
                                    Device device) {
  const std::pair<const char*, Tensor Result::*> fields[] = {
      {"out", &Result::out}, {"grad_q", &Result::grad_q}, {"grad_k", &Result::grad_k}, {"grad_v", &Result::grad_v}};
  for (const auto& [name, field] : fields) {
    const Tensor& r = ref.*field;
    ASSERT_EQ((fused.*field).shape(), r.shape()) << name;
    ASSERT_EQ((fused.*field).device(), device) << name;
    const double eps = testing::tolerance(dtype) * std::max(1.0, max_abs(r));
    const double fused_err = max_abs_diff(fused.*field, r), composite_err = max_abs_diff(composite.*field, r);
    EXPECT_LE(fused_err, 2 * composite_err + eps)
        << name << ": fused error " << fused_err << ", composite error " << composite_err;
  }
}

}  // namespace subtb::attention_testing

// Elementwise CPU kernels: one inline functor per op (scalar math in elementwise_math.h),
// run through cpu::map (loops.h), which keeps unit-stride rows as plain loops the compiler
// vectorises and spreads large inputs over OpenMP threads. 16-bit floats compute in f32.
//
// Ops are grouped by the dtypes they are defined for; each group returns false for an op
// it does not know, so a dispatcher tries the groups that apply to the dtype in turn.
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/elementwise_math.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/vec.h"

namespace subtb::cpu {

namespace {

template <class T>
constexpr bool is_float_v = std::is_floating_point_v<compute_t<T>>;

// out = f(x) with f on compute_t<T>; the result converts back to T (or is a bool).
template <class T, class Out = T, class F>
bool unary_map(const Tensor& x, const Tensor& out, F f) {
  using C = compute_t<T>;
  map<Out, T>(out, [f](T v) { return Out(f(static_cast<C>(v))); }, x);
  return true;
}

template <class T, class Out = T, class F>
bool binary_map(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  using C = compute_t<T>;
  map<Out, T, T>(out, [f](T u, T v) { return Out(f(static_cast<C>(u), static_cast<C>(v))); }, a, b);
  return true;
}

// exp over contiguous f32 with the vector exp of vec.h (within 3 ulp; results that would
// be subnormal, below about 1.2e-38, flush to 0), eight lanes at a time: libm's scalar exp
// made this op several times slower than a memory-bound one.
SUBTB_MULTIVERSION void exp_f32_span(const float* x, float* y, int64_t n) {
  constexpr int64_t W = vec::kLanes<float>;
  int64_t i = 0;
  for (; i + W <= n; i += W) vec::store(y + i, vec::exp(vec::load(x + i)));
  if (i < n) vec::store_partial(y + i, vec::exp(vec::load_partial(x + i, n - i, 0.0f)), n - i);
}

// sigmoid as math::sigmoid computes it, with the vector exp: e = exp(-|x|), then 1 / (1 + e)
// for x >= 0 and e / (1 + e) below. NaN stays NaN.
[[gnu::always_inline]] inline vec::Vec<float> sigmoid(vec::Vec<float> x) {
  const vec::Vec<float> e = vec::exp(x < 0.0f ? x : -x);
  const vec::Vec<float> s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

// silu and its gradient over contiguous f32, eight lanes at a time: with libm's scalar
// expf, SiLU and its backward were the costliest maps of a SwiGLU transformer's step.
SUBTB_MULTIVERSION void silu_f32_span(const float* x, float* y, int64_t n) {
  constexpr int64_t W = vec::kLanes<float>;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const vec::Vec<float> v = vec::load(x + i);
    vec::store(y + i, v * sigmoid(v));
  }
  if (i < n) {
    const vec::Vec<float> v = vec::load_partial(x + i, n - i, 0.0f);
    vec::store_partial(y + i, v * sigmoid(v), n - i);
  }
}

SUBTB_MULTIVERSION void silu_grad_f32_span(const float* x, const float* g, float* y, int64_t n) {
  constexpr int64_t W = vec::kLanes<float>;
  const auto grad = [](vec::Vec<float> v, vec::Vec<float> gv) __attribute__((always_inline)) {
    const vec::Vec<float> s = sigmoid(v);
    return gv * s * (1.0f + v * (1.0f - s));
  };
  int64_t i = 0;
  for (; i + W <= n; i += W) vec::store(y + i, grad(vec::load(x + i), vec::load(g + i)));
  if (i < n) {
    vec::store_partial(y + i, grad(vec::load_partial(x + i, n - i, 0.0f), vec::load_partial(g + i, n - i, 0.0f)),
                       n - i);
  }
}

// span(b, e) over [0, n), split across the OpenMP threads when n is large enough.
template <class Span>
void parallel_spans(int64_t n, Span span) {
  if (n < kParallelThreshold || omp_get_max_threads() == 1) {
    span(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
    const int64_t b = n * t / T, e = n * (t + 1) / T;
    if (b < e) span(b, e);
  }
}

void exp_f32_contiguous(const float* x, float* y, int64_t n) {
  parallel_spans(n, [=](int64_t b, int64_t e) { exp_f32_span(x + b, y + b, e - b); });
}

// Whether the vector spans apply: every tensor f32 and of the one shape (no broadcasting),
// out contiguous. Strided inputs are copied to contiguous ones first, so that a result
// never depends on the layout of the input.
template <class... Ts>
bool vector_f32(const Tensor& out, const Ts&... ins) {
  const auto fits = [&](const Tensor& t) { return t.dtype() == DType::f32 && t.shape() == out.shape(); };
  return fits(out) && out.is_contiguous() && (fits(ins) && ...);
}

// ----- unary

template <class T>
bool floating_unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) {
  using C = compute_t<T>;
  switch (op) {
    case UnaryOp::exp:
      if constexpr (std::is_same_v<T, float>) {
        if (x.is_contiguous() && out.is_contiguous()) {
          exp_f32_contiguous(x.data<float>(), out.data<float>(), x.numel());
          return true;
        }
      }
      return unary_map<T>(x, out, [](C v) { return std::exp(v); });
    case UnaryOp::log: return unary_map<T>(x, out, [](C v) { return std::log(v); });
    case UnaryOp::log1p: return unary_map<T>(x, out, [](C v) { return std::log1p(v); });
    case UnaryOp::expm1: return unary_map<T>(x, out, [](C v) { return std::expm1(v); });
    case UnaryOp::sqrt: return unary_map<T>(x, out, [](C v) { return std::sqrt(v); });
    case UnaryOp::rsqrt: return unary_map<T>(x, out, [](C v) { return C(1) / std::sqrt(v); });
    case UnaryOp::reciprocal: return unary_map<T>(x, out, [](C v) { return C(1) / v; });
    case UnaryOp::sin: return unary_map<T>(x, out, [](C v) { return std::sin(v); });
    case UnaryOp::cos: return unary_map<T>(x, out, [](C v) { return std::cos(v); });
    case UnaryOp::floor: return unary_map<T>(x, out, [](C v) { return std::floor(v); });
    case UnaryOp::ceil: return unary_map<T>(x, out, [](C v) { return std::ceil(v); });
    case UnaryOp::round: return unary_map<T>(x, out, [](C v) { return std::nearbyint(v); });  // half to even
    // `v < 0 ? 0 : v` rather than max(v, 0) so that NaN passes through.
    case UnaryOp::relu: return unary_map<T>(x, out, [](C v) { return v < C(0) ? C(0) : v; });
    case UnaryOp::leaky_relu: {
      // Equal to `v < 0 ? slope * v : v` (NaN included), but reads `slope` on every path,
      // which the vectoriser needs: a load on one branch only keeps the loop scalar.
      const C slope = C(p.a);
      return unary_map<T>(x, out, [slope](C v) { return std::max(v, C(0)) + slope * std::min(v, C(0)); });
    }
    case UnaryOp::gelu_tanh: return unary_map<T>(x, out, [](C v) { return math::gelu_tanh(v); });
    case UnaryOp::gelu_erf: return unary_map<T>(x, out, [](C v) { return math::gelu_erf(v); });
    case UnaryOp::silu:
      if (vector_f32(out, x)) {
        const Tensor xc = x.detach().contiguous();  // no history: a kernel records none
        const float* in = xc.data<float>();
        float* y = out.data<float>();
        parallel_spans(x.numel(), [=](int64_t b, int64_t e) { silu_f32_span(in + b, y + b, e - b); });
        return true;
      }
      return unary_map<T>(x, out, [](C v) { return math::silu(v); });
    case UnaryOp::sigmoid: return unary_map<T>(x, out, [](C v) { return math::sigmoid(v); });
    case UnaryOp::tanh: return unary_map<T>(x, out, [](C v) { return std::tanh(v); });
    case UnaryOp::softplus: return unary_map<T>(x, out, [](C v) { return math::softplus(v); });
    case UnaryOp::clamp: {
      const C lo = C(p.a), hi = C(p.b);
      return unary_map<T>(x, out, [lo, hi](C v) { return math::clamp(v, lo, hi); });
    }
    case UnaryOp::pow_scalar: {
      // Squares are common (variances, L2 terms) and a multiply is exact, like pow.
      if (p.a == 2.0) return unary_map<T>(x, out, [](C v) { return v * v; });
      const C e = C(p.a);
      return unary_map<T>(x, out, [e](C v) { return std::pow(v, e); });
    }
    default: return false;
  }
}

template <class T>
bool numeric_unary(UnaryOp op, const Tensor& x, const Tensor& out) {
  using C = compute_t<T>;
  switch (op) {
    case UnaryOp::neg: return unary_map<T>(x, out, [](C v) { return -v; });
    case UnaryOp::abs: return unary_map<T>(x, out, [](C v) { return v < C(0) ? -v : v; });
    case UnaryOp::sign: return unary_map<T>(x, out, [](C v) { return math::sign(v); });
    case UnaryOp::square: return unary_map<T>(x, out, [](C v) { return v * v; });
    default: return false;
  }
}

// isfinite / isnan / isinf: bool outputs for every dtype (integers are always finite).
template <class T>
bool classify_unary(UnaryOp op, const Tensor& x, const Tensor& out) {
  using C = compute_t<T>;
  switch (op) {
    case UnaryOp::isfinite:
      if constexpr (is_float_v<T>) return unary_map<T, bool>(x, out, [](C v) { return std::isfinite(v); });
      else return unary_map<T, bool>(x, out, [](C) { return true; });
    case UnaryOp::isnan: return unary_map<T, bool>(x, out, [](C v) { return v != v; });
    case UnaryOp::isinf:
      if constexpr (is_float_v<T>) return unary_map<T, bool>(x, out, [](C v) { return std::isinf(v); });
      else return unary_map<T, bool>(x, out, [](C) { return false; });
    default: return false;
  }
}

// ----- binary

// Division by an integer zero traps the CPU; refuse it up front instead.
template <class T>
void check_no_zero_divisor(const Tensor& b) {
  const T* base = static_cast<const T*>(b.raw_data());
  bool zero = false;
  for_each_row<1>(b.shape(), {&b.strides()}, [&](const std::array<int64_t, 1>& off, int64_t n,
                                                 const std::array<int64_t, 1>& st) {
    for (int64_t j = 0; j < n; ++j) zero = zero || base[off[0] + j * st[0]] == T(0);
  }, /*allow_parallel=*/false);
  SUBTB_CHECK(!zero, "div: integer division by zero in ", describe(b));
}

template <class T>
bool arithmetic_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  using C = compute_t<T>;
  switch (op) {
    case BinaryOp::add: return binary_map<T>(a, b, out, [](C u, C v) { return u + v; });
    case BinaryOp::sub: return binary_map<T>(a, b, out, [](C u, C v) { return u - v; });
    case BinaryOp::mul: return binary_map<T>(a, b, out, [](C u, C v) { return u * v; });
    case BinaryOp::div:
      if constexpr (!is_float_v<T>) check_no_zero_divisor<T>(b);
      return binary_map<T>(a, b, out, [](C u, C v) { return u / v; });
    default: return false;
  }
}

// Activation gradients take (x or y, grad_out) -> grad_in.
template <class T>
bool floating_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  using C = compute_t<T>;
  switch (op) {
    case BinaryOp::pow: return binary_map<T>(a, b, out, [](C u, C v) { return std::pow(u, v); });
    case BinaryOp::relu_grad: return binary_map<T>(a, b, out, [](C x, C g) { return x > C(0) ? g : C(0); });
    case BinaryOp::gelu_tanh_grad: return binary_map<T>(a, b, out, [](C x, C g) { return math::gelu_tanh_grad(x, g); });
    case BinaryOp::gelu_erf_grad: return binary_map<T>(a, b, out, [](C x, C g) { return math::gelu_erf_grad(x, g); });
    case BinaryOp::silu_grad:
      if (vector_f32(out, a, b)) {
        const Tensor ac = a.detach().contiguous(), bc = b.detach().contiguous();
        const float *x = ac.data<float>(), *g = bc.data<float>();
        float* y = out.data<float>();
        parallel_spans(out.numel(), [=](int64_t s, int64_t e) { silu_grad_f32_span(x + s, g + s, y + s, e - s); });
        return true;
      }
      return binary_map<T>(a, b, out, [](C x, C g) { return math::silu_grad(x, g); });
    case BinaryOp::sigmoid_grad_from_output:
      return binary_map<T>(a, b, out, [](C y, C g) { return g * y * (C(1) - y); });
    case BinaryOp::tanh_grad_from_output: return binary_map<T>(a, b, out, [](C y, C g) { return g * (C(1) - y * y); });
    case BinaryOp::softplus_grad: return binary_map<T>(a, b, out, [](C x, C g) { return g * math::sigmoid(x); });
    default: return false;
  }
}

// maximum / minimum and the comparisons: every dtype.
template <class T>
bool ordered_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  using C = compute_t<T>;
  switch (op) {
    case BinaryOp::maximum: return binary_map<T>(a, b, out, [](C u, C v) { return math::maximum(u, v); });
    case BinaryOp::minimum: return binary_map<T>(a, b, out, [](C u, C v) { return math::minimum(u, v); });
    case BinaryOp::eq: return binary_map<T, bool>(a, b, out, [](C u, C v) { return u == v; });
    case BinaryOp::ne: return binary_map<T, bool>(a, b, out, [](C u, C v) { return u != v; });
    case BinaryOp::lt: return binary_map<T, bool>(a, b, out, [](C u, C v) { return u < v; });
    case BinaryOp::le: return binary_map<T, bool>(a, b, out, [](C u, C v) { return u <= v; });
    case BinaryOp::gt: return binary_map<T, bool>(a, b, out, [](C u, C v) { return u > v; });
    case BinaryOp::ge: return binary_map<T, bool>(a, b, out, [](C u, C v) { return u >= v; });
    default: return false;
  }
}

bool logical_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  switch (op) {
    case BinaryOp::logical_and: return binary_map<bool>(a, b, out, [](bool u, bool v) { return u && v; });
    case BinaryOp::logical_or: return binary_map<bool>(a, b, out, [](bool u, bool v) { return u || v; });
    case BinaryOp::logical_xor: return binary_map<bool>(a, b, out, [](bool u, bool v) { return u != v; });
    default: return false;
  }
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams params) {
  const bool done = visit_dtype(x.dtype(), [&]<class T>() {
    if (classify_unary<T>(op, x, out)) return true;
    if constexpr (std::is_same_v<T, bool>) {
      return op == UnaryOp::logical_not && unary_map<bool>(x, out, [](bool v) { return !v; });
    } else {
      if (numeric_unary<T>(op, x, out)) return true;
      if constexpr (is_float_v<T>) return floating_unary<T>(op, x, out, params);
      else return false;
    }
  });
  SUBTB_CHECK(done, "unary op ", static_cast<int>(op), ": not defined for ", describe(x), " on cpu");
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const bool done = visit_dtype(a.dtype(), [&]<class T>() {
    if (ordered_binary<T>(op, a, b, out)) return true;
    if constexpr (std::is_same_v<T, bool>) {
      return logical_binary(op, a, b, out);
    } else {
      if (arithmetic_binary<T>(op, a, b, out)) return true;
      if constexpr (is_float_v<T>) return floating_binary<T>(op, a, b, out);
      else return false;
    }
  });
  SUBTB_CHECK(done, "binary op ", static_cast<int>(op), ": not defined for ", describe(a), " on cpu");
}

namespace {

// c ? u : v as a mask over the bits: exactly u's or v's bits, and a loop of these
// vectorises, which one of conditional loads does not.
template <class T>
T select_bits(bool c, T u, T v) {
  using Bits = std::conditional_t<
      sizeof(T) == 1, uint8_t,
      std::conditional_t<sizeof(T) == 2, uint16_t, std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
  static_assert(sizeof(Bits) == sizeof(T) && std::is_trivially_copyable_v<T>);
  const Bits mask = static_cast<Bits>(Bits{0} - static_cast<Bits>(c));
  return std::bit_cast<T>(static_cast<Bits>((std::bit_cast<Bits>(u) & mask) | (std::bit_cast<Bits>(v) & ~mask)));
}

}  // namespace

void CpuBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    map<T, bool, T, T>(out, [](bool c, T u, T v) { return select_bits(c, u, v); }, cond, a, b);
  });
}

}  // namespace subtb::cpu

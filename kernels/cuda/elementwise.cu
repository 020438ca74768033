// Elementwise CUDA kernels through the engine of loops.cuh. One functor per group of ops
// that share their dtypes, with the op chosen by a switch inside the kernel: every thread
// of a launch takes the same branch, so the switch costs nothing next to the memory
// traffic, and the file compiles a handful of kernels per dtype instead of one per op.
// The scalar math is the CPU's (kernels/cpu/elementwise_math.h); 16-bit floats compute
// in f32.
#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include "kernels/cpu/elementwise_math.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/loops.cuh"

namespace subtb::cuda {

namespace {

namespace math = cpu::math;

template <class T>
constexpr bool is_float_v = std::is_floating_point_v<compute_t<T>>;

// ----- unary

bool is_numeric_unary(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::sign || op == UnaryOp::square;
}

bool is_classify_unary(UnaryOp op) { return op == UnaryOp::isfinite || op == UnaryOp::isnan || op == UnaryOp::isinf; }

// Every other op but logical_not is defined on floating dtypes only.
bool is_floating_unary(UnaryOp op) {
  return !is_numeric_unary(op) && !is_classify_unary(op) && op != UnaryOp::logical_not;
}

// neg, abs, sign, square on every numeric dtype; the floating ops on floating dtypes.
template <class T>
struct UnaryFn {
  using C = compute_t<T>;
  UnaryOp op;
  C a, b;

  __device__ T operator()(T in) const {
    const C v = static_cast<C>(in);
    if constexpr (is_float_v<T>) {
      switch (op) {
        case UnaryOp::exp:
          return T(exp(v));
        case UnaryOp::log:
          return T(log(v));
        case UnaryOp::log1p:
          return T(log1p(v));
        case UnaryOp::expm1:
          return T(expm1(v));
        case UnaryOp::sqrt:
          return T(sqrt(v));
        case UnaryOp::rsqrt:
          return T(C(1) / sqrt(v));
        case UnaryOp::reciprocal:
          return T(C(1) / v);
        case UnaryOp::sin:
          return T(sin(v));
        case UnaryOp::cos:
          return T(cos(v));
        case UnaryOp::floor:
          return T(floor(v));
        case UnaryOp::ceil:
          return T(ceil(v));
        case UnaryOp::round:
          return T(nearbyint(v));  // half to even
        case UnaryOp::relu:
          return T(v < C(0) ? C(0) : v);
        case UnaryOp::leaky_relu:
          return T(v < C(0) ? a * v : v);
        case UnaryOp::gelu_tanh:
          return T(math::gelu_tanh(v));
        case UnaryOp::gelu_erf:
          return T(math::gelu_erf(v));
        case UnaryOp::silu:
          return T(math::silu(v));
        case UnaryOp::sigmoid:
          return T(math::sigmoid(v));
        case UnaryOp::tanh:
          return T(tanh(v));
        case UnaryOp::softplus:
          return T(math::softplus(v));
        case UnaryOp::clamp:
          return T(math::clamp(v, a, b));
        case UnaryOp::pow_scalar:
          return T(a == C(2) ? v * v : pow(v, a));
        default:
          break;
      }
    }
    switch (op) {
      case UnaryOp::neg:
        return T(-v);
      case UnaryOp::abs:
        return T(v < C(0) ? -v : v);
      case UnaryOp::sign:
        return T(math::sign(v));
      default:
        return T(v * v);  // square
    }
  }
};

template <class T>
struct ClassifyFn {
  using C = compute_t<T>;
  UnaryOp op;
  __device__ bool operator()(T in) const {
    const C v = static_cast<C>(in);
    if constexpr (is_float_v<T>) {
      if (op == UnaryOp::isfinite) return isfinite(v);
      if (op == UnaryOp::isinf) return isinf(v);
      return isnan(v);
    } else {
      return op == UnaryOp::isfinite;
    }
  }
};

struct NotFn {
  __device__ bool operator()(bool v) const { return !v; }
};

// ----- binary

bool is_arithmetic_binary(BinaryOp op) {
  return op == BinaryOp::add || op == BinaryOp::sub || op == BinaryOp::mul || op == BinaryOp::div;
}

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::eq || op == BinaryOp::ne || op == BinaryOp::lt || op == BinaryOp::le || op == BinaryOp::gt ||
         op == BinaryOp::ge;
}

bool is_logical(BinaryOp op) {
  return op == BinaryOp::logical_and || op == BinaryOp::logical_or || op == BinaryOp::logical_xor;
}

// pow and the activation gradients: floating dtypes only.
bool is_floating_binary(BinaryOp op) {
  return !is_arithmetic_binary(op) && !is_comparison(op) && !is_logical(op) && op != BinaryOp::maximum &&
         op != BinaryOp::minimum;
}

// maximum / minimum on every dtype, arithmetic on numeric ones, the rest on floating ones.
template <class T>
struct BinaryFn {
  using C = compute_t<T>;
  BinaryOp op;

  __device__ T operator()(T ua, T ub) const {
    const C u = static_cast<C>(ua), v = static_cast<C>(ub);
    if (op == BinaryOp::maximum) return T(math::maximum(u, v));
    if (op == BinaryOp::minimum) return T(math::minimum(u, v));
    if constexpr (!std::is_same_v<T, bool>) {
      switch (op) {
        case BinaryOp::add:
          return T(u + v);
        case BinaryOp::sub:
          return T(u - v);
        case BinaryOp::mul:
          return T(u * v);
        case BinaryOp::div:
          return T(u / v);
        default:
          break;
      }
    }
    if constexpr (is_float_v<T>) {
      switch (op) {
        case BinaryOp::pow:
          return T(pow(u, v));
        case BinaryOp::relu_grad:
          return T(u > C(0) ? v : C(0));
        case BinaryOp::gelu_tanh_grad:
          return T(math::gelu_tanh_grad(u, v));
        case BinaryOp::gelu_erf_grad:
          return T(math::gelu_erf_grad(u, v));
        case BinaryOp::silu_grad:
          return T(math::silu_grad(u, v));
        case BinaryOp::sigmoid_grad_from_output:
          return T(v * u * (C(1) - u));
        case BinaryOp::tanh_grad_from_output:
          return T(v * (C(1) - u * u));
        case BinaryOp::softplus_grad:
          return T(v * math::sigmoid(u));
        default:
          break;
      }
    }
    return ua;  // unreachable: the host dispatch only launches the ops above
  }
};

template <class T>
struct CompareFn {
  using C = compute_t<T>;
  BinaryOp op;
  __device__ bool operator()(T ua, T ub) const {
    const C u = static_cast<C>(ua), v = static_cast<C>(ub);
    switch (op) {
      case BinaryOp::eq:
        return u == v;
      case BinaryOp::ne:
        return u != v;
      case BinaryOp::lt:
        return u < v;
      case BinaryOp::le:
        return u <= v;
      case BinaryOp::gt:
        return u > v;
      default:
        return u >= v;
    }
  }
};

struct LogicalFn {
  BinaryOp op;
  __device__ bool operator()(bool u, bool v) const {
    if (op == BinaryOp::logical_and) return u && v;
    if (op == BinaryOp::logical_or) return u || v;
    return u != v;
  }
};

template <class T>
struct WhereFn {
  __device__ T operator()(bool c, T u, T v) const { return c ? u : v; }
};

// Integer division by zero traps on the CPU, which refuses it up front; on the GPU it
// would give garbage, so it is refused here too (this waits for the device).
template <class T>
__global__ void find_zero_kernel(int64_t n, OffsetCalc<1> calc, const T* b, int* found) {
  for (int64_t i = global_thread(); i < n; i += global_threads()) {
    int64_t off[1];
    calc.offsets(i, off);
    if (b[off[0]] == T(0)) *found = 1;
  }
}

template <class T>
void check_no_zero_divisor(CudaBackend& be, const Tensor& b) {
  const int64_t n = b.numel();
  if (n == 0) return;
  Tensor flag = make_tensor(Shape{}, DType::i32, be.device());
  be.fill(flag, 0.0);
  find_zero_kernel<T><<<grid_for(n), kThreads, 0, be.stream()>>>(
      n, make_offset_calc<1>(b.shape(), {&b.strides()}), static_cast<const T*>(b.raw_data()), flag.data<int32_t>());
  check_launch("div", be.stream());
  SUBTB_CHECK(flag.item() == 0.0, "div: integer division by zero in ", describe(b));
}

}  // namespace

void CudaBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams params) {
  DeviceGuard guard(index_);
  const bool done = visit_dtype(x.dtype(), [&]<class T>() {
    using C = compute_t<T>;
    if (is_classify_unary(op)) {
      map<bool, T>(stream_, "unary", out, ClassifyFn<T>{op}, x);
      return true;
    }
    if constexpr (std::is_same_v<T, bool>) {
      if (op != UnaryOp::logical_not) return false;
      map<bool, bool>(stream_, "unary", out, NotFn{}, x);
      return true;
    } else {
      if (!is_numeric_unary(op) && !(is_float_v<T> && is_floating_unary(op))) return false;
      map<T, T>(stream_, "unary", out, UnaryFn<T>{op, static_cast<C>(params.a), static_cast<C>(params.b)}, x);
      return true;
    }
  });
  SUBTB_CHECK(done, "unary op ", static_cast<int>(op), ": not defined for ", describe(x), " on ", device());
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  DeviceGuard guard(index_);
  const bool done = visit_dtype(a.dtype(), [&]<class T>() {
    if (is_comparison(op)) {
      map<bool, T, T>(stream_, "binary", out, CompareFn<T>{op}, a, b);
      return true;
    }
    if (is_logical(op)) {
      if constexpr (!std::is_same_v<T, bool>) return false;
      map<bool, bool, bool>(stream_, "binary", out, LogicalFn{op}, a, b);
      return true;
    }
    const bool defined = op == BinaryOp::maximum || op == BinaryOp::minimum ||
                         (!std::is_same_v<T, bool> && is_arithmetic_binary(op)) ||
                         (is_float_v<T> && is_floating_binary(op));
    if (!defined) return false;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (op == BinaryOp::div) check_no_zero_divisor<T>(*this, b);
    }
    map<T, T, T>(stream_, "binary", out, BinaryFn<T>{op}, a, b);
    return true;
  });
  SUBTB_CHECK(done, "binary op ", static_cast<int>(op), ": not defined for ", describe(a), " on ", device());
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  DeviceGuard guard(index_);
  visit_dtype(a.dtype(), [&]<class T>() { map<T, bool, T, T>(stream_, "where", out, WhereFn<T>{}, cond, a, b); });
}

}  // namespace subtb::cuda

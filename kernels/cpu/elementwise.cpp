// Elementwise CPU kernels: one functor per op, run through cpu::map (loops.h). 16-bit
// floats compute in f32.
#include <cmath>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

namespace {

template <class T, class F>
void unary_map(const Tensor& x, const Tensor& out, F f) {
  using C = compute_t<T>;
  map<T, T>(out, [f](T v) { return T(f(static_cast<C>(v))); }, x);
}

template <class T, class F>
void binary_map(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  using C = compute_t<T>;
  map<T, T, T>(out, [f](T u, T v) { return T(f(static_cast<C>(u), static_cast<C>(v))); }, a, b);
}

template <class T, class F>
void compare_map(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  using C = compute_t<T>;
  map<bool, T, T>(out, [f](T u, T v) { return f(static_cast<C>(u), static_cast<C>(v)); }, a, b);
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams params) {
  visit_dtype(x.dtype(), [&]<class T>() {
    using C = compute_t<T>;
    switch (op) {
      case UnaryOp::neg:
        if constexpr (!std::is_same_v<T, bool>) return unary_map<T>(x, out, [](C v) { return -v; });
        break;
      default:
        break;
    }
    SUBTB_THROW("unary op ", static_cast<int>(op), ": not implemented for ", x.dtype(), " on cpu");
  });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    using C = compute_t<T>;
    if constexpr (!std::is_same_v<T, bool>) {
      switch (op) {
        case BinaryOp::add: return binary_map<T>(a, b, out, [](C u, C v) { return u + v; });
        case BinaryOp::sub: return binary_map<T>(a, b, out, [](C u, C v) { return u - v; });
        case BinaryOp::mul: return binary_map<T>(a, b, out, [](C u, C v) { return u * v; });
        case BinaryOp::div: return binary_map<T>(a, b, out, [](C u, C v) { return u / v; });
        default: break;
      }
    }
    switch (op) {
      case BinaryOp::eq: return compare_map<T>(a, b, out, [](C u, C v) { return u == v; });
      case BinaryOp::ne: return compare_map<T>(a, b, out, [](C u, C v) { return u != v; });
      case BinaryOp::lt: return compare_map<T>(a, b, out, [](C u, C v) { return u < v; });
      case BinaryOp::le: return compare_map<T>(a, b, out, [](C u, C v) { return u <= v; });
      case BinaryOp::gt: return compare_map<T>(a, b, out, [](C u, C v) { return u > v; });
      case BinaryOp::ge: return compare_map<T>(a, b, out, [](C u, C v) { return u >= v; });
      default: break;
    }
    SUBTB_THROW("binary op ", static_cast<int>(op), ": not implemented for ", a.dtype(), " on cpu");
  });
}

}  // namespace subtb::cpu

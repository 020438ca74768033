#pragma once
// Element types. Conversions between dtypes are always explicit (Tensor::to(DType)):
// binary ops require equal dtypes and say so when they differ.
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string_view>
#include <type_traits>

#include "tensor/error.h"

#if defined(__CUDACC__)
#define SUBTB_HOST_DEVICE __host__ __device__
#else
#define SUBTB_HOST_DEVICE
#endif

namespace subtb {

enum class DType : uint8_t { f32, f64, bf16, f16, i32, i64, b8 };

// bfloat16 storage: the upper half of an IEEE f32. Arithmetic happens in f32.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  SUBTB_HOST_DEVICE BFloat16(float f) {  // NOLINT: implicit like the builtin types
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep it a quiet NaN
      bits = static_cast<uint16_t>((u >> 16) | 0x40);
    } else {  // round to nearest even
      u += 0x7fffu + ((u >> 16) & 1u);
      bits = static_cast<uint16_t>(u >> 16);
    }
  }
  SUBTB_HOST_DEVICE operator float() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

// IEEE binary16 storage. Arithmetic happens in f32.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  SUBTB_HOST_DEVICE Half(float f) { bits = from_float(f); }  // NOLINT
  SUBTB_HOST_DEVICE operator float() const { return to_float(bits); }

  static SUBTB_HOST_DEVICE uint16_t from_float(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
    if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (x < 0x38800000u) {  // subnormal half (or zero): round the shifted mantissa
      if (x < 0x33000000u) return static_cast<uint16_t>(sign);
      const uint32_t exp = x >> 23;
      const uint32_t mant = (x & 0x7fffffu) | 0x800000u;
      const uint32_t shift = 126 - exp;  // 14..24
      uint32_t h = mant >> shift;
      const uint32_t rem = mant & ((1u << shift) - 1);
      const uint32_t half = 1u << (shift - 1);
      if (rem > half || (rem == half && (h & 1u))) ++h;
      return static_cast<uint16_t>(sign | h);
    }
    uint32_t h = ((x - 0x38000000u) >> 13);
    const uint32_t rem = x & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  static SUBTB_HOST_DEVICE float to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t out;
    if (exp == 0x1f) {
      out = sign | 0x7f800000u | (mant << 13);
    } else if (exp == 0) {
      if (mant == 0) {
        out = sign;
      } else {  // normalise the subnormal
        exp = 113;
        while (!(mant & 0x400u)) {
          mant <<= 1;
          --exp;
        }
        out = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
      }
    } else {
      out = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &out, 4);
    return f;
  }
};

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::bf16: return 2;
    case DType::f16: return 2;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::b8: return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::b8: return "bool";
  }
  return "?";
}

constexpr bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
}
constexpr bool is_integral(DType t) { return t == DType::i32 || t == DType::i64; }

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

// The C++ type that stores one element of a dtype, and back.
template <DType D> struct CppTypeOf;
template <> struct CppTypeOf<DType::f32> { using type = float; };
template <> struct CppTypeOf<DType::f64> { using type = double; };
template <> struct CppTypeOf<DType::bf16> { using type = BFloat16; };
template <> struct CppTypeOf<DType::f16> { using type = Half; };
template <> struct CppTypeOf<DType::i32> { using type = int32_t; };
template <> struct CppTypeOf<DType::i64> { using type = int64_t; };
template <> struct CppTypeOf<DType::b8> { using type = bool; };

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<BFloat16>() { return DType::bf16; }
template <> constexpr DType dtype_of<Half>() { return DType::f16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<bool>() { return DType::b8; }

// The type arithmetic on T happens in: f32 for the 16-bit floats, T otherwise.
template <class T> struct ComputeTypeOf { using type = T; };
template <> struct ComputeTypeOf<BFloat16> { using type = float; };
template <> struct ComputeTypeOf<Half> { using type = float; };
template <class T> using compute_t = typename ComputeTypeOf<T>::type;

// Calls f.template operator()<T>() with T the C++ type of `t`:
//   visit_dtype(x.dtype(), [&]<class T>() { ... });
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::bf16: return f.template operator()<BFloat16>();
    case DType::f16: return f.template operator()<Half>();
    case DType::i32: return f.template operator()<int32_t>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::b8: return f.template operator()<bool>();
  }
  SUBTB_THROW("visit_dtype: invalid dtype ", static_cast<int>(t));
}

// The same over floating dtypes only; other dtypes throw naming `op`.
template <class F>
decltype(auto) visit_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::bf16: return f.template operator()<BFloat16>();
    case DType::f16: return f.template operator()<Half>();
    default: SUBTB_THROW(op, ": expected a floating dtype (f32, f64, bf16, f16), got ", t);
  }
}

}  // namespace subtb

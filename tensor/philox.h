#pragma once
// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011):
// a counter-based generator. philox(counter, key) is a pure function, so element i of a
// draw can be computed anywhere (a CPU thread or a GPU thread) from (seed, offset, i)
// alone, and every device produces the same stream.
//
// Layout of a draw, shared by every backend:
//   counter = (block, block >> 32, 0, 0), key = (seed, seed >> 32), block = offset + i / w
// where w is the number of elements one 128-bit block yields: 4 for 32-bit draws
// (f32, f16, bf16, i32, i64, bool), 2 for f64 draws (two words per number).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/dtype.h"  // SUBTB_HOST_DEVICE

namespace subtb::philox {

struct Block {
  uint32_t x[4];
};

SUBTB_HOST_DEVICE inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// The full generator: a 128-bit counter and a 64-bit key (the form the published
// known-answer vectors use).
SUBTB_HOST_DEVICE inline Block philox4x32_10(Block counter, uint32_t key0, uint32_t key1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t c0 = counter.x[0], c1 = counter.x[1], c2 = counter.x[2], c3 = counter.x[3];
  uint32_t k0 = key0, k1 = key1;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(M0, c0, hi0, lo0);
    mulhilo(M1, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += W0;
    k1 += W1;
  }
  return {{c0, c1, c2, c3}};
}

// The block of a draw: counter (block, block >> 32, 0, 0), key (seed, seed >> 32).
SUBTB_HOST_DEVICE inline Block philox4x32_10(uint64_t block, uint64_t seed) {
  return philox4x32_10(Block{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// [0, 1) with 24 random bits (exactly representable in f32).
SUBTB_HOST_DEVICE inline float uniform_f32(uint32_t w) { return static_cast<float>(w >> 8) * 0x1.0p-24f; }
// [0, 1) with 53 random bits.
SUBTB_HOST_DEVICE inline double uniform_f64(uint32_t hi, uint32_t lo) {
  return static_cast<double>((static_cast<uint64_t>(hi >> 5) << 26) | (lo >> 6)) * 0x1.0p-53;
}
// (0, 1): never 0 or 1, for logs (Box-Muller, Gumbel).
SUBTB_HOST_DEVICE inline double open_uniform(uint32_t w) { return (static_cast<double>(w) + 0.5) * 0x1.0p-32; }

// The largest T strictly below b. Rounding a + (b - a) * u into T can land on b itself
// (for a narrow range, and in the 16-bit floats for any range); such a draw takes this
// value instead, so that uniform draws stay in [a, b).
template <class T>
SUBTB_HOST_DEVICE inline T largest_below(double b) {
  if constexpr (std::is_same_v<T, double>) {
    return std::nextafter(b, -INFINITY);
  } else if constexpr (std::is_same_v<T, float>) {
    const float f = static_cast<float>(b);
    return static_cast<double>(f) < b ? f : std::nextafter(f, -INFINITY);
  } else {  // BFloat16 and Half store sign and magnitude: one step down is one bit pattern away
    T t(static_cast<float>(b));
    while (!(static_cast<double>(static_cast<float>(t)) < b)) {
      t.bits = (t.bits & 0x8000u) ? static_cast<uint16_t>(t.bits + 1)
                                  : static_cast<uint16_t>(t.bits == 0 ? 0x8001u : t.bits - 1);
    }
    return t;
  }
}

// Box-Muller: two (0, 1) uniforms -> two independent standard normals.
SUBTB_HOST_DEVICE inline void box_muller(double u1, double u2, double& z0, double& z1) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 6.283185307179586476925 * u2;
  z0 = r * std::cos(theta);
  z1 = r * std::sin(theta);
}

}  // namespace subtb::philox

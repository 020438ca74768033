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

SUBTB_HOST_DEVICE inline Block philox4x32_10(uint64_t block, uint64_t seed) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
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

// [0, 1) with 24 random bits (exactly representable in f32).
SUBTB_HOST_DEVICE inline float uniform_f32(uint32_t w) { return static_cast<float>(w >> 8) * 0x1.0p-24f; }
// [0, 1) with 53 random bits.
SUBTB_HOST_DEVICE inline double uniform_f64(uint32_t hi, uint32_t lo) {
  return static_cast<double>((static_cast<uint64_t>(hi >> 5) << 26) | (lo >> 6)) * 0x1.0p-53;
}
// (0, 1): never 0 or 1, for logs (Box-Muller, Gumbel).
SUBTB_HOST_DEVICE inline double open_uniform(uint32_t w) { return (static_cast<double>(w) + 0.5) * 0x1.0p-32; }

// Box-Muller: two (0, 1) uniforms -> two independent standard normals.
SUBTB_HOST_DEVICE inline void box_muller(double u1, double u2, double& z0, double& z1) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 6.283185307179586476925 * u2;
  z0 = r * std::cos(theta);
  z1 = r * std::sin(theta);
}

}  // namespace subtb::philox

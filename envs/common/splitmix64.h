#pragma once
// SplitMix64 (Steele, Lea and Flood 2014): the environments' random number generator.
// Tiny state, fast, and the same sequence for a seed on every platform, so a seed fixes
// an episode everywhere; reseeding is free, which lets reset(seed) cost nothing.
#include <cstdint>

namespace subtb::envs {

// The SplitMix64 output function: a bijective 64-bit mixer, also a good hash of a key.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed = 0) : state_(seed) {}

  std::uint64_t next() {
    const std::uint64_t x = state_;
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(x);
  }

  // Uniform in [0, n) without modulo bias (Lemire's multiply-and-reject); n > 0.
  std::uint32_t below(std::uint32_t n) {
    std::uint64_t m = (next() >> 32) * n;
    if (static_cast<std::uint32_t>(m) < n) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
      while (static_cast<std::uint32_t>(m) < threshold) m = (next() >> 32) * n;
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

  // Uniform in [lo, hi], both included.
  int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::uint32_t>(hi - lo + 1))); }

  // Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // True with probability percent / 100.
  bool chance(int percent) { return below(100) < static_cast<std::uint32_t>(percent); }

 private:
  std::uint64_t state_;
};

}  // namespace subtb::envs

#pragma once
// The household world's random source: SplitMix64 (Steele, Lea & Flood, 2014) with
// Lemire's unbiased bounded draws. Written out here rather than taken from <random>
// because the standard distributions differ between library implementations, and a
// seed must name the same task everywhere.
#include <cstdint>

namespace subtb::household {

// Mixes a 64-bit value into a well-spread one (SplitMix64's finaliser). Also used to
// hash small keys (a layout, an object/receptacle pair) deterministically.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  // SplitMix64: the state walks by the golden-ratio increment that mix64 adds.
  std::uint64_t next() {
    const std::uint64_t x = state_;
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(x);
  }

  // Uniform in [0, n); n >= 1.
  std::uint32_t below(std::uint32_t n) {
    std::uint64_t m = (next() >> 32) * n;
    if (static_cast<std::uint32_t>(m) < n) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
      while (static_cast<std::uint32_t>(m) < threshold) m = (next() >> 32) * n;
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

  // Uniform in [lo, hi].
  int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::uint32_t>(hi - lo + 1))); }

  // True with probability percent / 100.
  bool chance(int percent) { return below(100) < static_cast<std::uint32_t>(percent); }

 private:
  std::uint64_t state_;
};

}  // namespace subtb::household

#pragma once
// The card games' random numbers: SplitMix64 (Steele, Lea and Flood 2014), a 64-bit
// counter hashed by a bijective mixer. Its whole state is one word, so reset(seed) costs
// nothing (a Mersenne Twister would spend longer seeding than a BlackJack hand takes to
// play), and the draws of a seed are the same on every platform and compiler.
#include <cstdint>

namespace subtb::cards {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n), n > 0, without modulo bias (Lemire's multiply-and-reject).
  std::uint32_t uniform(std::uint32_t n) {
    std::uint64_t m = static_cast<std::uint64_t>(static_cast<std::uint32_t>(next() >> 32)) * n;
    if (static_cast<std::uint32_t>(m) < n) {
      const std::uint32_t threshold = (0u - n) % n;
      while (static_cast<std::uint32_t>(m) < threshold) {
        m = static_cast<std::uint64_t>(static_cast<std::uint32_t>(next() >> 32)) * n;
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

  // Uniform in [lo, hi], lo <= hi.
  int uniform_int(int lo, int hi) { return lo + static_cast<int>(uniform(static_cast<std::uint32_t>(hi - lo + 1))); }

 private:
  std::uint64_t state_;
};

}  // namespace subtb::cards

#pragma once
// Random numbers from one counter-based generator, Philox 4x32-10 (tensor/philox.h).
// A Generator is (seed, offset): every draw of N numbers takes the next counter blocks
// and advances the offset, so the same seed gives the same numbers on every device and
// every run.
#include <cstdint>

#include "tensor/tensor.h"

namespace subtb {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  // State for checkpoints: restoring (seed, offset) resumes the exact stream.
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  // Reserves `blocks` 128-bit counter blocks and returns the first.
  uint64_t advance(uint64_t blocks) {
    const uint64_t first = offset_;
    offset_ += blocks;
    return first;
  }

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

// The process-wide default generator (seed 0 until manual_seed is called).
Generator& default_generator();
void manual_seed(uint64_t seed);

// Uniform in [low, high).
Tensor rand(const Shape& shape, DType dtype = DType::f32, Device device = kCPU, Generator* gen = nullptr,
            double low = 0.0, double high = 1.0);
Tensor randn(const Shape& shape, DType dtype = DType::f32, Device device = kCPU, Generator* gen = nullptr,
             double mean = 0.0, double std = 1.0);
// Integers in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64, Device device = kCPU,
               Generator* gen = nullptr);
// 1 with probability p (elementwise), in p's dtype.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
// Draws one category per row of logits [..., C] (unnormalised log-probabilities; -inf
// masks a category) -> i64 [...]. Uses the Gumbel-max trick, so masked categories are
// never drawn and a row with every category masked throws.
Tensor categorical(const Tensor& logits, Generator* gen = nullptr);

}  // namespace subtb

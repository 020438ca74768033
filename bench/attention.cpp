// Attention on the CPU: the composite of simple ops (scores, masked softmax, weighted sum:
// the [B, H, T, T] matrix in memory) against the fused tiled kernel
// (scaled_dot_product_attention), forward and backward, f32, q, k, v [1, 8, T, 64].
//
// Counters: FLOPS counts 4 * B * H * Tq * Tk * D per forward (the two matmuls), halved
// when causal, and 2.5 times that per backward (five matmuls to the forward's two), so
// both paths are credited the same work. The CPU column is the process's CPU time (every
// thread's), which says what a path costs when the machine is shared. peak_bytes is
// computed, not measured (the host allocator keeps no counters): the bytes of the largest
// tensors each path holds at once while it runs, besides its inputs (see peak_bytes).
#include <benchmark/benchmark.h>
#include <omp.h>

#include "kernels/cpu/attention_tiles.h"
#include "tensor/ops.h"

namespace subtb {
namespace {

constexpr int64_t kBatch = 1, kHeads = 8, kHeadDim = 64;
constexpr int64_t kF32 = 4;

enum class Path { composite, fused };
enum class Pass { forward, backward };

Tensor input(const Shape& shape, uint64_t seed, bool requires_grad) {
  Generator gen(seed);
  return randn(shape, DType::f32, kCPU, &gen).requires_grad_(requires_grad);
}

double forward_flops(int64_t t, bool causal) {
  const double full = 4.0 * kBatch * kHeads * t * t * kHeadDim;
  return causal ? full / 2 : full;
}

// What each path allocates besides its inputs, at the moment the most is held.
//   composite forward: the scores and their softmax ([B, H, T, T] each; the scaled scores
//     replace the raw ones), plus the causal mask's where() result, plus out.
//   composite backward: at least the saved probabilities, the gradient flowing into them
//     and the softmax gradient (three score-sized tensors), plus dq, dk, dv.
//   fused forward: out, lse and each thread's score tile and output accumulator.
//   fused backward: dq, dk, dv, the row sums of dO * O, the dQ buffers of the splits past
//     the first, and each thread's probability and score-gradient tiles.
double peak_bytes(Path path, Pass pass, int64_t t, bool causal) {
  using cpu::attention::kBackwardKeyTile;
  using cpu::attention::kForwardKeyTile;
  using cpu::attention::kQueryTile;
  const double heads = kBatch * kHeads * kHeadDim * t * kF32;  // one [B, H, T, D] tensor
  const double scores = static_cast<double>(kBatch) * kHeads * t * t * kF32;
  const double rows = kBatch * kHeads * t * kF32;
  const double threads = omp_get_max_threads();
  if (path == Path::composite)
    return pass == Pass::forward ? (causal ? 3 : 2) * scores + heads : 3 * scores + 3 * heads;
  if (pass == Pass::forward)
    return heads + rows + threads * (kQueryTile * kForwardKeyTile + kQueryTile * kHeadDim) * kF32;
  const int64_t key_tiles = (t + kBackwardKeyTile - 1) / kBackwardKeyTile;
  const int64_t splits = cpu::attention::backward_splits(kBatch * kHeads, key_tiles);
  return 3 * heads + rows + (splits - 1) * heads + threads * 2 * kQueryTile * kBackwardKeyTile * kF32;
}

void attention(benchmark::State& state, Path path, Pass pass) {
  const int64_t t = state.range(0);
  const bool causal = state.range(1) != 0;
  const bool grad = pass == Pass::backward;
  const Shape shape{kBatch, kHeads, t, kHeadDim};
  const Tensor q = input(shape, 1, grad), k = input(shape, 2, grad), v = input(shape, 3, grad);
  const Tensor g = input(shape, 4, false);
  AttentionOptions options;
  options.causal = causal;
  const auto run = [&] {
    return path == Path::fused ? scaled_dot_product_attention(q, k, v, options)
                               : scaled_dot_product_attention_composite(q, k, v, options);
  };
  for (auto _ : state) {
    if (pass == Pass::forward) {
      benchmark::DoNotOptimize(run());
      continue;
    }
    state.PauseTiming();
    const Tensor out = run();
    state.ResumeTiming();
    out.backward(g);
  }
  const double flops = forward_flops(t, causal) * (grad ? 2.5 : 1.0);
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_bytes"] = peak_bytes(path, pass, t, causal);
}

void attention_composite_forward_cpu_f32(benchmark::State& s) { attention(s, Path::composite, Pass::forward); }
void attention_fused_forward_cpu_f32(benchmark::State& s) { attention(s, Path::fused, Pass::forward); }
void attention_composite_backward_cpu_f32(benchmark::State& s) { attention(s, Path::composite, Pass::backward); }
void attention_fused_backward_cpu_f32(benchmark::State& s) { attention(s, Path::fused, Pass::backward); }

#define SUBTB_ATTENTION_BENCH(fn)          \
  BENCHMARK(fn)                            \
      ->ArgNames({"T", "causal"})          \
      ->ArgsProduct({{256, 1024}, {0, 1}}) \
      ->Unit(benchmark::kMillisecond)      \
      ->UseRealTime()                      \
      ->MeasureProcessCPUTime()

SUBTB_ATTENTION_BENCH(attention_composite_forward_cpu_f32);
SUBTB_ATTENTION_BENCH(attention_fused_forward_cpu_f32);
SUBTB_ATTENTION_BENCH(attention_composite_backward_cpu_f32);
SUBTB_ATTENTION_BENCH(attention_fused_backward_cpu_f32);

}  // namespace
}  // namespace subtb

BENCHMARK_MAIN();

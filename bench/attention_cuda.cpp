// Attention on the GPU, bf16: the fused kernels against the composite of simple ops
// (matmul, masked softmax, matmul), forward and backward, B * H = 32 heads of T = 4096
// queries and keys, D = 128, without and with a causal mask. bench/peers/attention.py
// times PyTorch's scaled_dot_product_attention (flash, cuDNN and math backends) on the
// same shapes under the same names.
//
// FLOPS counts the matmuls of attention: forward 4 * B * H * Tq * Tk * D (S = Q K^T and
// O = P V), halved when causal; backward 2.5 times the forward (dV, dP, dQ, dK and the
// recomputation of S). Each iteration ends with a device synchronisation; backward
// iterations exclude their forward.
#include <benchmark/benchmark.h>

#include <string>

#include "kernels/backend.h"
#include "tensor/ops.h"

namespace subtb {
namespace {

constexpr int64_t kBatch = 2, kHeads = 16, kSeq = 4096, kDim = 128;

using Attention = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const AttentionOptions&);

double forward_flops(bool causal) {
  const double flops = 4.0 * kBatch * kHeads * kSeq * kSeq * kDim;
  return causal ? flops / 2 : flops;
}

Tensor input(uint64_t seed, bool requires_grad) {
  Generator gen(seed);
  return randn({kBatch, kHeads, kSeq, kDim}, DType::f32, kCPU, &gen)
      .to(DType::bf16)
      .to(cuda_device(0))
      .requires_grad_(requires_grad);
}

// False (and the benchmark skipped) where there is no GPU.
bool have_gpu(benchmark::State& state) {
  if (cuda_device_count() > 0) return true;
  state.SkipWithError("no CUDA device");
  return false;
}

void forward(benchmark::State& state, Attention attention) {
  if (!have_gpu(state)) return;
  AttentionOptions o;
  o.causal = state.range(0) != 0;
  const Tensor q = input(1, false), k = input(2, false), v = input(3, false);
  Backend& gpu = backend(cuda_device(0));
  try {
    for (auto _ : state) {
      benchmark::DoNotOptimize(attention(q, k, v, o));
      gpu.synchronize();
    }
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["FLOPS"] = benchmark::Counter(forward_flops(o.causal), benchmark::Counter::kIsIterationInvariantRate);
}

void backward(benchmark::State& state, Attention attention) {
  if (!have_gpu(state)) return;
  AttentionOptions o;
  o.causal = state.range(0) != 0;
  const Tensor q = input(1, true), k = input(2, true), v = input(3, true), g = input(4, false);
  Backend& gpu = backend(cuda_device(0));
  try {
    for (auto _ : state) {
      state.PauseTiming();
      const Tensor out = attention(q, k, v, o);
      gpu.synchronize();
      state.ResumeTiming();
      out.backward(g);
      gpu.synchronize();
    }
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["FLOPS"] =
      benchmark::Counter(2.5 * forward_flops(o.causal), benchmark::Counter::kIsIterationInvariantRate);
}

void attention_fused_forward_cuda_bf16(benchmark::State& s) { forward(s, scaled_dot_product_attention); }
void attention_composite_forward_cuda_bf16(benchmark::State& s) { forward(s, scaled_dot_product_attention_composite); }
void attention_fused_backward_cuda_bf16(benchmark::State& s) { backward(s, scaled_dot_product_attention); }
void attention_composite_backward_cuda_bf16(benchmark::State& s) {
  backward(s, scaled_dot_product_attention_composite);
}

#define SUBTB_BENCH_ATTENTION(fn) \
  BENCHMARK(fn)->ArgName("causal")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()
SUBTB_BENCH_ATTENTION(attention_fused_forward_cuda_bf16);
SUBTB_BENCH_ATTENTION(attention_composite_forward_cuda_bf16);
SUBTB_BENCH_ATTENTION(attention_fused_backward_cuda_bf16);
SUBTB_BENCH_ATTENTION(attention_composite_backward_cuda_bf16);

}  // namespace
}  // namespace subtb

BENCHMARK_MAIN();

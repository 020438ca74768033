// The SubTB(lambda) ladder (the habit of keeping naive, composite and fused side by side):
// forward + backward of the batch loss through the fused kernel, and through the
// composite built from simple ops with its [B, L+1, L+1] residual matrix. Inputs are f32
// with random lengths in [L/2, L]. bench/peers/subtb.py times the same loss in PyTorch.
#include <benchmark/benchmark.h>

#include "gflownet/objectives.h"
#include "gflownet/subtb.h"
#include "tensor/ops.h"

namespace subtb::gflownet {
namespace {

struct Inputs {
  Tensor pf, pb, flow, lengths;
};

Inputs make_inputs(int64_t B, int64_t L) {
  Generator gen(1);
  Inputs in;
  in.pf = (-abs(randn({B, L}, DType::f32, kCPU, &gen))).detach().requires_grad_();
  in.pb = (-abs(randn({B, L}, DType::f32, kCPU, &gen))).detach().requires_grad_();
  in.flow = randn({B, L + 1}, DType::f32, kCPU, &gen).requires_grad_();
  in.lengths = randint(L / 2, L + 1, {B}, DType::i64, kCPU, &gen);
  return in;
}

template <class Loss>
void run(benchmark::State& state, Loss loss_fn) {
  const int64_t B = state.range(0), L = state.range(1);
  Inputs in = make_inputs(B, L);
  for (auto _ : state) {
    Tensor loss = loss_fn(in);
    loss.backward();
    benchmark::DoNotOptimize(in.pf.grad().raw_data());
    for (Tensor* t : {&in.pf, &in.pb, &in.flow}) t->zero_grad();
  }
  state.SetItemsProcessed(state.iterations() * B);  // trajectories
  // Bytes the fused kernel must move: inputs read and gradients written (f32).
  state.SetBytesProcessed(state.iterations() * B * (4 * L + 2 * (L + 1)) * 4);
}

void subtb_fused(benchmark::State& state) {
  run(state, [](const Inputs& in) { return subtb_loss(in.pf, in.pb, in.flow, in.lengths, {0.9}); });
}
void subtb_composite(benchmark::State& state) {
  run(state, [](const Inputs& in) { return subtb_loss_composite(in.pf, in.pb, in.flow, in.lengths, {0.9}); });
}

BENCHMARK(subtb_fused)->Args({256, 64})->Args({64, 256})->Args({4096, 128})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(subtb_composite)->Args({256, 64})->Args({64, 256})->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace subtb::gflownet

BENCHMARK_MAIN();

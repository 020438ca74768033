// The GFlowNet environments' batched calls: state updates per second for step (with the
// forward masks a sampler needs at every step), backward steps, log-rewards and
// encodings, on the paper-sized configurations. One core, B = 1024 rows.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "envs/gfn/bit_sequence.h"
#include "envs/gfn/hypergrid.h"
#include "envs/gfn/rng.h"
#include "envs/gfn/set_generation.h"

namespace {

using namespace subtb::gfn;

constexpr int batch = 1024;

// One batch of complete trajectories with random allowed actions, recorded so that the
// timed loops replay them without drawing random numbers.
struct Recording {
  std::vector<std::vector<std::int32_t>> actions;  // [T][B]
  std::vector<std::int32_t> terminal;              // [B, state_dim]
  std::int64_t moves = 0;                          // rows actually stepped
};

Recording record(const DiscreteEnv& env) {
  Recording rec;
  const int num_actions = env.num_actions();
  std::vector<std::int32_t> states(static_cast<std::size_t>(batch * env.state_dim()));
  std::unique_ptr<bool[]> masks(new bool[static_cast<std::size_t>(batch * num_actions)]);
  std::vector<int> allowed(static_cast<std::size_t>(num_actions));
  Rng rng(1);
  env.reset(states);
  for (int t = 0; t < env.max_trajectory_length(); ++t) {
    env.forward_masks(states, std::span<bool>(masks.get(), static_cast<std::size_t>(batch * num_actions)));
    std::vector<std::int32_t> actions(batch, DiscreteEnv::no_action);
    for (int b = 0; b < batch; ++b) {
      int n = 0;
      for (int a = 0; a < num_actions; ++a) {
        if (masks[static_cast<std::size_t>(b * num_actions + a)]) allowed[static_cast<std::size_t>(n++)] = a;
      }
      if (n == 0) continue;
      // Exit with probability 1/16 where there is an exit, so grid trajectories run long.
      int pick = static_cast<int>(rng.below(static_cast<std::uint32_t>(n)));
      if (env.exit_action() >= 0 && n > 1) {
        pick = rng.below(16) == 0 ? n - 1 : static_cast<int>(rng.below(static_cast<std::uint32_t>(n - 1)));
      }
      actions[static_cast<std::size_t>(b)] = allowed[static_cast<std::size_t>(pick)];
      ++rec.moves;
    }
    env.step(states, actions);
    rec.actions.push_back(std::move(actions));
  }
  rec.terminal = states;
  return rec;
}

// reset, then masks + step for every recorded step: what a forward sampler asks of the env.
void forward_rollouts(benchmark::State& state, const DiscreteEnv& env) {
  const Recording rec = record(env);
  std::vector<std::int32_t> states(static_cast<std::size_t>(batch * env.state_dim()));
  std::unique_ptr<bool[]> masks(new bool[static_cast<std::size_t>(batch * env.num_actions())]);
  for (auto _ : state) {
    env.reset(states);
    for (const auto& actions : rec.actions) {
      env.forward_masks(states, std::span<bool>(masks.get(), static_cast<std::size_t>(batch * env.num_actions())));
      env.step(states, actions);
    }
    benchmark::DoNotOptimize(states.data());
  }
  state.SetItemsProcessed(state.iterations() * rec.moves);
  state.counters["steps/traj"] = static_cast<double>(rec.moves) / batch;
}

// step alone: the state update itself.
void forward_steps(benchmark::State& state, const DiscreteEnv& env) {
  const Recording rec = record(env);
  std::vector<std::int32_t> states(static_cast<std::size_t>(batch * env.state_dim()));
  for (auto _ : state) {
    env.reset(states);
    for (const auto& actions : rec.actions) env.step(states, actions);
    benchmark::DoNotOptimize(states.data());
  }
  state.SetItemsProcessed(state.iterations() * rec.moves);
}

void log_rewards(benchmark::State& state, const DiscreteEnv& env) {
  const Recording rec = record(env);
  std::vector<double> out(batch);
  for (auto _ : state) {
    env.log_reward(rec.terminal, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void encodings(benchmark::State& state, const DiscreteEnv& env) {
  const Recording rec = record(env);
  std::vector<float> out(static_cast<std::size_t>(batch * env.encoding_dim()));
  for (auto _ : state) {
    env.encode(rec.terminal, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * env.encoding_dim() * static_cast<std::int64_t>(sizeof(float)));
}

const HyperGrid& grid() {
  static const HyperGrid env(HyperGridConfig{.dim = 4, .height = 12, .r0 = 1e-3});
  return env;
}
const BitSequence& bits() {
  static const BitSequence env;  // n = 120, k = 8
  return env;
}
const BitSequence& bits_dag() {
  static const BitSequence env(BitSequenceConfig{.word_bits = 4, .order = BitOrder::any_position});
  return env;
}
const SetGeneration& sets() {
  static const SetGeneration env(set_generation_task("large"));
  return env;
}

void BM_HyperGridRollout(benchmark::State& s) { forward_rollouts(s, grid()); }
void BM_HyperGridStep(benchmark::State& s) { forward_steps(s, grid()); }
void BM_HyperGridLogReward(benchmark::State& s) { log_rewards(s, grid()); }
void BM_HyperGridEncode(benchmark::State& s) { encodings(s, grid()); }
void BM_BitSequenceRollout(benchmark::State& s) { forward_rollouts(s, bits()); }
void BM_BitSequenceStep(benchmark::State& s) { forward_steps(s, bits()); }
void BM_BitSequenceLogReward(benchmark::State& s) { log_rewards(s, bits()); }
void BM_BitSequenceEncode(benchmark::State& s) { encodings(s, bits()); }
void BM_BitSequenceAnyPositionRollout(benchmark::State& s) { forward_rollouts(s, bits_dag()); }
void BM_SetGenerationRollout(benchmark::State& s) { forward_rollouts(s, sets()); }
void BM_SetGenerationStep(benchmark::State& s) { forward_steps(s, sets()); }
void BM_SetGenerationLogReward(benchmark::State& s) { log_rewards(s, sets()); }

BENCHMARK(BM_HyperGridRollout);
BENCHMARK(BM_HyperGridStep);
BENCHMARK(BM_HyperGridLogReward);
BENCHMARK(BM_HyperGridEncode);
BENCHMARK(BM_BitSequenceRollout);
BENCHMARK(BM_BitSequenceStep);
BENCHMARK(BM_BitSequenceLogReward);
BENCHMARK(BM_BitSequenceEncode);
BENCHMARK(BM_BitSequenceAnyPositionRollout);
BENCHMARK(BM_SetGenerationRollout);
BENCHMARK(BM_SetGenerationStep);
BENCHMARK(BM_SetGenerationLogReward);

}  // namespace

BENCHMARK_MAIN();

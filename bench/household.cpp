// The household world's speed on one core: commands stepped a second, and the cost of
// the pieces a training loop calls around a step (admissible list, expert, generation).
//
// Step workloads replay recorded trajectories (restart() + the commands as text), so
// they time parsing, the rules and the feedback text, not the choice of commands:
//   expert: the expert's commands only (every one succeeds, most print contents);
//   mixed:  half expert, half random admissible commands, to the 35-step limit.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "envs/household/expert.h"
#include "envs/household/rng.h"
#include "envs/household/world.h"

namespace subtb::household {
namespace {

constexpr int kScenarios = 64;

struct Recording {
  Scenario scenario;
  std::vector<std::string> commands;
};

std::vector<Recording> record(int random_percent) {
  std::vector<Recording> recordings;
  Rng rng(42);
  std::vector<std::string> admissible;
  for (int i = 0; i < kScenarios; ++i) {
    Recording rec{generate_scenario(static_cast<std::uint64_t>(i), i % 4 ? Split::seen : Split::unseen), {}};
    World world;
    world.reset(rec.scenario);
    while (!world.done()) {
      std::string command;
      if (rng.chance(random_percent)) {
        world.admissible_commands(admissible);
        command = admissible[rng.below(static_cast<std::uint32_t>(admissible.size()))];
      } else {
        command = world.grammar().format(expert_action(world));
      }
      world.step(command);
      rec.commands.push_back(std::move(command));
    }
    recordings.push_back(std::move(rec));
  }
  return recordings;
}

void replay(benchmark::State& state, int random_percent) {
  const std::vector<Recording> recordings = record(random_percent);
  std::vector<World> worlds(recordings.size());
  for (std::size_t i = 0; i < recordings.size(); ++i) worlds[i].reset(recordings[i].scenario);
  std::int64_t steps = 0;
  double reward = 0.0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < recordings.size(); ++i) {
      benchmark::DoNotOptimize(worlds[i].restart().size());
      for (const std::string& command : recordings[i].commands) {
        const StepResult r = worlds[i].step(command);
        benchmark::DoNotOptimize(r.observation.data());
        reward += r.reward;
      }
      steps += static_cast<std::int64_t>(recordings[i].commands.size());
    }
  }
  benchmark::DoNotOptimize(reward);
  state.SetItemsProcessed(steps);
}

void BM_HouseholdStepExpert(benchmark::State& state) { replay(state, 0); }
void BM_HouseholdStepMixed(benchmark::State& state) { replay(state, 50); }

// The list a VLM prompt shows each step, in the middle of a typical episode.
void BM_HouseholdAdmissibleCommands(benchmark::State& state) {
  World world;
  world.reset(generate_scenario(5, Split::seen, TaskType::pick_heat_then_place));
  for (int i = 0; i < 2; ++i) world.step(expert_action(world));  // at a receptacle, holding something
  std::vector<std::string> commands;
  for (auto _ : state) {
    world.admissible_commands(commands);
    benchmark::DoNotOptimize(commands.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HouseholdExpertAction(benchmark::State& state) {
  World world;
  world.reset(generate_scenario(5, Split::seen, TaskType::pick_two_and_place));
  std::string text;
  for (auto _ : state) {
    text.clear();
    world.grammar().format(expert_action(world), text);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HouseholdGenerateScenario(benchmark::State& state) {
  std::uint64_t seed = 0;
  for (auto _ : state) benchmark::DoNotOptimize(generate_scenario(seed++, Split::seen).objects.size());
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_HouseholdStepExpert);
BENCHMARK(BM_HouseholdStepMixed);
BENCHMARK(BM_HouseholdAdmissibleCommands);
BENCHMARK(BM_HouseholdExpertAction);
BENCHMARK(BM_HouseholdGenerateScenario);

}  // namespace
}  // namespace subtb::household

BENCHMARK_MAIN();

// The card games: raw steps per second (no rendering, random legal moves, a reset when
// an episode ends), images rendered per second, and PNG encoding.
#include <benchmark/benchmark.h>

#include "envs/cards/blackjack.h"
#include "envs/cards/experts.h"
#include "envs/cards/numberline.h"
#include "envs/cards/points.h"
#include "envs/cards/rng.h"
#include "envs/render/png.h"

namespace {

using namespace subtb::cards;

// Steps `game` with random actions from `num_actions`, resetting after each episode.
template <class Game>
void random_play(benchmark::State& state, Game& game, std::uint32_t num_actions) {
  Rng rng(1);
  std::uint64_t episode = 0;
  game.reset(episode);
  for (auto _ : state) {
    const GameStep s = game.step(static_cast<int>(rng.below(num_actions)));
    benchmark::DoNotOptimize(s);
    if (s.over()) game.reset(++episode);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["episodes"] = static_cast<double>(episode);
}

void BM_NumberLineSteps(benchmark::State& state) {
  NumberLine game;
  random_play(state, game, 2);
}
BENCHMARK(BM_NumberLineSteps);

void BM_BlackJackSteps(benchmark::State& state) {
  BlackJack game;
  random_play(state, game, 2);
}
BENCHMARK(BM_BlackJackSteps);

void BM_BlackJackBasicStrategySteps(benchmark::State& state) {
  BlackJack game;
  std::uint64_t episode = 0;
  game.reset(episode);
  for (auto _ : state) {
    const GameStep s = game.step(blackjack_basic_strategy(game));
    benchmark::DoNotOptimize(s);
    if (s.over()) game.reset(++episode);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlackJackBasicStrategySteps);

void BM_EZPointsSteps(benchmark::State& state) {
  PointsGame game(ezpoints_config());
  random_play(state, game, static_cast<std::uint32_t>(game.action_names().size()));
}
BENCHMARK(BM_EZPointsSteps);

void BM_Points24Steps(benchmark::State& state) {
  PointsGame game(points24_config());
  random_play(state, game, static_cast<std::uint32_t>(game.action_names().size()));
}
BENCHMARK(BM_Points24Steps);

// Renders a fresh state per image into one reused canvas.
template <class Game>
void render_loop(benchmark::State& state, Game& game, std::uint32_t num_actions) {
  subtb::render::Canvas image;
  Rng rng(2);
  std::uint64_t seed = 0;
  for (auto _ : state) {
    game.reset(seed++);
    if (rng.below(2)) game.step(static_cast<int>(rng.below(num_actions)));
    game.render(image);
    benchmark::DoNotOptimize(image.bytes().data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RenderNumberLine(benchmark::State& state) {
  NumberLine game;
  render_loop(state, game, 2);
}
BENCHMARK(BM_RenderNumberLine);

void BM_RenderBlackJack(benchmark::State& state) {
  BlackJack game;
  render_loop(state, game, 2);
}
BENCHMARK(BM_RenderBlackJack);

void BM_RenderPoints24(benchmark::State& state) {
  PointsGame game(points24_config());
  render_loop(state, game, 10);  // a number, so the formula line has text
}
BENCHMARK(BM_RenderPoints24);

void BM_EncodePngBlackJack(benchmark::State& state) {
  BlackJack game;
  game.reset(0);
  subtb::render::Canvas image;
  game.render(image);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto png = subtb::render::encode_png(image);
    bytes = png.size();
    benchmark::DoNotOptimize(png.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["png_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodePngBlackJack);

}  // namespace

BENCHMARK_MAIN();

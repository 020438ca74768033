#include "envs/gfn/set_generation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "envs/gfn/data_path.h"
#include "envs/gfn/log_space.h"
#include "tensor/error.h"

namespace subtb::gfn {

namespace {

SetGenerationConfig checked(SetGenerationConfig c) {
  SUBTB_CHECK(c.universe_size >= 1 && c.set_size >= 1 && c.set_size <= c.universe_size, "SetGeneration(", c.task,
              "): needs 1 <= set_size <= universe_size, got ", c.set_size, " of ", c.universe_size);
  SUBTB_CHECK(c.energies.size() == static_cast<std::size_t>(c.universe_size), "SetGeneration(", c.task, "): ",
              c.energies.size(), " energies for a universe of ", c.universe_size);
  for (double e : c.energies) SUBTB_CHECK(std::isfinite(e), "SetGeneration(", c.task, "): energy ", e, " is not finite");
  return c;
}

}  // namespace

SetGenerationConfig set_generation_task(std::string_view task, const std::string& path) {
  const std::string file = path.empty() ? find_data_file("fl_set_energies.json") : path;
  std::ifstream in(file);
  SUBTB_CHECK(in, "set_generation_task: cannot open ", file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
    const auto& tasks = json.at("tasks");
    SUBTB_CHECK(tasks.contains(task), "set_generation_task: no task '", task, "' in ", file);
    const auto& t = tasks.at(std::string(task));
    return SetGenerationConfig{std::string(task), t.at("universe_size").get<int>(), t.at("set_size").get<int>(),
                               t.at("energies").get<std::vector<double>>()};
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("set_generation_task: ", file, ": ", e.what());
  }
}

SetGeneration::SetGeneration(SetGenerationConfig config)
    : DiscreteEnv(Dims{
          .state_dim = checked(config).universe_size + 1,
          .encoding_dim = config.universe_size,
          .num_actions = config.universe_size,
          .num_backward_actions = config.universe_size,
          .exit_action = -1,
          .max_trajectory_length = config.set_size,
      }),
      config_(std::move(config)) {}

std::string SetGeneration::name() const {
  return str("SetGeneration(", config_.task, ": ", config_.set_size, " of ", config_.universe_size, ")");
}

double SetGeneration::set_log_reward(const std::int32_t* state) const {
  double energy = 0.0;
  for (int a = 0; a < config_.universe_size; ++a) {
    if (state[a]) energy += config_.energies[static_cast<std::size_t>(a)];
  }
  return -energy;
}

double SetGeneration::log_partition() const {
  const int k = config_.set_size;
  // log_e[j] = log e_j(w_1..w_i) after i elements; j descends so each element is used once.
  std::vector<double> log_e(static_cast<std::size_t>(k) + 1, neg_inf);
  log_e[0] = 0.0;
  for (int i = 0; i < config_.universe_size; ++i) {
    const double log_w = -config_.energies[static_cast<std::size_t>(i)];
    for (int j = std::min(i + 1, k); j >= 1; --j) {
      log_e[static_cast<std::size_t>(j)] =
          log_add_exp(log_e[static_cast<std::size_t>(j)], log_e[static_cast<std::size_t>(j - 1)] + log_w);
    }
  }
  return log_e[static_cast<std::size_t>(k)];
}

// ---- dynamics

void SetGeneration::reset_rows(std::int32_t* states, std::int64_t batch) const {
  std::fill_n(states, batch * state_dim(), 0);
}

void SetGeneration::forward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const {
  const int universe = config_.universe_size, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width, masks += universe) {
    const bool open = states[universe] < config_.set_size;
    for (int a = 0; a < universe; ++a) masks[a] = open && states[a] == 0;
  }
}

void SetGeneration::step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const {
  const int universe = config_.universe_size, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row) {  // all rows are checked before any moves
    const std::int32_t a = actions[row];
    const std::int32_t* s = states + row * width;
    if (a != no_action && (a < 0 || a >= universe || s[a] != 0 || s[universe] >= config_.set_size)) {
      invalid_action("step", row, a);
    }
  }
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    const std::int32_t a = actions[row];
    if (a == no_action) continue;
    states[a] = 1;
    ++states[universe];
  }
}

void SetGeneration::backward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const {
  const int universe = config_.universe_size, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width, masks += universe) {
    for (int a = 0; a < universe; ++a) masks[a] = states[a] != 0;
  }
}

void SetGeneration::backward_step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const {
  const int universe = config_.universe_size, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row) {
    const std::int32_t a = actions[row];
    if (a != no_action && (a < 0 || a >= universe || states[row * width + a] == 0)) {
      invalid_action("backward_step", row, a);
    }
  }
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    const std::int32_t a = actions[row];
    if (a == no_action) continue;
    states[a] = 0;
    --states[universe];
  }
}

void SetGeneration::terminal_rows(const std::int32_t* states, std::int64_t batch, bool* out) const {
  const int universe = config_.universe_size, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row) out[row] = states[row * width + universe] == config_.set_size;
}

void SetGeneration::log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const {
  const int universe = config_.universe_size, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    SUBTB_CHECK(states[universe] == config_.set_size, name(), " log_reward: row ", row, " is not terminal");
    out[row] = set_log_reward(states);
  }
}

void SetGeneration::state_log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const {
  const int width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width) out[row] = set_log_reward(states);
}

void SetGeneration::encode_rows(const std::int32_t* states, std::int64_t batch, float* out) const {
  const int universe = config_.universe_size, width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width, out += universe) {
    for (int a = 0; a < universe; ++a) out[a] = static_cast<float>(states[a]);
  }
}

std::int32_t SetGeneration::forward_action_of(const std::int32_t*, std::int32_t backward_action) const {
  return backward_action;
}

}  // namespace subtb::gfn

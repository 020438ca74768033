#include "nn/checkpoint.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "nn/safetensors.h"

namespace subtb::nn {

namespace {

constexpr const char* kFormat = "subtb.checkpoint";
constexpr const char* kFormatVersion = "1";
constexpr std::string_view kModelPrefix = "model.";
constexpr std::string_view kOptimizerPrefix = "optimizer.";
constexpr std::string_view kRngPrefix = "rng.";
constexpr std::string_view kModulePrefix = "module.";

// Parses all of `text` as a decimal integer.
template <class Int>
bool parse_int(std::string_view text, Int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string rng_key(const std::string& name) { return std::string(kRngPrefix) + name; }

// Further modules' names become a key's second part, so they must be non-empty and free of dots.
void check_module_names(const TrainingState& state, const std::string& path, const char* op) {
  for (const auto& [name, module] : state.modules) {
    SUBTB_CHECK(!name.empty() && name.find('.') == std::string::npos, op, ": '", path, "': module name '", name,
                "' must be non-empty and free of dots");
    SUBTB_CHECK(module != nullptr, op, ": '", path, "': module '", name, "' is null");
  }
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingState& state, int64_t step,
                     const std::string& config_json) {
  SUBTB_CHECK(step >= 0, "save_checkpoint: '", path, "': negative step ", step);
  SUBTB_CHECK(nlohmann::json::accept(config_json), "save_checkpoint: '", path, "': the config is not valid JSON: ",
              config_json.substr(0, 200));
  StateDict tensors;
  check_module_names(state, path, "save_checkpoint");
  for (auto& [name, t] : state.model.state_dict()) tensors.emplace(std::string(kModelPrefix) + name, t);
  for (const auto& [module, m] : state.modules)
    for (auto& [name, t] : m->state_dict()) tensors.emplace(std::string(kModulePrefix) + module + "." + name, t);
  if (state.optimizer)
    for (auto& [key, t] : state.optimizer->state_dict()) tensors.emplace(std::string(kOptimizerPrefix) + key, t);
  Metadata metadata{{"format", kFormat},
                    {"format_version", kFormatVersion},
                    {"step", std::to_string(step)},
                    {"config", config_json}};
  for (const auto& [name, gen] : state.generators) {
    SUBTB_CHECK(gen != nullptr, "save_checkpoint: '", path, "': generator '", name, "' is null");
    metadata.emplace(rng_key(name), std::to_string(gen->seed()) + " " + std::to_string(gen->offset()));
  }
  save_safetensors(path, tensors, metadata);
}

CheckpointInfo load_checkpoint(const std::string& path, const TrainingState& state) {
  const SafetensorsFile file = load_safetensors(path);
  auto fail = [&](const auto&... args) { SUBTB_THROW("load_checkpoint: '", path, "': ", args...); };
  auto meta = [&](const std::string& key) -> const std::string& {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) fail("the metadata lacks '", key, "'");
    return it->second;
  };

  if (meta("format") != kFormat) fail("not a subtb checkpoint (format '", meta("format"), "')");
  if (meta("format_version") != kFormatVersion)
    fail("checkpoint format version ", meta("format_version"), " is not the supported ", kFormatVersion);
  CheckpointInfo info;
  if (!parse_int(meta("step"), info.step) || info.step < 0) fail("invalid step '", meta("step"), "'");
  info.config = meta("config");
  if (!nlohmann::json::accept(info.config)) fail("the config is not valid JSON");

  std::map<Generator*, std::pair<uint64_t, uint64_t>> rng_states;
  for (const auto& [name, gen] : state.generators) {
    if (gen == nullptr) fail("generator '", name, "' is null");
    const std::string& text = meta(rng_key(name));
    const size_t space = text.find(' ');
    uint64_t seed = 0, offset = 0;
    if (space == std::string::npos || !parse_int(std::string_view(text).substr(0, space), seed) ||
        !parse_int(std::string_view(text).substr(space + 1), offset))
      fail("invalid state '", text, "' for generator '", name, "' (expected \"<seed> <offset>\")");
    rng_states[gen] = {seed, offset};
  }

  check_module_names(state, path, "load_checkpoint");
  StateDict model_state, optimizer_state;
  std::map<std::string, StateDict> module_states;  // by module name, those of the file
  for (const auto& [key, t] : file.tensors) {
    if (key.starts_with(kModelPrefix)) {
      model_state.emplace(key.substr(kModelPrefix.size()), t);
    } else if (key.starts_with(kOptimizerPrefix)) {
      optimizer_state.emplace(key.substr(kOptimizerPrefix.size()), t);
    } else if (const size_t dot = key.find('.', kModulePrefix.size());
               key.starts_with(kModulePrefix) && dot != std::string::npos) {
      const std::string module = key.substr(kModulePrefix.size(), dot - kModulePrefix.size());
      module_states[module].emplace(key.substr(dot + 1), t);
    } else {
      fail("unexpected tensor '", key, "' (neither model., optimizer. nor module.<name>.)");
    }
  }
  for (const auto& [name, module] : state.modules)
    if (!module_states.contains(name)) fail("no tensors of module '", name, "'");
  try {
    state.model.check_state_dict(model_state);
    if (state.optimizer) state.optimizer->check_state_dict(optimizer_state);
    for (const auto& [name, module] : state.modules) module->check_state_dict(module_states.at(name));
  } catch (const Error& e) {
    fail(e.what());
  }

  state.model.load_state_dict(model_state);
  if (state.optimizer) state.optimizer->load_state_dict(optimizer_state);
  for (const auto& [name, module] : state.modules) module->load_state_dict(module_states.at(name));
  for (const auto& [gen, s] : rng_states) gen->set_state(s.first, s.second);
  return info;
}

}  // namespace subtb::nn

#include "apps/subtb/commands.h"

namespace subtb::cli {

void add_env_commands(CLI::App& app) {
  CLI::App* env = app.add_subcommand("env", "Play and render the task environments");
  env->require_subcommand(1);
}

}  // namespace subtb::cli

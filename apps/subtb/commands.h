#pragma once
// Each subcommand family of the `subtb` program lives in its own cmd_*.cpp and adds itself
// to the CLI11 app through one of these functions (called from main.cpp).
#include <CLI/CLI.hpp>

namespace subtb::cli {

void add_demo_command(CLI::App& app);
void add_env_commands(CLI::App& app);
void add_gflowvlm_command(CLI::App& app);
void add_lm_commands(CLI::App& app);
void add_repro_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_tokenizer_commands(CLI::App& app);
void add_vlm_commands(CLI::App& app);

}  // namespace subtb::cli

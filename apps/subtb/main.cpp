// The `subtb` command line. `subtb --help` lists the commands; every command has --help.
#include <exception>
#include <iostream>

#include "apps/subtb/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"subtb: a C++/CUDA tensor runtime with autodiff, and GFlowNet training on top of it"};
  app.require_subcommand(1);
  subtb::cli::add_demo_command(app);
  subtb::cli::add_env_commands(app);
  subtb::cli::add_lm_commands(app);
  subtb::cli::add_train_command(app);
  subtb::cli::add_tokenizer_commands(app);
  subtb::cli::add_vlm_commands(app);
  subtb::cli::add_gflowvlm_command(app);
  subtb::cli::add_repro_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "subtb: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// `subtb env`: play, render and write SFT data for the VLM task environments.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "apps/subtb/commands.h"
#include "envs/cards/rng.h"
#include "envs/render/png.h"
#include "envs/vlm/registry.h"
#include "envs/vlm/sft_dataset.h"
#include "envs/vlm/vlm_env.h"

namespace subtb::cli {
namespace {

// Options shared by the subcommands that build a VlmEnv.
struct EnvFlags {
  std::string task;
  std::uint64_t seed = 0;
  std::string prompt = "rl4vlm";
  std::string reward = "rl4vlm";
  bool done = false;
  int max_steps = 0;
  std::string expert;

  vlm::EnvOptions options() const {
    vlm::EnvOptions o;
    o.prompt = prompt == "gflowvlm" ? vlm::PromptStyle::gflowvlm : vlm::PromptStyle::rl4vlm;
    o.reward = reward == "gflownet" ? vlm::RewardMode::gflownet : vlm::RewardMode::rl4vlm;
    o.done_action = done;
    o.max_steps = max_steps;
    return o;
  }
};

void add_task_argument(CLI::App* cmd, EnvFlags& flags) {
  cmd->add_option("task", flags.task,
                  "The task: numberline, numberline-ood, blackjack, ezpoints, points24, household or "
                  "household-unseen")
      ->required()
      ->check(CLI::IsMember(vlm::task_names()));
  cmd->add_option("--seed", flags.seed, "Seed of the first episode (episode i uses seed + i)")
      ->capture_default_str();
}

void add_env_flags(CLI::App* cmd, EnvFlags& flags) {
  cmd->add_option("--prompt", flags.prompt, "Prompt style: rl4vlm, or gflowvlm (adds the episode's history)")
      ->check(CLI::IsMember({"rl4vlm", "gflowvlm"}))
      ->capture_default_str();
  cmd->add_flag("--done", flags.done, "Offer the [DONE] action in every state (GFlowVLM)");
  cmd->add_option("--max-steps", flags.max_steps, "Step limit of an episode (0: the task's default)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + ("'" + s + "'");
  return out;
}

void play(const EnvFlags& flags, const std::filesystem::path& image_path) {
  vlm::VlmEnv env(vlm::make_task(flags.task, {flags.expert}), flags.options());
  env.reset(flags.seed);
  render::Canvas image;
  double total = 0;
  std::cout << "Playing " << flags.task << " (seed " << flags.seed << "). Type an action, or answer in the "
            << "JSON format of the prompt; an empty line or end of input quits.\n";
  while (true) {
    env.render(image);
    render::write_png(image, image_path);
    std::cout << "\n----- step " << env.steps() << " -----\n" << env.prompt() << "\n\nImage: " << image_path.string()
              << "\nActions: " << joined(env.actions()) << "\n> " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line) || line.empty()) {
      std::cout << "\nStopped after " << env.steps() << " steps.\n";
      return;
    }
    // A person may type the action itself, or a model-style JSON answer.
    vlm::ParsedAction parsed = vlm::parse_action("\"action\": " + line, env.actions());
    if (line.find("\"action\"") != std::string::npos) parsed = vlm::parse_action(line, env.actions());
    if (!parsed.ok()) {
      std::cout << (parsed.status == vlm::ParseStatus::ambiguous ? "That names more than one action"
                                                                 : "That names no action")
                << "; choose one of " << joined(env.actions()) << ".\n";
      continue;
    }
    const vlm::StepResult r = env.step(parsed.index);
    total += r.reward;
    std::cout << "Took '" << r.action << "': reward " << r.reward << "\n";
    if (r.over()) {
      env.render(image);
      render::write_png(image, image_path);
      std::cout << "\nEpisode over (" << (r.terminated ? "terminated" : "truncated") << ") after " << env.steps()
                << " steps: " << (env.success() ? "success" : "no success") << ", total reward " << total
                << ", GFlowVLM reward R = " << env.reward_if_done() << ".\nFinal state: " << env.history()
                << "\nFinal image: " << image_path.string() << "\n";
      return;
    }
  }
}

void render_samples(const EnvFlags& flags, int n, int random_steps, const std::filesystem::path& out) {
  std::filesystem::create_directories(out);
  std::unique_ptr<vlm::Task> task = vlm::make_task(flags.task);
  render::Canvas image;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t seed = flags.seed + static_cast<std::uint64_t>(i);
    task->reset(seed);
    cards::Rng rng(seed);
    bool over = false;
    for (int s = 0; s < random_steps && !over; ++s) {
      over = task->step(rng.below(static_cast<std::uint32_t>(task->actions().size()))).over();
    }
    task->render(image);
    char name[64];
    std::snprintf(name, sizeof name, "%s_%04d.png", flags.task.c_str(), i);
    render::write_png(image, out / name);
  }
  std::cout << "Wrote " << n << " images of " << flags.task << " to " << out.string() << "\n";
}

}  // namespace

void add_env_commands(CLI::App& app) {
  CLI::App* env = app.add_subcommand("env", "Play and render the task environments, and write SFT data");
  env->require_subcommand(1);

  static EnvFlags flags;
  static std::string image = "subtb_env.png";
  static std::string out;
  static int n = 0;
  static int random_steps = 0;
  static bool successful_only = false;

  CLI::App* play_cmd = env->add_subcommand(
      "play", "Play a task in the terminal: the prompt is printed and the image saved at every step");
  add_task_argument(play_cmd, flags);
  add_env_flags(play_cmd, flags);
  play_cmd->add_option("--reward", flags.reward, "Rewards shown: rl4vlm (per step) or gflownet (GFlowVLM's R)")
      ->check(CLI::IsMember({"rl4vlm", "gflownet"}))
      ->capture_default_str();
  play_cmd->add_option("--image", image, "Where the current image is saved (PNG)")->capture_default_str();
  play_cmd->callback([] { play(flags, image); });

  CLI::App* render_cmd = env->add_subcommand("render", "Write sample images (PNG) of a task");
  add_task_argument(render_cmd, flags);
  render_cmd->add_option("--n", n, "Number of images")->required()->check(CLI::Range(1, 100000000));
  render_cmd->add_option("--out", out, "Output folder (created if missing)")->required();
  render_cmd->add_option("--random-steps", random_steps, "Random moves played before each image")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  render_cmd->callback([] { render_samples(flags, n, random_steps, out); });

  CLI::App* sft_cmd = env->add_subcommand(
      "sft", "Write expert episodes as SFT data (images, prompts, answers; see envs/vlm/README.md)");
  add_task_argument(sft_cmd, flags);
  add_env_flags(sft_cmd, flags);
  sft_cmd->add_option("--n", n, "Number of episodes")->required()->check(CLI::Range(1, 100000000));
  sft_cmd->add_option("--out", out, "Output folder (created if missing; must not hold a dataset)")->required();
  sft_cmd->add_option("--expert", flags.expert, "BlackJack's expert: basic (basic strategy) or stand17")
      ->check(CLI::IsMember({"basic", "stand17"}));
  sft_cmd->add_flag("--successful-only", successful_only, "Keep only the episodes the expert won");
  sft_cmd->callback([] {
    vlm::SftOptions options;
    options.episodes = n;
    options.seed = flags.seed;
    options.env = flags.options();
    options.successful_only = successful_only;
    const vlm::SftSummary s = vlm::write_sft_dataset(vlm::make_task(flags.task, {flags.expert}), options, out);
    std::cout << "Wrote " << s.samples << " samples from " << s.written << " of " << s.episodes << " " << flags.task
              << " episodes (expert won " << s.successes << ") to " << out << "\n";
  });
}

}  // namespace subtb::cli

#include "envs/vlm/sft_dataset.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "envs/render/png.h"
#include "tensor/error.h"

namespace subtb::vlm {
namespace {

struct Sample {
  render::Canvas image;
  std::string prompt;
  ExpertAnswer answer;
};

std::string sample_id(int episode, int step) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%06d_%02d", episode, step);
  return buffer;
}

std::string_view prompt_name(PromptStyle s) { return s == PromptStyle::rl4vlm ? "rl4vlm" : "gflowvlm"; }

}  // namespace

SftSummary write_sft_dataset(std::unique_ptr<Task> task, const SftOptions& options,
                             const std::filesystem::path& out_dir) {
  SUBTB_CHECK(options.episodes >= 0, "write_sft_dataset: episodes ", options.episodes, " is negative");
  const std::string task_name = task->name();
  const std::filesystem::path index_path = out_dir / "index.jsonl";
  SUBTB_CHECK(!std::filesystem::exists(index_path), "write_sft_dataset: '", out_dir.string(),
              "' already holds a dataset (index.jsonl); choose a new folder");
  std::filesystem::create_directories(out_dir / "images");
  std::ofstream index(index_path);
  SUBTB_CHECK(index, "write_sft_dataset: cannot create '", index_path.string(), "'");

  VlmEnv env(std::move(task), options.env);
  SftSummary summary;
  std::vector<Sample> episode;
  for (int e = 0; e < options.episodes; ++e) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(e);
    env.reset(seed);
    episode.clear();
    while (!env.over()) {
      std::optional<ExpertAnswer> answer = env.expert();
      SUBTB_CHECK(answer.has_value(), "write_sft_dataset: task '", task_name, "' has no expert");
      Sample sample{render::Canvas(), env.prompt(), std::move(*answer)};
      env.render(sample.image);
      const auto& actions = env.actions();
      const auto it = std::find(actions.begin(), actions.end(), sample.answer.action);
      SUBTB_CHECK(it != actions.end(), "write_sft_dataset: the ", task_name, " expert chose '",
                  sample.answer.action, "', which is not admissible");
      episode.push_back(std::move(sample));
      env.step(static_cast<std::size_t>(it - actions.begin()));
    }
    // GFlowVLM's SFT trajectories end a successful episode with [DONE].
    if (std::optional<ExpertAnswer> done = env.expert()) {
      Sample sample{render::Canvas(), env.prompt(), std::move(*done)};
      env.render(sample.image);
      episode.push_back(std::move(sample));
    }
    ++summary.episodes;
    summary.successes += env.success() ? 1 : 0;
    if (options.successful_only && !env.success()) continue;
    ++summary.written;
    for (std::size_t step = 0; step < episode.size(); ++step) {
      const std::string id = sample_id(e, static_cast<int>(step));
      const std::string image = "images/" + id + ".png";
      render::write_png(episode[step].image, out_dir / image);
      nlohmann::ordered_json line;
      line["id"] = id;
      line["task"] = task_name;
      line["episode"] = e;
      line["seed"] = seed;
      line["step"] = step;
      line["image"] = image;
      line["prompt"] = episode[step].prompt;
      line["answer"] = episode[step].answer.answer.dump();
      line["action"] = episode[step].answer.action;
      line["episode_success"] = env.success();
      index << line.dump() << '\n';
      ++summary.samples;
    }
  }
  index.close();
  SUBTB_CHECK(index, "write_sft_dataset: failed writing '", index_path.string(), "'");

  nlohmann::ordered_json meta;
  meta["format"] = "subtb-vlm-sft";
  meta["version"] = 1;
  meta["task"] = task_name;
  meta["seed"] = options.seed;
  meta["prompt"] = prompt_name(options.env.prompt);
  meta["done_action"] = options.env.done_action;
  meta["max_steps"] = env.max_steps();
  meta["successful_only"] = options.successful_only;
  meta["episodes"] = summary.episodes;
  meta["successes"] = summary.successes;
  meta["episodes_written"] = summary.written;
  meta["samples"] = summary.samples;
  std::ofstream meta_file(out_dir / "dataset.json");
  meta_file << meta.dump(2) << '\n';
  SUBTB_CHECK(meta_file, "write_sft_dataset: failed writing '", (out_dir / "dataset.json").string(), "'");
  return summary;
}

}  // namespace subtb::vlm
